#include "common/region/recovery_plan_driver.h"

#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <spdlog/spdlog.h>

#include "common/core/confined_path.h"
#include "common/core/names.h"
#include "common/model/siterecovery/vault.h"
#include "common/region/plan_script.h"
#include "common/region/site_recovery_driver.h"

namespace drsim::region {

namespace fs = std::filesystem;
using namespace drsim::v1;

namespace {

constexpr char kPlanRecordPrefix[] = "plan/";
constexpr std::chrono::milliseconds kScriptPollEvery{20};
constexpr size_t kMaxHookTextBytes = 1024;
constexpr size_t kOutputTailBytes = 2048;

const char* kind_word(model::FailoverKind k) {
  switch (k) {
    case model::FailoverKind::kTest:
      return "test";
    case model::FailoverKind::kPlanned:
      return "planned";
    case model::FailoverKind::kUnplanned:
      return "unplanned";
  }
  return "unknown";
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > kOutputTailBytes ? all.substr(all.size() - kOutputTailBytes) : all;
}

Status check_plan_name(const std::string& name) { return validate_name("plan.name", name); }

}  // namespace

// A running hook script (plan_script.h), output into a file.
struct RecoveryPlanDriver::Script {
  std::string plan;
  model::PlanActionId action;
  std::optional<PlanScript> process;
  std::string log;
  Time deadline;
  std::chrono::milliseconds timeout;
  bool timed_out = false;
};

RecoveryPlanDriver::RecoveryPlanDriver(SiteRecoveryDriver& vault, Scheduler& scheduler,
                                       std::string runs_dir)
    : vault_(vault), runs_dir_(std::move(runs_dir)), scheduler_(scheduler) {}

RecoveryPlanDriver::~RecoveryPlanDriver() { stop(); }

void RecoveryPlanDriver::stop() {
  stopped_ = true;
  for (auto& [key, s] : scripts_) s->process->kill_and_wait();
  scripts_.clear();
}

Status RecoveryPlanDriver::load() {
  // Scripts a killed daemon left running are not this run's: they go before any new one starts.
  for (const auto& line : kill_leftover_scripts(runs_dir_))
    spdlog::warn("recovery plans: {}", line);
  auto records = vault_.node().store().records();
  if (!records.is_ok()) return records.status();
  for (const auto& [name, value] : *records) {
    if (name.rfind(kPlanRecordPrefix, 0) != 0) continue;
    RecoveryPlanSpec spec;
    if (!spec.ParseFromString(value)) {
      return Status(StatusCode::kDataLoss, "recovery plan record " + name + " is corrupt");
    }
    auto m = to_model(spec);
    if (!m.is_ok()) {
      spdlog::warn("recovery plan {} not loaded: {}", spec.name(), m.status().message());
      continue;
    }
    plans_[spec.name()] = Plan{spec, std::move(*m), std::nullopt};
  }
  return Status::ok();
}

std::vector<std::string> RecoveryPlanDriver::members_of(const std::string& scope) const {
  const auto* lc = vault_.vault().find(scope);
  if (lc == nullptr) return {scope};
  return lc->members();
}

std::vector<std::string> RecoveryPlanDriver::scopes_of(const std::vector<std::string>& vms) const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& vm : vms) {
    std::string scope = vault_.vault().group_of(vm).value_or(vm);
    if (seen.insert(scope).second) out.push_back(scope);
  }
  return out;
}

Result<model::RecoveryPlan> RecoveryPlanDriver::to_model(const RecoveryPlanSpec& spec) const {
  model::RecoveryPlan plan;
  plan.name = spec.name();
  for (int g = 0; g < spec.groups_size(); ++g) {
    const auto& group = spec.groups(g);
    const std::string where = "plan.groups[" + std::to_string(g) + "]";
    model::RecoveryPlanGroup out;
    for (const auto& item : group.items()) {
      // A consistency group named in a plan group stands for its VMs.
      const auto* lc = vault_.vault().find(item);
      if (lc != nullptr && lc->scope() == model::ProtectionScope::kMultiVmGroup) {
        for (const auto& m : lc->members()) out.vms.push_back(m);
      } else {
        out.vms.push_back(item);
      }
    }
    auto hooks = [&](const char* field, const auto& in, std::vector<model::PlanHook>* to) {
      for (int i = 0; i < in.size(); ++i) {
        const std::string f = where + "." + field + "[" + std::to_string(i) + "]";
        const auto& h = in[i];
        if (h.kind() != "script" && h.kind() != "manual") {
          return invalid_argument(f + ".kind: '" + h.kind() + "' is not script or manual");
        }
        if (h.text().size() > kMaxHookTextBytes) {
          return invalid_argument(f + ".text: " + std::to_string(h.text().size()) +
                                  " bytes exceeds 1024");
        }
        to->push_back({h.kind() == "script" ? model::PlanHookKind::kScript
                                            : model::PlanHookKind::kManualAction,
                       h.text()});
      }
      return Status::ok();
    };
    if (Status s = hooks("before", group.before(), &out.before); !s.is_ok()) return s;
    if (Status s = hooks("after", group.after(), &out.after); !s.is_ok()) return s;
    plan.groups.push_back(std::move(out));
  }
  if (Status s = plan.validate(); !s.is_ok()) return s;
  return plan;
}

