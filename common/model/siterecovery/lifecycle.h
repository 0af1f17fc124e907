// The Site Recovery lifecycle of one protection scope — a single VM, or a multi-VM consistency
// group whose VMs share recovery points and always move together — as a pure state machine.
// The vault owns one per scope; drivers feed it replication progress and operator steps with
// `now`, arm a timer at next_deadline() and run what the returned changes say.
//
//   NotProtected ─enable─▶ InitialReplication ─sync done─▶ Protected ─test failover─▶
//   TestFailoverCleanupPending ─cleanup─▶ Protected (production replication never stops)
//   Protected ─planned / unplanned failover─▶ FailedOver (change recovery point allowed)
//   FailedOver ─commit─▶ Committed ─re-protect─▶ InitialReplication (reversed; delta or full)
//   ─sync done─▶ Protected (reversed) ─failover back ("failback")─▶ FailedOver ─commit─▶
//   Committed ─re-protect─▶ … Protected in the original direction.
// Disable replication is allowed in InitialReplication, Protected and Committed. Every refused
// step is a Status saying why and what to do instead.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/siterecovery/recovery_point_log.h"
#include "common/model/siterecovery/recovery_point_schedule.h"
#include "common/model/siterecovery/health.h"
#include "common/model/siterecovery/policy.h"

namespace drsim::model {

enum class ProtectionState {
  kNotProtected,
  kInitialReplication,  // a full (enable) or delta/full (re-protect) sync; no point yet
  kProtected,
  kTestFailoverCleanupPending,
  kFailedOver,  // running at the target; commit pending
  kCommitted,   // running at the target, unprotected until re-protect
};
const char* protection_state_name(ProtectionState s);  // "Protected", "FailedOver", ...

// Operator steps, and the one replication event that moves the state (kSyncCompleted).
enum class ProtectionStep {
  kEnableReplication,
  kSyncCompleted,
  kTestFailover,
  kTestFailoverCleanup,
  kPlannedFailover,
  kUnplannedFailover,
  kChangeRecoveryPoint,
  kCommit,
  kReprotect,
  kDisableReplication,
};
const char* protection_step_name(ProtectionStep step);  // "test failover", "commit", ...

// The transition table: whether `step` may start in `state` (other checks may still refuse).
bool protection_step_allowed(ProtectionState state, ProtectionStep step);

enum class ProtectionScope { kSingleVm, kMultiVmGroup };

// Recovery point to fail over to (facts.md): Latest processes data that reached the target but
// is in no point yet (least loss, slower); the multi-VM choices are for groups, Custom for a
// single VM only.
enum class RecoveryPointChoiceKind {
  kLatest,
  kLatestProcessed,
  kLatestAppConsistent,
  kLatestMultiVmProcessed,
  kLatestMultiVmAppConsistent,
  kCustom,
};
const char* recovery_point_choice_name(RecoveryPointChoiceKind kind);  // "latest processed", ...

struct RecoveryPointChoice {
  RecoveryPointChoiceKind kind = RecoveryPointChoiceKind::kLatestProcessed;
  RecoveryPointId custom{};  // only for kCustom

  static RecoveryPointChoice of(RecoveryPointChoiceKind k) { return {k, {}}; }
  static RecoveryPointChoice custom_point(RecoveryPointId id) {
    return {RecoveryPointChoiceKind::kCustom, id};
  }
};

enum class Reachability { kReachable, kUnreachable };
// What the driver knows about the two regions (or sites) when a failover is asked for.
struct RegionReachability {
  Reachability active = Reachability::kReachable;  // where the VMs run now
  Reachability peer = Reachability::kReachable;    // where they would run after the failover
};

// Re-protect reuses the disks left where the VMs ran before the failover when they still exist
// (delta sync), else it copies everything (full sync).
enum class OriginalDisks { kPresent, kDeleted };
enum class SyncKind { kFull, kDelta };
const char* sync_kind_name(SyncKind kind);  // "full", "delta"

// Domain event: a state change (or a recovery point change while failed over).
struct ProtectionChanged {
  std::string name;
  ProtectionStep step = ProtectionStep::kEnableReplication;
  ProtectionState from = ProtectionState::kNotProtected;
  ProtectionState to = ProtectionState::kNotProtected;
  std::string active_region = {};       // where the VMs run after the change
  std::string replication_target = {};  // "" when not replicating
  // The point failed over, tested over or committed to, or the first point after a sync.
  std::optional<RecoveryPoint> point = {};
  std::optional<SyncKind> sync = {};  // enable replication and re-protect
  Time at = kTimeZero;
};

// Replication work of one tick: the point cut (if any) and the points pruned.
struct RecoveryPointTick {
  std::optional<RecoveryPoint> cut;
  std::vector<RecoveryPointId> pruned;
};

// Everything a lifecycle holds beyond its constructor arguments: what a driver persists after
// every change and hands to restore() after a restart.
struct ProtectionRecord {
  ProtectionState state = ProtectionState::kNotProtected;
  std::string active_region;
  std::vector<RecoveryPoint> points;  // oldest first
  std::map<std::string, Seq> replicated;
  RecoveryPointId last_point_id{0};
  std::optional<SyncKind> sync;
  Time replicating_since = kTimeZero;
  std::optional<Time> last_heard;
  bool heard_since_cut = false;
  std::optional<std::string> replication_error;
  std::optional<RecoveryPoint> failover_point;
  std::optional<RecoveryPoint> test_failover_point;
  // The point schedule's next slots, while Protected or TestFailoverCleanupPending.
  std::optional<Time> next_crash_consistent_due;
  std::optional<Time> next_app_consistent_due;  // nullopt also when app-consistent is off
};

class ProtectionLifecycle {
 public:
  // `policy` must be valid (checked); `members` are the VM names (just `name` for a single VM).
  // Starts NotProtected, running in `primary_region`.
  ProtectionLifecycle(std::string name, ProtectionScope scope, std::vector<std::string> members,
                      std::string primary_region, std::string recovery_region,
                      ReplicationPolicy policy);

