#include "common/model/siterecovery/lifecycle.h"

#include <utility>

#include "common/core/check.h"

namespace drsim::model {

const char* protection_state_name(ProtectionState s) {
  switch (s) {
    case ProtectionState::kNotProtected:
      return "NotProtected";
    case ProtectionState::kInitialReplication:
      return "InitialReplication";
    case ProtectionState::kProtected:
      return "Protected";
    case ProtectionState::kTestFailoverCleanupPending:
      return "TestFailoverCleanupPending";
    case ProtectionState::kFailedOver:
      return "FailedOver";
    case ProtectionState::kCommitted:
      return "Committed";
  }
  return "Unknown";
}

const char* protection_step_name(ProtectionStep step) {
  switch (step) {
    case ProtectionStep::kEnableReplication:
      return "enable replication";
    case ProtectionStep::kSyncCompleted:
      return "sync completion";
    case ProtectionStep::kTestFailover:
      return "test failover";
    case ProtectionStep::kTestFailoverCleanup:
      return "test failover cleanup";
    case ProtectionStep::kPlannedFailover:
      return "planned failover";
    case ProtectionStep::kUnplannedFailover:
      return "unplanned failover";
    case ProtectionStep::kChangeRecoveryPoint:
      return "change recovery point";
    case ProtectionStep::kCommit:
      return "commit";
    case ProtectionStep::kReprotect:
      return "re-protect";
    case ProtectionStep::kDisableReplication:
      return "disable replication";
  }
  return "unknown step";
}

bool protection_step_allowed(ProtectionState state, ProtectionStep step) {
  using S = ProtectionState;
  switch (step) {
    case ProtectionStep::kEnableReplication:
      return state == S::kNotProtected;
    case ProtectionStep::kSyncCompleted:
      return state == S::kInitialReplication;
    case ProtectionStep::kTestFailover:
    case ProtectionStep::kPlannedFailover:
    case ProtectionStep::kUnplannedFailover:
      return state == S::kProtected;
    case ProtectionStep::kTestFailoverCleanup:
      return state == S::kTestFailoverCleanupPending;
    case ProtectionStep::kChangeRecoveryPoint:
    case ProtectionStep::kCommit:
      return state == S::kFailedOver;
    case ProtectionStep::kReprotect:
      return state == S::kCommitted;
    // Not while a test copy or an uncommitted failover is outstanding: both need finishing
    // before the item can be left alone.
    case ProtectionStep::kDisableReplication:
      return state == S::kInitialReplication || state == S::kProtected || state == S::kCommitted;
  }
  return false;
}

const char* recovery_point_choice_name(RecoveryPointChoiceKind kind) {
  switch (kind) {
    case RecoveryPointChoiceKind::kLatest:
      return "latest";
    case RecoveryPointChoiceKind::kLatestProcessed:
      return "latest processed";
    case RecoveryPointChoiceKind::kLatestAppConsistent:
      return "latest app-consistent";
    case RecoveryPointChoiceKind::kLatestMultiVmProcessed:
      return "latest multi-VM processed";
    case RecoveryPointChoiceKind::kLatestMultiVmAppConsistent:
      return "latest multi-VM app-consistent";
    case RecoveryPointChoiceKind::kCustom:
      return "custom";
  }
  return "unknown";
}

const char* sync_kind_name(SyncKind kind) { return kind == SyncKind::kFull ? "full" : "delta"; }

ProtectionLifecycle::ProtectionLifecycle(std::string name, ProtectionScope scope,
                                         std::vector<std::string> members,
                                         std::string primary_region, std::string recovery_region,
                                         ReplicationPolicy policy)
    : name_(std::move(name)),
      scope_(scope),
      members_(std::move(members)),
      primary_(std::move(primary_region)),
      recovery_(std::move(recovery_region)),
      policy_(policy),
      active_(primary_) {
  DRSIM_CHECK(policy_.validate().is_ok());
  DRSIM_CHECK(!members_.empty());
  DRSIM_CHECK(primary_ != recovery_);
}

bool ProtectionLifecycle::replicating() const {
  return state_ == ProtectionState::kInitialReplication || state_ == ProtectionState::kProtected ||
         state_ == ProtectionState::kTestFailoverCleanupPending;
}

Status ProtectionLifecycle::refusal(ProtectionStep step) const {
  using S = ProtectionState;
  using P = ProtectionStep;
  const auto hint = [&](const char* verb) {
    return std::string(" (`drsim ") + verb + " " + name_ + "`)";
  };
  const bool failover =
      step == P::kTestFailover || step == P::kPlannedFailover || step == P::kUnplannedFailover;
  std::string why;
  if (step == P::kSyncCompleted) {
    why = "no initial replication or re-protect sync is in progress, so none can complete";
  } else if (step == P::kTestFailoverCleanup) {
    why = "there is no test failover to clean up";
  } else {
    switch (state_) {
      case S::kNotProtected:
        why = name_ + " is not protected; enable replication first" + hint("enable-replication");
        break;
      case S::kInitialReplication:
        if (failover) {
          why = "the sync to " + peer_region() +
                " has not finished, so there is no recovery point yet; wait for it to complete";
        } else if (step == P::kCommit || step == P::kChangeRecoveryPoint) {
          why = name_ + " has not failed over; this step follows a failover";
        } else {
          why = name_ + " is already replicating to " + peer_region() +
                " (sync in progress); wait for it to complete";
        }
        break;
      case S::kProtected:
        if (step == P::kCommit) {
          why = "nothing to commit: " + name_ + " has not failed over";
        } else if (step == P::kChangeRecoveryPoint) {
          why = name_ +
                " has not failed over; the recovery point can change only between a failover and "
                "its commit";
        } else if (step == P::kReprotect) {
          why = name_ + " is already protected, replicating " + active_ + " → " + peer_region() +
                "; re-protect follows a committed failover";
        } else {
          why = name_ + " is already protected, replicating " + active_ + " → " + peer_region();
        }
        break;
      case S::kTestFailoverCleanupPending:
        why = "a test failover of " + name_ + " is pending cleanup; clean it up first" +
              hint("test-failover-cleanup");
        break;
      case S::kFailedOver:
        if (step == P::kReprotect) {
          why = "re-protect comes after commit: commit the failover first" + hint("commit");
        } else {
          why = name_ + " failed over to " + active_ +
                " and the commit is pending; commit it first" + hint("commit");
        }
        break;
      case S::kCommitted:
        if (step == P::kCommit) {
          why = "the failover to " + active_ + " is already committed; re-protect next" +
                hint("reprotect");
        } else if (step == P::kChangeRecoveryPoint) {
          why = "the failover to " + active_ +
                " is committed, so its recovery point is final; re-protect next" +
                hint("reprotect");
        } else {
          why = name_ + " runs in " + active_ +
                " unprotected since the committed failover; re-protect it first" +
                hint("reprotect");
        }
        break;
    }
  }
  return failed_precondition(std::string(protection_step_name(step)) + " of " + name_ +
                             " refused (state " + protection_state_name(state_) + "): " + why);
}

Status ProtectionLifecycle::check(ProtectionStep step) const {
  return protection_step_allowed(state_, step) ? Status::ok() : refusal(step);
}

Status ProtectionLifecycle::check_choice(ProtectionStep step, RecoveryPointChoice choice) const {
  using K = RecoveryPointChoiceKind;
  const std::string head = std::string(protection_step_name(step)) + " of " + name_ +
                           " refused: recovery point '" + recovery_point_choice_name(choice.kind) +
                           "': ";
  const bool group = scope_ == ProtectionScope::kMultiVmGroup;
  if (choice.kind == K::kCustom && group) {
    return failed_precondition(head + "a custom point is for a single VM only, and " + name_ +
                               " is a multi-VM consistency group; choose latest multi-VM processed "
                               "or latest multi-VM app-consistent");
  }
  if ((choice.kind == K::kLatestMultiVmProcessed ||
       choice.kind == K::kLatestMultiVmAppConsistent) &&
      !group) {
    return failed_precondition(
        head + "multi-VM points belong to consistency groups, and " + name_ +
        " replicates on its own; choose latest processed or latest app-consistent");
  }
  const std::string instead =
      group ? "; choose latest multi-VM processed" : "; choose latest processed";
  switch (choice.kind) {
    case K::kLatest:
      if (log_.latest() != nullptr || log_.has_unprocessed_data()) return Status::ok();
      break;
    case K::kLatestProcessed:
    case K::kLatestMultiVmProcessed:
      if (log_.latest() != nullptr) return Status::ok();
      break;
    case K::kLatestAppConsistent:
    case K::kLatestMultiVmAppConsistent:
      if (log_.latest_app_consistent() != nullptr) return Status::ok();
      if (!policy_.app_consistent_interval) {
        return failed_precondition(head + "app-consistent snapshots are off in the policy" +
                                   instead);
      }
      return failed_precondition(head + "no app-consistent point is retained yet (one every " +
                                 recovery_duration_text(*policy_.app_consistent_interval) + ")" +
                                 instead);
    case K::kCustom:
      if (log_.find(choice.custom) != nullptr) return Status::ok();
      return not_found(head + "point " + std::to_string(choice.custom.value()) +
                       " is not retained (pruned or never cut); pick one of the " +
                       std::to_string(log_.points().size()) + " retained points");
  }
  return failed_precondition(head + "there is no recovery point yet");
}

RecoveryPoint ProtectionLifecycle::resolve(RecoveryPointChoice choice, Time now) {
  using K = RecoveryPointChoiceKind;
  switch (choice.kind) {
    case K::kLatest:
      // Processing the pending data first is what makes "Latest" lose least and take longest.
      if (log_.has_unprocessed_data()) return log_.cut(RecoveryPointType::kCrashConsistent, now);
      return *log_.latest();
    case K::kLatestProcessed:
    case K::kLatestMultiVmProcessed:
      return *log_.latest();
    case K::kLatestAppConsistent:
    case K::kLatestMultiVmAppConsistent:
      return *log_.latest_app_consistent();
    case K::kCustom:
      return *log_.find(choice.custom);
  }
  DRSIM_CHECK(false);
  return {};
}

ProtectionChanged ProtectionLifecycle::change(ProtectionStep step, ProtectionState to, Time now) {
  ProtectionChanged event{.name = name_, .step = step, .from = state_, .to = to, .at = now};
  state_ = to;
  event.active_region = active_;
  if (replicating()) event.replication_target = peer_region();
  return event;
}

void ProtectionLifecycle::start_replication(SyncKind sync, Time now) {
  log_.clear();
  schedule_.reset();
  sync_ = sync;
  replicating_since_ = now;
  last_heard_.reset();
  heard_since_cut_ = false;
  replication_error_.reset();
  failover_point_.reset();
  test_point_.reset();
}

void ProtectionLifecycle::stop_replication() {
  schedule_.reset();
  sync_.reset();
  replication_error_.reset();
}

Result<ProtectionChanged> ProtectionLifecycle::enable_replication(Time now) {
  if (Status s = check(ProtectionStep::kEnableReplication); !s.is_ok()) return s;
  start_replication(SyncKind::kFull, now);
  ProtectionChanged event =
      change(ProtectionStep::kEnableReplication, ProtectionState::kInitialReplication, now);
  event.sync = SyncKind::kFull;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::on_sync_completed(Time now) {
  if (Status s = check(ProtectionStep::kSyncCompleted); !s.is_ok()) return s;
  // The first point holds what the sync copied, so a failover is possible at once.
  const RecoveryPoint& first = log_.cut(RecoveryPointType::kCrashConsistent, now);
  heard_since_cut_ = false;
  sync_.reset();
  schedule_.emplace(policy_.app_consistent_interval, now);
  ProtectionChanged event =
      change(ProtectionStep::kSyncCompleted, ProtectionState::kProtected, now);
  event.point = first;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::test_failover(RecoveryPointChoice choice, Time now) {
  if (Status s = check(ProtectionStep::kTestFailover); !s.is_ok()) return s;
  if (Status s = check_choice(ProtectionStep::kTestFailover, choice); !s.is_ok()) return s;
  test_point_ = resolve(choice, now);
  // The test copy runs in an isolated network: the VMs, their region and the replication stay.
  ProtectionChanged event =
      change(ProtectionStep::kTestFailover, ProtectionState::kTestFailoverCleanupPending, now);
  event.point = test_point_;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::cleanup_test_failover(Time now) {
  if (Status s = check(ProtectionStep::kTestFailoverCleanup); !s.is_ok()) return s;
  test_point_.reset();
  return change(ProtectionStep::kTestFailoverCleanup, ProtectionState::kProtected, now);
}

Result<ProtectionChanged> ProtectionLifecycle::planned_failover(
    const std::map<std::string, Seq>& source_last_written, RegionReachability reach, Time now) {
  const ProtectionStep step = ProtectionStep::kPlannedFailover;
  if (Status s = check(step); !s.is_ok()) return s;
  const std::string head = "planned failover of " + name_ + " refused: ";
  if (reach.active == Reachability::kUnreachable) {
    return unavailable(
        head + "it shuts " + name_ + " down in " + active_ + " first, and " + active_ +
        " is unreachable; use an unplanned failover (`drsim unplanned-failover " + name_ + "`)");
  }
  // Guard rail: the VMs would be shut down and started nowhere.
  if (reach.peer == Reachability::kUnreachable) {
    return unavailable(head + peer_region() + " is unreachable, so " + name_ +
                       " would end up running in no region; keep it in " + active_ + " until " +
                       peer_region() + " is back");
  }
  for (const auto& [workload, source_seq] : source_last_written) {
    auto it = log_.replicated().find(workload);
    const Seq at_target = it == log_.replicated().end() ? Seq(0) : it->second;
    if (at_target < source_seq) {
      return failed_precondition(head + "a planned failover gives up no data, and workload '" +
                                 workload + "' is at seq " + std::to_string(source_seq.value()) +
                                 " in " + active_ + " but " + std::to_string(at_target.value()) +
                                 " in " + peer_region() + "; wait for replication to catch up");
    }
  }
  failover_point_ = resolve(RecoveryPointChoice::of(RecoveryPointChoiceKind::kLatest), now);
  stop_replication();
  active_ = peer_region();
  ProtectionChanged event = change(step, ProtectionState::kFailedOver, now);
  event.point = failover_point_;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::unplanned_failover(RecoveryPointChoice choice,
                                                                  RegionReachability reach,
                                                                  Time now) {
  const ProtectionStep step = ProtectionStep::kUnplannedFailover;
  if (Status s = check(step); !s.is_ok()) return s;
  // Guard rail: whatever still runs in the active region, nothing would start in the peer.
  if (reach.peer == Reachability::kUnreachable) {
    return unavailable(
        "unplanned failover of " + name_ + " refused: " + peer_region() + " is unreachable, so " +
        name_ + " would end up running in no region; wait until " + peer_region() + " is back");
  }
  if (Status s = check_choice(step, choice); !s.is_ok()) return s;
  failover_point_ = resolve(choice, now);
  stop_replication();
  active_ = peer_region();
  ProtectionChanged event = change(step, ProtectionState::kFailedOver, now);
  event.point = failover_point_;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::change_recovery_point(RecoveryPointChoice choice,
                                                                     Time now) {
  const ProtectionStep step = ProtectionStep::kChangeRecoveryPoint;
  if (Status s = check(step); !s.is_ok()) return s;
  if (Status s = check_choice(step, choice); !s.is_ok()) return s;
  failover_point_ = resolve(choice, now);
  ProtectionChanged event = change(step, ProtectionState::kFailedOver, now);
  event.point = failover_point_;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::commit(Time now) {
  if (Status s = check(ProtectionStep::kCommit); !s.is_ok()) return s;
  log_.keep_only(failover_point_->id);
  ProtectionChanged event = change(ProtectionStep::kCommit, ProtectionState::kCommitted, now);
  event.point = failover_point_;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::reprotect(OriginalDisks disks, Time now) {
  if (Status s = check(ProtectionStep::kReprotect); !s.is_ok()) return s;
  const SyncKind sync = disks == OriginalDisks::kPresent ? SyncKind::kDelta : SyncKind::kFull;
  // Replication now runs from where the VMs run to where they came from; the committed point
  // belongs to the old direction.
  start_replication(sync, now);
  ProtectionChanged event =
      change(ProtectionStep::kReprotect, ProtectionState::kInitialReplication, now);
  event.sync = sync;
  return event;
}

Result<ProtectionChanged> ProtectionLifecycle::disable_replication(Time now) {
  if (Status s = check(ProtectionStep::kDisableReplication); !s.is_ok()) return s;
  stop_replication();
  log_.clear();
  failover_point_.reset();
  // The VMs keep running where they are; only the protection goes.
  return change(ProtectionStep::kDisableReplication, ProtectionState::kNotProtected, now);
}

Status ProtectionLifecycle::on_replicated(const std::string& workload, Seq seq, Time now) {
  if (!replicating()) {
    return failed_precondition(name_ + " is not replicating (state " +
                               protection_state_name(state_) + "); no data is expected");
  }
  if (Status s = log_.on_replicated(workload, seq); !s.is_ok()) return s;
  return on_heartbeat(now);
}

Status ProtectionLifecycle::on_heartbeat(Time now) {
  if (!replicating()) {
    return failed_precondition(name_ + " is not replicating (state " +
                               protection_state_name(state_) + "); no heartbeat is expected");
  }
  last_heard_ = now;
  heard_since_cut_ = true;
  replication_error_.reset();
  return Status::ok();
}

Status ProtectionLifecycle::on_replication_error(std::string error) {
  if (!replicating()) {
    return failed_precondition(name_ + " is not replicating (state " +
                               protection_state_name(state_) + "); an error cannot apply");
  }
  replication_error_ = std::move(error);
  return Status::ok();
}

ProtectionRecord ProtectionLifecycle::record() const {
  ProtectionRecord r;
  r.state = state_;
  r.active_region = active_;
  r.points = log_.points();
  r.replicated = log_.replicated();
  r.last_point_id = log_.last_id();
  r.sync = sync_;
  r.replicating_since = replicating_since_;
  r.last_heard = last_heard_;
  r.heard_since_cut = heard_since_cut_;
  r.replication_error = replication_error_;
  r.failover_point = failover_point_;
  r.test_failover_point = test_point_;
  if (schedule_) {
    r.next_crash_consistent_due = schedule_->next_crash_consistent_due();
    if (policy_.app_consistent_interval) {
      r.next_app_consistent_due = schedule_->next_app_consistent_due();
    }
  }
  return r;
}

Status ProtectionLifecycle::restore(const ProtectionRecord& r) {
  using S = ProtectionState;
  const std::string head = name_ + ": ";
  if (r.active_region != primary_ && r.active_region != recovery_) {
    return invalid_argument(head + "active_region: '" + r.active_region + "' is neither " +
                            primary_ + " nor " + recovery_);
  }
  const bool scheduled = r.state == S::kProtected || r.state == S::kTestFailoverCleanupPending;
  if (scheduled != r.next_crash_consistent_due.has_value()) {
    return invalid_argument(head + "next_crash_consistent_due: a point schedule belongs to " +
                            "Protected and TestFailoverCleanupPending, not " +
                            protection_state_name(r.state));
  }
  if (r.next_app_consistent_due && !policy_.app_consistent_interval) {
    return invalid_argument(head +
                            "next_app_consistent_due: app-consistent snapshots are off in the "
                            "policy");
  }
  if ((r.state == S::kFailedOver || r.state == S::kCommitted) && !r.failover_point) {
    return invalid_argument(head + "failover_point: " + protection_state_name(r.state) +
                            " needs the point failed over to");
  }
  if (r.state == S::kTestFailoverCleanupPending && !r.test_failover_point) {
    return invalid_argument(head + "test_failover_point: a pending cleanup needs its point");
  }
  if (r.sync.has_value() != (r.state == S::kInitialReplication)) {
    return invalid_argument(head + "sync: a sync kind belongs to InitialReplication only");
  }
  auto log = RecoveryPointLog::restore(r.points, r.replicated, r.last_point_id);
  if (!log.is_ok()) return invalid_argument(head + log.status().message());
  state_ = r.state;
  active_ = r.active_region;
  log_ = std::move(log).value();
  sync_ = r.sync;
  replicating_since_ = r.replicating_since;
  last_heard_ = r.last_heard;
  heard_since_cut_ = r.heard_since_cut;
  replication_error_ = r.replication_error;
  failover_point_ = r.failover_point;
  test_point_ = r.test_failover_point;
  schedule_.reset();
  if (scheduled) {
    schedule_ =
        RecoveryPointSchedule::resume(policy_.app_consistent_interval, *r.next_crash_consistent_due,
                                      r.next_app_consistent_due.value_or(kNever));
  }
  return Status::ok();
}

Status ProtectionLifecycle::drop_point(RecoveryPointId id) { return log_.drop(id); }

Status ProtectionLifecycle::settle_point(RecoveryPointId id,
                                         const std::map<std::string, Seq>& seqs) {
  if (Status s = log_.settle(id, seqs); !s.is_ok()) return s;
  const RecoveryPoint* settled = log_.find(id);
  if (failover_point_ && failover_point_->id == id) failover_point_ = *settled;
  if (test_point_ && test_point_->id == id) test_point_ = *settled;
  return Status::ok();
}

RecoveryPointTick ProtectionLifecycle::tick(Time now) {
  RecoveryPointTick out;
  if (!schedule_) return out;  // only Protected and TestFailoverCleanupPending have one
  if (auto type = schedule_->take_due(now); type && heard_since_cut_) {
    out.cut = log_.cut(*type, now);
    heard_since_cut_ = false;
  }
  out.pruned = log_.prune(now, policy_.retention);
  return out;
}

Time ProtectionLifecycle::next_deadline() const {
  return schedule_ ? schedule_->next_deadline() : kNever;
}

HealthAssessment ProtectionLifecycle::health(Time now) const {
  ReplicationSignals signals;
  if (state_ == ProtectionState::kInitialReplication) {
    signals.activity = ReplicationActivity::kSyncing;
  } else if (replicating()) {
    signals.activity = ReplicationActivity::kReplicating;
  }
  signals.replicating_since = replicating_since_;
  if (const RecoveryPoint* newest = log_.latest()) signals.newest_point = newest->time;
  signals.last_heard = last_heard_;
  signals.error = replication_error_;
  return assess_replication_health(signals, policy_.rpo_threshold, now);
}

}  // namespace drsim::model