Result<PlanInfo> RecoveryPlanDriver::create(const CreatePlanRequest& req) {
  const RecoveryPlanSpec& spec = req.plan();
  if (Status s = check_plan_name(spec.name()); !s.is_ok()) return s;
  if (spec.script_timeout_ms() > static_cast<uint64_t>(kMaxScriptTimeout.count())) {
    return invalid_argument("plan.script_timeout_ms: " + std::to_string(spec.script_timeout_ms()) +
                            " ms exceeds 1 h");
  }
  if (plans_.count(spec.name())) {
    return Status(StatusCode::kAlreadyExists,
                  "plan '" + spec.name() + "' exists; choose another name (`drsim plan show " +
                      spec.name() + "` shows it)");
  }
  auto plan = to_model(spec);
  if (!plan.is_ok()) return plan.status();
  if (Status s = model::check_recovery_plan(*plan, vault_.vault()); !s.is_ok()) return s;
  if (Status s = vault_.node().store().put_record(kPlanRecordPrefix + spec.name(),
                                                  spec.SerializeAsString());
      !s.is_ok()) {
    return s;
  }
  auto& p = plans_[spec.name()] = Plan{spec, std::move(*plan), std::nullopt};
  spdlog::info("recovery plan {} created: {} group(s), {} VM(s)", spec.name(),
               p.model.groups.size(), p.model.vm_count());
  return info(p);
}

ListPlansResponse RecoveryPlanDriver::list() const {
  ListPlansResponse resp;
  for (const auto& [name, p] : plans_) *resp.add_plans() = info(p);
  return resp;
}

Result<PlanInfo> RecoveryPlanDriver::get(const std::string& plan) const {
  auto it = plans_.find(plan);
  if (it == plans_.end()) {
    return not_found("no recovery plan '" + plan + "' in region " + vault_.node().options().name +
                     " (`drsim plan list`)");
  }
  return info(it->second);
}

PlanInfo RecoveryPlanDriver::info(const Plan& p) const {
  PlanInfo out;
  *out.mutable_plan() = p.spec;
  if (!p.run) return out;
  *out.mutable_run() = p.run->info;
  const model::Job* job = vault_.job_table().find(p.run->job);
  if (job) out.mutable_run()->set_state(model::job_state_name(job->state));
  for (const auto& [w, why] : p.run->held) out.mutable_run()->add_not_started(w);
  return out;
}