  // --- Operator steps. Refusals: FAILED_PRECONDITION (wrong state, or the choice does not fit
  // this scope), UNAVAILABLE (a region the step needs is unreachable), NOT_FOUND (no such
  // custom point). A refused step changes nothing.
  Result<ProtectionChanged> enable_replication(Time now);  // full sync to the peer
  // Into an isolated network; production replication continues.
  Result<ProtectionChanged> test_failover(RecoveryPointChoice choice, Time now);
  Result<ProtectionChanged> cleanup_test_failover(Time now);
  // Zero data loss: needs the active region reachable (the VMs shut down there first) and the
  // target to hold every write `source_last_written` lists; fails over to a point cut then.
  Result<ProtectionChanged> planned_failover(const std::map<std::string, Seq>& source_last_written,
                                             RegionReachability reach, Time now);
  Result<ProtectionChanged> unplanned_failover(RecoveryPointChoice choice, RegionReachability reach,
                                               Time now);
  Result<ProtectionChanged> change_recovery_point(RecoveryPointChoice choice, Time now);
  Result<ProtectionChanged> commit(Time now);  // drops every other point
  Result<ProtectionChanged> reprotect(OriginalDisks disks, Time now);
  Result<ProtectionChanged> disable_replication(Time now);

  // --- Replication progress, from the driver.
  // The initial or re-protect sync finished: cuts the first point and starts the schedule.
  Result<ProtectionChanged> on_sync_completed(Time now);
  // Data up to `seq` of `workload` reached the target. Also clears a reported error.
  Status on_replicated(const std::string& workload, Seq seq, Time now);
  // The source is alive with nothing new to send (an idle VM still gets points).
  Status on_heartbeat(Time now);
  // Replication is failing; health is Critical until data or a heartbeat arrives again.
  Status on_replication_error(std::string error);

  // --- Persistence and the checkpoints behind the points.
  ProtectionRecord record() const;
  // Puts this lifecycle (built with the same name, members, regions and policy) in the state
  // `r` describes. INVALID_ARGUMENT naming the field when `r` cannot be a state of this
  // lifecycle (unknown active region, a failed-over state without its point, a schedule
  // outside a replicating state, points out of order); a refused record changes nothing.
  Status restore(const ProtectionRecord& r);
  // The point's checkpoint failed or is gone: it leaves the log (NOT_FOUND if not retained).
  Status drop_point(RecoveryPointId id);
  // The point's checkpoint holds `seqs` (>= what it lists): see RecoveryPointLog::settle.
  Status settle_point(RecoveryPointId id, const std::map<std::string, Seq>& seqs);

  // Cuts the point due at `now` — only when the source was heard from since the previous
  // point, so a stalled replication makes no points and its RPO grows — then prunes.
  RecoveryPointTick tick(Time now);
  // Next point due while replicating (Protected or TestFailoverCleanupPending); else kNever.
  Time next_deadline() const;
  HealthAssessment health(Time now) const;
  // InitialReplication, Protected or TestFailoverCleanupPending: data flows to the target.
  bool replicating() const;

  const std::string& name() const { return name_; }
  ProtectionScope scope() const { return scope_; }
  const std::vector<std::string>& members() const { return members_; }
  ProtectionState state() const { return state_; }
  const std::string& primary_region() const { return primary_; }
  const std::string& recovery_region() const { return recovery_; }
  const std::string& active_region() const { return active_; }
  const std::string& peer_region() const { return active_ == primary_ ? recovery_ : primary_; }
  const ReplicationPolicy& policy() const { return policy_; }
  const RecoveryPointLog& points() const { return log_; }
  std::optional<SyncKind> sync_kind() const { return sync_; }  // while InitialReplication
  const std::optional<RecoveryPoint>& failover_point() const { return failover_point_; }
  const std::optional<RecoveryPoint>& test_failover_point() const { return test_point_; }

 private:
  Status refusal(ProtectionStep step) const;
  Status check(ProtectionStep step) const;
  // Checks `choice` against this scope and the log without changing anything.
  Status check_choice(ProtectionStep step, RecoveryPointChoice choice) const;
  // The point `choice` names; for Latest first cuts a point from unprocessed data.
  RecoveryPoint resolve(RecoveryPointChoice choice, Time now);
  ProtectionChanged change(ProtectionStep step, ProtectionState to, Time now);
  void start_replication(SyncKind sync, Time now);
  void stop_replication();

  const std::string name_;
  const ProtectionScope scope_;
  const std::vector<std::string> members_;
  const std::string primary_;
  const std::string recovery_;
  const ReplicationPolicy policy_;

  ProtectionState state_ = ProtectionState::kNotProtected;
  std::string active_;
  RecoveryPointLog log_;
  std::optional<RecoveryPointSchedule> schedule_;
  std::optional<SyncKind> sync_;
  Time replicating_since_ = kTimeZero;
  std::optional<Time> last_heard_;
  bool heard_since_cut_ = false;
  std::optional<std::string> replication_error_;
  std::optional<RecoveryPoint> failover_point_;
  std::optional<RecoveryPoint> test_point_;
};

}  // namespace drsim::model
