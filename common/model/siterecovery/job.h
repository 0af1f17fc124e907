// Site Recovery jobs: the record of every operation run against a protected VM, group or
// recovery plan (facts.md job states: NotStarted, InProgress, Succeeded, Failed, Cancelled,
// Suspended). JobTable assigns ids, enforces the legal state changes and allows one unfinished
// job per target, as the service refuses a second operation on an item while one runs. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

using JobId = StrongId<struct JobIdTag>;

enum class JobKind {
  kEnableReplication,
  kTestFailover,
  kTestFailoverCleanup,
  kPlannedFailover,
  kUnplannedFailover,
  kChangeRecoveryPoint,
  kCommit,
  kReprotect,
  kDisableReplication,
  kRecoveryPlan,
};
const char* job_kind_name(JobKind kind);  // "TestFailoverCleanup", "Reprotect", ...

enum class JobState { kNotStarted, kInProgress, kSucceeded, kFailed, kCancelled, kSuspended };
const char* job_state_name(JobState s);  // "NotStarted", "InProgress", ...

// NotStarted → InProgress | Cancelled; InProgress → Succeeded | Failed | Cancelled | Suspended;
// Suspended (e.g. a plan waiting on a manual action) → InProgress | Failed | Cancelled.
// Succeeded, Failed and Cancelled are final.
bool job_transition_allowed(JobState from, JobState to);
bool job_state_final(JobState s);

struct Job {
  JobId id = {};
  JobKind kind = JobKind::kEnableReplication;
  std::string target;  // VM, consistency group or recovery plan
  JobState state = JobState::kNotStarted;
  Time created_at = kTimeZero;
  std::optional<Time> started_at = {};  // first InProgress
  std::optional<Time> ended_at = {};    // reaching a final state
  std::string error = {};               // why it failed
};

class JobTable {
 public:
  // A NotStarted job. FAILED_PRECONDITION while `target` has an unfinished job, naming it.
  Result<JobId> create(JobKind kind, std::string target, Time now);
  // Moves a job; FAILED_PRECONDITION for an illegal change (naming the legal ones), NOT_FOUND
  // for an unknown id, INVALID_ARGUMENT for kFailed without an error (error is only kept then).
  Status transition(JobId id, JobState to, Time now, std::string error = {});

  // A table as persisted (jobs in any order). INVALID_ARGUMENT for a duplicate or zero id, an
  // empty target or a failed job without its error. Ids continue after the highest one.
  static Result<JobTable> restore(std::vector<Job> jobs);

  const Job* find(JobId id) const;
  std::optional<JobId> unfinished_job(const std::string& target) const;
  std::vector<Job> jobs() const;  // in id order

 private:
  std::map<JobId, Job> jobs_;
  JobId last_id_{0};
};

}  // namespace drsim::model