Result<PlanInfo> RecoveryPlanDriver::run(const RunPlanRequest& req) {
  auto it = plans_.find(req.plan());
  if (it == plans_.end()) return get(req.plan()).status();
  Plan& p = it->second;
  const std::string where = "run of plan '" + req.plan() + "' refused: ";
  if (p.run && p.run->executor.state() == model::PlanRunState::kRunning) {
    return failed_precondition(
        where + "it is running (job " + std::to_string(p.run->job.value()) + ")" +
        (p.run->executor.waiting_for_operator()
             ? " and waits for a manual action; do it, then `drsim plan resume " + req.plan() + "`"
             : "; wait for it to end (`drsim plan show " + req.plan() + "`)"));
  }
  model::FailoverKind kind;
  switch (req.kind()) {
    case PLAN_FAILOVER_KIND_TEST:
      kind = model::FailoverKind::kTest;
      break;
    case PLAN_FAILOVER_KIND_PLANNED:
      kind = model::FailoverKind::kPlanned;
      break;
    case PLAN_FAILOVER_KIND_UNPLANNED:
      kind = model::FailoverKind::kUnplanned;
      break;
    default:
      return invalid_argument("kind: choose test, planned or unplanned");
  }
  // The plan was checked when created; the vault may have changed since.
  auto plan = to_model(p.spec);
  if (!plan.is_ok()) return plan.status();
  if (Status s = model::check_recovery_plan(*plan, vault_.vault()); !s.is_ok()) return s;
  RegionNode& node = vault_.node();
  if (kind != model::FailoverKind::kTest) {
    if (!node.is_standby()) {
      return failed_precondition(where + "region " + node.options().name +
                                 " is not the standby; a plan fails items over into it");
    }
    // A region fails over whole in drsim: the plan must name everything that moves.
    std::set<std::string> in_plan;
    for (const auto& g : plan->groups) in_plan.insert(g.vms.begin(), g.vms.end());
    for (const auto& scope : vault_.failover_candidates()) {
      for (const auto& m : members_of(scope)) {
        if (!in_plan.count(m)) {
          return failed_precondition(
              where + m + " also replicates to " + node.options().name +
              " and a region fails over whole in drsim, so the plan must cover it; add it to a "
              "group (a new plan: `drsim plan create`), or fail over without the plan");
        }
      }
    }
  }
  Time t = vault_.now();
  auto job = vault_.job_table().create(model::JobKind::kRecoveryPlan, req.plan(), t);
  if (!job.is_ok()) return job.status();
  auto executor = model::RecoveryPlanRun::start(*plan, kind, t);
  if (!executor.is_ok()) return executor.status();
  (void)vault_.job_table().transition(*job, model::JobState::kInProgress, t);
  p.model = std::move(*plan);
  p.run.emplace(Run{std::move(*executor), *job, req, {}, {}, {}});
  p.run->info.set_kind(model::failover_kind_name(kind));
  p.run->info.set_job_id(job->value());
  p.run->info.set_started_unix_nanos(vault_.process_clock().wall_unix_nanos());
  spdlog::info("recovery plan {}: {} started (job {})", req.plan(), model::failover_kind_name(kind),
               job->value());
  std::string name = req.plan();
  scheduler_.post([this, name] { advance(name); });
  return info(p);
}

Result<PlanInfo> RecoveryPlanDriver::resume(const std::string& plan) {
  auto it = plans_.find(plan);
  if (it == plans_.end()) return get(plan).status();
  Plan& p = it->second;
  if (!p.run) {
    return failed_precondition("plan '" + plan + "' never ran; start it with `drsim plan run " +
                               plan + " --test|--unplanned`");
  }
  Run& r = *p.run;
  if (r.executor.state() == model::PlanRunState::kFailed && !r.held.empty()) {
    // The run stopped before later groups started; the operator fixed what failed and starts
    // the rest by hand.
    std::string names;
    for (const auto& [w, why] : r.held) {
      vault_.node().release_workload(w);
      names += (names.empty() ? "" : ", ") + w;
    }
    r.held.clear();
    spdlog::info("recovery plan {}: failed run; the operator started {}", plan, names);
    return info(p);
  }
  if (!r.executor.waiting_for_operator()) {
    return failed_precondition("plan '" + plan + "' does not wait for a manual action (job " +
                               std::to_string(r.job.value()) + " is " +
                               (r.executor.state() == model::PlanRunState::kRunning
                                    ? std::string("running")
                                    : std::string(model::plan_run_state_name(r.executor.state()))) +
                               "); resume continues a run Suspended on a manual action");
  }
  Time t = vault_.now();
  (void)vault_.job_table().transition(r.job, model::JobState::kInProgress, t);
  r.info.clear_waiting_for();
  finish_action(plan, r.executor.outstanding()->id, model::ActionOutcome::kSucceeded, "");
  return info(p);
}

void RecoveryPlanDriver::advance(const std::string& plan) {
  if (stopped_) return;
  auto it = plans_.find(plan);
  if (it == plans_.end() || !it->second.run) return;
  Run& r = *it->second.run;
  for (const auto& action : r.executor.take_ready(vault_.now())) start_action(plan, action);
  if (r.executor.state() == model::PlanRunState::kRunning) return;
  if (r.info.ended_unix_nanos() != 0) return;
  Time t = vault_.now();
  bool ok = r.executor.state() == model::PlanRunState::kSucceeded;
  r.info.set_ended_unix_nanos(vault_.process_clock().wall_unix_nanos());
  r.info.set_error(r.executor.error());
  (void)vault_.job_table().transition(
      r.job, ok ? model::JobState::kSucceeded : model::JobState::kFailed, t, r.executor.error());
  spdlog::info("recovery plan {}: {} {}{}", plan, r.info.kind(), ok ? "succeeded" : "failed",
               ok ? "" : ": " + r.executor.error());
}

