#include "common/model/siterecovery/job.h"

#include <utility>

namespace drsim::model {

const char* job_kind_name(JobKind kind) {
  switch (kind) {
    case JobKind::kEnableReplication:
      return "EnableReplication";
    case JobKind::kTestFailover:
      return "TestFailover";
    case JobKind::kTestFailoverCleanup:
      return "TestFailoverCleanup";
    case JobKind::kPlannedFailover:
      return "PlannedFailover";
    case JobKind::kUnplannedFailover:
      return "UnplannedFailover";
    case JobKind::kChangeRecoveryPoint:
      return "ChangeRecoveryPoint";
    case JobKind::kCommit:
      return "Commit";
    case JobKind::kReprotect:
      return "Reprotect";
    case JobKind::kDisableReplication:
      return "DisableReplication";
    case JobKind::kRecoveryPlan:
      return "RecoveryPlan";
  }
  return "Unknown";
}

const char* job_state_name(JobState s) {
  switch (s) {
    case JobState::kNotStarted:
      return "NotStarted";
    case JobState::kInProgress:
      return "InProgress";
    case JobState::kSucceeded:
      return "Succeeded";
    case JobState::kFailed:
      return "Failed";
    case JobState::kCancelled:
      return "Cancelled";
    case JobState::kSuspended:
      return "Suspended";
  }
  return "Unknown";
}

bool job_state_final(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

bool job_transition_allowed(JobState from, JobState to) {
  using J = JobState;
  switch (from) {
    case J::kNotStarted:
      return to == J::kInProgress || to == J::kCancelled;
    case J::kInProgress:
      return to == J::kSucceeded || to == J::kFailed || to == J::kCancelled || to == J::kSuspended;
    case J::kSuspended:
      return to == J::kInProgress || to == J::kFailed || to == J::kCancelled;
    case J::kSucceeded:
    case J::kFailed:
    case J::kCancelled:
      return false;
  }
  return false;
}

Result<JobId> JobTable::create(JobKind kind, std::string target, Time now) {
  if (target.empty()) return invalid_argument("job target: must not be empty");
  if (auto busy = unfinished_job(target)) {
    const Job& j = jobs_.at(*busy);
    return failed_precondition(std::string(job_kind_name(kind)) + " on " + target +
                               " refused: job " + std::to_string(j.id.value()) + " (" +
                               job_kind_name(j.kind) + ") is " + job_state_name(j.state) +
                               " on it; wait for it to finish or cancel it");
  }
  last_id_ = last_id_.next();
  jobs_.emplace(last_id_, Job{.id = last_id_,
                              .kind = kind,
                              .target = std::move(target),
                              .state = JobState::kNotStarted,
                              .created_at = now});
  return last_id_;
}

Status JobTable::transition(JobId id, JobState to, Time now, std::string error) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return not_found("job " + std::to_string(id.value()) + " does not exist");
  Job& job = it->second;
  if (!job_transition_allowed(job.state, to)) {
    std::string legal;
    for (JobState s : {JobState::kNotStarted, JobState::kInProgress, JobState::kSucceeded,
                       JobState::kFailed, JobState::kCancelled, JobState::kSuspended}) {
      if (!job_transition_allowed(job.state, s)) continue;
      legal += (legal.empty() ? "" : ", ") + std::string(job_state_name(s));
    }
    return failed_precondition(
        "job " + std::to_string(id.value()) + " (" + job_kind_name(job.kind) + " on " + job.target +
        ") is " + job_state_name(job.state) + " and cannot become " + job_state_name(to) + "; " +
        (legal.empty() ? "it is final" : "it can become " + legal));
  }
  if (to == JobState::kFailed && error.empty()) {
    return invalid_argument("job " + std::to_string(id.value()) + ": a failed job needs an error");
  }
  job.state = to;
  if (to == JobState::kInProgress && !job.started_at) job.started_at = now;
  if (job_state_final(to)) job.ended_at = now;
  if (to == JobState::kFailed) job.error = std::move(error);
  return Status::ok();
}

Result<JobTable> JobTable::restore(std::vector<Job> jobs) {
  JobTable table;
  for (auto& job : jobs) {
    const std::string head = "job " + std::to_string(job.id.value()) + ": ";
    if (job.id.value() == 0) return invalid_argument("job id: must not be 0");
    if (job.target.empty()) return invalid_argument(head + "target: must not be empty");
    if (job.state == JobState::kFailed && job.error.empty()) {
      return invalid_argument(head + "error: a failed job needs an error");
    }
    if (table.last_id_ < job.id) table.last_id_ = job.id;
    JobId id = job.id;
    if (!table.jobs_.emplace(id, std::move(job)).second) {
      return invalid_argument(head + "id: appears twice");
    }
  }
  return table;
}

const Job* JobTable::find(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::optional<JobId> JobTable::unfinished_job(const std::string& target) const {
  for (const auto& [id, job] : jobs_) {
    if (job.target == target && !job_state_final(job.state)) return id;
  }
  return std::nullopt;
}

std::vector<Job> JobTable::jobs() const {
  std::vector<Job> out;
  for (const auto& [id, job] : jobs_) out.push_back(job);
  return out;
}

}  // namespace drsim::model