void RecoveryPlanDriver::start_action(const std::string& plan, const model::PlanAction& action) {
  Run& r = *plans_.at(plan).run;
  auto* a = r.info.add_actions();
  a->set_id(action.id.value());
  a->set_group(static_cast<uint32_t>(action.group));
  a->set_text(model::plan_action_text(action));
  a->set_state("InProgress");
  a->set_started_unix_nanos(vault_.process_clock().wall_unix_nanos());
  r.action_index[action.id.value()] = r.info.actions_size() - 1;
  spdlog::info("recovery plan {}: {}", plan, a->text());
  switch (action.kind) {
    case model::PlanActionKind::kRunScript:
      start_script(plan, action);
      return;
    case model::PlanActionKind::kManualAction:
      a->set_state("Waiting for operator");
      r.info.set_waiting_for(action.text);
      (void)vault_.job_table().transition(r.job, model::JobState::kSuspended, vault_.now());
      return;
    case model::PlanActionKind::kFailover:
      start_failover(plan, action);
      return;
  }
}

void RecoveryPlanDriver::finish_action(const std::string& plan, model::PlanActionId id,
                                       model::ActionOutcome outcome, std::string error) {
  auto it = plans_.find(plan);
  if (it == plans_.end() || !it->second.run) return;
  Run& r = *it->second.run;
  auto idx = r.action_index.find(id.value());
  if (idx != r.action_index.end()) {
    auto* a = r.info.mutable_actions(idx->second);
    a->set_state(outcome == model::ActionOutcome::kSucceeded ? "Succeeded" : "Failed");
    a->set_error(error);
    a->set_finished_unix_nanos(vault_.process_clock().wall_unix_nanos());
  }
  if (Status s = r.executor.on_action_finished(id, outcome, std::move(error), vault_.now());
      !s.is_ok()) {
    spdlog::error("recovery plan {}: {}", plan, s.message());
    return;
  }
  scheduler_.post([this, plan] { advance(plan); });
}

void RecoveryPlanDriver::start_script(const std::string& plan, const model::PlanAction& action) {
  Run& r = *plans_.at(plan).run;
  auto script = std::make_unique<Script>();
  script->plan = plan;
  script->action = action.id;
  auto log = confined_path(runs_dir_,
                           plan + "-job" + std::to_string(r.job.value()) + "-action" +
                               std::to_string(action.id.value()) + ".log",
                           "plan-run log of " + plan);
  if (!log.is_ok()) {
    finish_action(plan, action.id, model::ActionOutcome::kFailed, log.status().message());
    return;
  }
  script->log = log->string();
  uint64_t timeout_ms = plans_.at(plan).spec.script_timeout_ms();
  script->timeout = timeout_ms == 0 ? kDefaultScriptTimeout : std::chrono::milliseconds(timeout_ms);
  // What the script sees of its place in the plan; nothing of the daemon's own environment.
  std::string items;
  for (const auto& vm : plans_.at(plan).model.groups.at(action.group - 1).vms) {
    items += (items.empty() ? "" : ",") + vm;
  }
  ScriptSpec spec{.text = action.text, .runs_dir = runs_dir_, .log = script->log, .drsim_env = {}};
  spec.drsim_env = {
      {"DRSIM_PLAN", plan},
      {"DRSIM_GROUP", std::to_string(action.group)},
      {"DRSIM_PHASE", action.phase == model::PlanHookPhase::kBeforeGroup ? "before" : "after"},
      {"DRSIM_FAILOVER_KIND", kind_word(action.failover)},
      {"DRSIM_GROUP_ITEMS", items},
      {"DRSIM_REGION", vault_.node().options().name},
      {"DRSIM_JOB", std::to_string(r.job.value())},
  };
  auto started = PlanScript::start(spec);
  if (!started.is_ok()) {
    finish_action(plan, action.id, model::ActionOutcome::kFailed, started.status().message());
    return;
  }
  script->process.emplace(std::move(started).value());
  script->deadline = scheduler_.now() + script->timeout;
  uint64_t key = next_script_++;
  scripts_[key] = std::move(script);
  scheduler_.schedule_after(kScriptPollEvery, [this, key] { poll_script(key); });
}

void RecoveryPlanDriver::poll_script(uint64_t key) {
  if (stopped_) return;
  auto it = scripts_.find(key);
  if (it == scripts_.end()) return;
  Script& s = *it->second;
  std::optional<PlanScript::Exit> done = s.process->poll();
  if (!done) {
    if (!s.timed_out && scheduler_.now() >= s.deadline) {
      s.timed_out = true;
      s.process->kill_session();
    }
    scheduler_.schedule_after(kScriptPollEvery, [this, key] { poll_script(key); });
    return;
  }
  std::string output = tail_of(s.log);
  std::string error;
  const int st = done->wait_status;
  if (s.timed_out) {
    error = "timed out after " + std::to_string(s.timeout.count()) + " ms (killed)";
  } else if (done->lost_errno != 0) {
    error = std::string("lost the script process: ") + std::strerror(done->lost_errno);
  } else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
    error = "exited with code " + std::to_string(WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    error = "killed by signal " + std::to_string(WTERMSIG(st));
  }
  std::string plan = s.plan;
  model::PlanActionId id = s.action;
  scripts_.erase(it);
  auto p = plans_.find(plan);
  if (p != plans_.end() && p->second.run) {
    auto idx = p->second.run->action_index.find(id.value());
    if (idx != p->second.run->action_index.end()) {
      p->second.run->info.mutable_actions(idx->second)->set_output(output);
    }
  }
  if (!error.empty() && !output.empty()) {
    std::string last = output;
    while (!last.empty() && last.back() == '\n') last.pop_back();
    auto nl = last.rfind('\n');
    error += " (last output: " + (nl == std::string::npos ? last : last.substr(nl + 1)) + ")";
  }
  finish_action(plan, id,
                error.empty() ? model::ActionOutcome::kSucceeded : model::ActionOutcome::kFailed,
                error);
}

void RecoveryPlanDriver::start_failover(const std::string& plan, const model::PlanAction& action) {
  Plan& p = plans_.at(plan);
  Run& r = *p.run;
  const RunPlanRequest& req = r.request;
  RegionNode& node = vault_.node();
  if (action.failover == model::FailoverKind::kTest) {
    for (const auto& scope : scopes_of(action.vms)) {
      TestFailoverRequest t;
      t.set_item(scope);
      t.set_point(req.point());
      t.set_point_id(req.point_id());
      auto done = vault_.test_failover(t);
      if (!done.is_ok()) {
        finish_action(plan, action.id, model::ActionOutcome::kFailed,
                      "test failover of " + scope + ": " + done.status().message());
        return;
      }
      auto* c = r.info.add_copies();
      c->set_item(scope);
      c->set_copy_dir(done->copy_dir());
      c->set_group(static_cast<uint32_t>(action.group));
    }
    finish_action(plan, action.id, model::ActionOutcome::kSucceeded, "");
    return;
  }
  if (action.group > 1) {
    // The region was promoted with group 1; these workloads start now.
    for (const auto& vm : action.vms) {
      node.release_workload(vm);
      r.held.erase(vm);
    }
    finish_action(plan, action.id, model::ActionOutcome::kSucceeded, "");
    return;
  }
  // Group 1: the whole region moves, every item of the plan to its chosen point; the
  // workloads of later groups are held until their group's turn.
  std::vector<std::string> all;
  for (size_t g = 0; g < p.model.groups.size(); ++g) {
    const auto& vms = p.model.groups[g].vms;
    all.insert(all.end(), vms.begin(), vms.end());
    if (g == 0) continue;
    std::string why = "recovery plan '" + plan + "' (job " + std::to_string(r.job.value()) +
                      ") starts it with group " + std::to_string(g + 1) + ", not yet reached";
    for (const auto& vm : vms) {
      node.hold_workload(vm, why);
      r.held[vm] = why;
    }
  }
  model::PlanActionId id = action.id;
  std::string reason = req.reason().empty() ? "recovery plan " + plan : req.reason();
  if (action.failover == model::FailoverKind::kPlanned) {
    vault_.planned_failover_region(scopes_of(all), reason,
                                  [this, plan, id](Result<PlannedFailoverResponse> result) {
                                    group_one_done(plan, id, result.status(), nullptr);
                                  });
    return;
  }
  UnplannedFailoverRequest fo;
  for (const auto& scope : scopes_of(all)) fo.add_items(scope);
  fo.set_point(req.point());
  fo.set_point_id(req.point_id());
  fo.set_reason(reason);
  vault_.unplanned_failover(fo, [this, plan, id](Result<UnplannedFailoverResponse> result) {
    group_one_done(plan, id, result.status(), result.is_ok() ? &*result : nullptr);
  });
}

void RecoveryPlanDriver::group_one_done(const std::string& plan, model::PlanActionId id,
                                        const Status& result,
                                        const UnplannedFailoverResponse* failover) {
  auto it = plans_.find(plan);
  if (it == plans_.end() || !it->second.run) return;
  Run& run = *it->second.run;
  if (!result.is_ok()) {
    // The region was not promoted: nothing is held back.
    for (const auto& [w, why] : run.held) vault_.node().release_workload(w);
    run.held.clear();
    finish_action(plan, id, model::ActionOutcome::kFailed, result.message());
    return;
  }
  if (failover) *run.info.mutable_failover() = *failover;
  finish_action(plan, id, model::ActionOutcome::kSucceeded, "");
}

}  // namespace drsim::region
