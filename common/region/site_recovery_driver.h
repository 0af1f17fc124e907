// The Site Recovery vault of one region daemon: glues model::SiteRecoveryVault (protected items,
// lifecycles, recovery point schedule and ladder) and model::JobTable to the region's store and
// replication. Recovery points are real: each is a RocksDB checkpoint of the standby's store
// taken when the model cuts the point, holding every workload at the seq the point lists.
// Unplanned failover rolls the workloads back to the chosen point, then promotes the region.
// Runs on the region's loop thread; checkpoints and the vault's durable records are written by
// its CheckpointWorker thread (site_recovery_checkpoints.h). The gRPC edge is
// site_recovery_service.h.
//
// Time: the vault runs on drsim's scaled clock (a ScaledClock over the process Clock),
// `time_scale` times faster than real time from the daemon's start, so a drill sees a policy's
// 5-minute points and hours of pruning in seconds.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/core/scheduler.h"
#include "common/model/siterecovery/site_recovery.h"
#include "common/region/region_node.h"
#include "common/region/site_recovery_checkpoints.h"
#include "common/region/site_recovery_store.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "drsim/v1/siterecovery.grpc.pb.h"

namespace drsim::region {

class RecoveryPlanDriver;

class SiteRecoveryDriver {
 public:
  using FailoverDone = std::function<void(Result<drsim::v1::UnplannedFailoverResponse>)>;

  // `points_dir` holds one checkpoint directory per recovery point (<item>/<id>).
  // `scheduler` and `clock` are the process's (the recovery plans run on them too).
  SiteRecoveryDriver(RegionNode& node, Scheduler& scheduler, const Clock& clock,
                     std::string points_dir, double time_scale);
  ~SiteRecoveryDriver();

  // Restores the vault of an earlier run (site_recovery_restart.cc: lifecycles, points whose
  // checkpoint is still on disk, jobs, drsim's clock), protects recorded items that have no
  // lifecycle record yet when this region is their standby, starts the ticker.
  Status start();
  void stop();

  Result<drsim::v1::ProtectItemResponse> protect(const drsim::v1::ProtectItemRequest& req);
  drsim::v1::ListItemsResponse items();
  Result<drsim::v1::ListPointsResponse> points(const std::string& item);
  void unplanned_failover(const drsim::v1::UnplannedFailoverRequest& req, FailoverDone done);
  Result<drsim::v1::TestFailoverResponse> test_failover(const drsim::v1::TestFailoverRequest& req);
  Result<drsim::v1::CleanupTestFailoverResponse> cleanup_test_failover(
      const drsim::v1::CleanupTestFailoverRequest& req);
  Result<drsim::v1::CommitResponse> commit(const drsim::v1::CommitRequest& req);
  Result<drsim::v1::ReprotectItemsResponse> reprotect_items(
      const drsim::v1::ReprotectItemsRequest& req);
  drsim::v1::ListJobsResponse jobs() const;
  // GET /metrics (region_metrics.cc): each item of this vault as items() reports it, with the
  // ages ListItems leaves out. Durations are on drsim's clock (time_scale times real time).
  struct ItemFigures {
    std::string item;
    model::ProtectionState state = model::ProtectionState::kNotProtected;
    model::ReplicationHealth health = model::ReplicationHealth::kNotApplicable;
    // The RPO a failover would get now (the health rule's lag: the newest point's age, or
    // during a sync the time since data last arrived); nullopt while health is Not applicable.
    std::optional<Duration> rpo;
    std::optional<Duration> latest_point_age;  // "latest processed"; nullopt: no point
    std::optional<Duration> latest_app_consistent_point_age;
    uint64_t points = 0;  // with a checkpoint
  };
  struct Figures {
    std::vector<ItemFigures> items;
    double time_scale = 1;
    uint64_t checkpoint_failures = 0;
  };
  Figures figures() const;

  // Writes every lifecycle and the job table that changed since the last write (synced, on the
  // worker thread, in order). kBeforeReturning waits until they are on disk: an operator step
  // answers only then. Points cut and settled by the ticker persist in the background (a point
  // lost to a crash before its record is written had no checkpoint yet either).
  enum class PersistWhen { kBeforeReturning, kInBackground };
  void persist(PersistWhen when = PersistWhen::kBeforeReturning);

  // The vault follows the replication target (site_recovery_handover.cc): items handed over by
  // the vault that held them before their replication reversed, and the planned failover of
  // the items replicating here once the region pair failed over in a planned way.
  Result<drsim::v1::AdoptItemsResponse> adopt_items(const drsim::v1::AdoptItemsRequest& req);
  Result<drsim::v1::PlannedFailoverItemsResponse> planned_failover_items(
      const drsim::v1::PlannedFailoverItemsRequest& req);
  // Multi-VM consistency groups and change recovery point: site_recovery_groups.cc.
  Result<drsim::v1::ProtectItemResponse> protect_group(const drsim::v1::ProtectGroupRequest& req);
  Result<drsim::v1::ChangeRecoveryPointResponse> change_recovery_point(
      const drsim::v1::ChangeRecoveryPointRequest& req);
  // Recovery plans (recovery_plan_driver.h), which run their groups through this vault.
  RecoveryPlanDriver& plans() { return *plans_; }
  const model::SiteRecoveryVault& vault() const { return vault_; }
  model::JobTable& job_table() { return jobs_; }
  RegionNode& node() { return node_; }
  Scheduler& scheduler() { return scheduler_; }
  const Clock& process_clock() const { return process_clock_; }
  Time now() const;
  int64_t wall_nanos(Time t) const;
  // Items (scopes) this region is the replication target of and that may fail over here.
  std::vector<std::string> failover_candidates() const;
  // Planned failover of `names` (a recovery plan's group 1): the region's planned failover
  // (the active region stops writes, replication drains, this standby is promoted), then the
  // items move to FailedOver at the drained seqs through planned_failover_items, as after
  // `drsim failover --planned`. `done` runs on the loop with the region's answer.
  void planned_failover_region(
      const std::vector<std::string>& names, const std::string& reason,
      std::function<void(Result<drsim::v1::PlannedFailoverResponse>)> done);

 private:
  // Persists when a public step returns, whichever way it returns.
  struct PersistOnReturn {
    SiteRecoveryDriver& d;
    PersistWhen when = PersistWhen::kBeforeReturning;
    ~PersistOnReturn() { d.persist(when); }
  };
  // site_recovery_restart.cc
  Status restore_state();
  Status restore_scopes(const std::map<std::string, drsim::v1::StoredLifecycle>& lifecycles);
  void restore_jobs(const drsim::v1::StoredJobs& stored);
  void remove_unused_point_dirs();
  void restore_item(const drsim::v1::ProtectItemRequest& req,
                    const drsim::v1::StoredLifecycle& stored);
  void restore_group(const drsim::v1::ProtectGroupRequest& req,
                     const drsim::v1::StoredLifecycle& stored);
  // The scope `name` was just built again: its lifecycle takes `stored`, and the points whose
  // checkpoint is still usable stay.
  void restore_lifecycle(const std::string& name, const drsim::v1::StoredLifecycle& stored);
  DrsimWallMapping wall_mapping() const { return {drsim_start_, wall_start_nanos_}; }
  // A checkpoint directory usable as a recovery point; else why not.
  static Status checkpoint_usable(const std::string& dir);
  // site_recovery_checkpoints.cc's worker: a point cut on the loop gets its checkpoint there.
  void queue_checkpoint(const std::string& item, const model::RecoveryPoint& point);
  void on_checkpoint_made(CheckpointWorker::Made made);
  // <points>/<item>/<id> and <points>/test-failover-<item>, refused unless inside <points>.
  Result<std::string> checkpoint_dir(const std::string& item, model::RecoveryPointId id) const;
  Result<std::string> test_copy_dir(const std::string& item) const;
  // Items of this vault that now replicate away from it go to their target's vault (retried
  // until it answers); then this vault forgets them.
  void hand_over_items();
  void release_item(const std::string& name);
  // planned_failover_items' parts: the drained seqs fed to each item's lifecycle and its
  // failover previewed on a copy (what each workload reached, into `written`); then every item
  // moved to FailedOver at its point, whose checkpoint settles it (into `resp`).
  Status preview_planned_failover(const std::vector<std::string>& names,
                                  const std::map<std::string, Seq>& drained, Time t,
                                  std::map<std::string, std::map<std::string, Seq>>& written);
  void fail_over_planned(const std::vector<std::string>& names,
                         const std::map<std::string, std::map<std::string, Seq>>& written, Time t,
                         drsim::v1::PlannedFailoverItemsResponse& resp);

  struct Item {
    drsim::v1::ProtectItemRequest request;                      // as recorded
    std::map<model::RecoveryPointId, std::string> checkpoints;  // point → directory
    std::optional<model::JobId> enable_job;
    std::string test_copy;  // the test failover's copy, while cleanup is pending
    std::optional<drsim::v1::ProtectGroupRequest> group;  // set for a consistency group
  };

  // Who builds a consistency group's vault entry (site_recovery_groups.cc): an operator's
  // protect (refused on the active region), a restart restoring it (wherever it runs now; the
  // record exists) or the vault adopting it from its peer after re-protect.
  enum class GroupOrigin { kOperator, kRestored, kAdopted };
  // Checks the members, builds the group's vault entry and its enable (or re-protect) job.
  Result<model::JobId> add_group(const drsim::v1::ProtectGroupRequest& req, GroupOrigin origin);

  void arm();
  void tick();
  // Feeds what replication delivered to the item's lifecycle (when this region is its target).
  void feed(model::ProtectionLifecycle& lc, bool heartbeat);
  Status take_checkpoint(const std::string& item, const model::RecoveryPoint& point);
  // A writable copy of a checkpoint for a test failover (SST files hard-linked), marked active.
  Status make_test_copy(const std::string& checkpoint, const std::string& copy);
  void drop_checkpoint(const std::string& item, model::RecoveryPointId id);
  Result<drsim::v1::ProtectItemResponse> protect_recorded(
      const drsim::v1::ProtectItemRequest& req, bool record,
      model::JobKind job_kind = model::JobKind::kEnableReplication);
  void info(const model::ProtectionLifecycle& lc, drsim::v1::ProtectedItemInfo* out) const;
  // The item's health as this vault reports it: Not applicable (with the reason) while it
  // replicates to another region's vault, which cuts its points.
  model::HealthAssessment health_here(const model::ProtectionLifecycle& lc) const;
  void point_info(const std::string& item, const model::RecoveryPoint& p,
                  drsim::v1::ReplicationPointInfo* out) const;
  // A job that ran to its end inside one call.
  model::JobId finished_job(model::JobKind kind, const std::string& target, const Status& result);
  // unplanned_failover once the old active region's lease expired: asks it what it wrote.
  void unplanned_failover_after_lease(const drsim::v1::UnplannedFailoverRequest& req,
                                      FailoverDone done);
  // change_recovery_point's parts: the items it changes (those named, else every item failed
  // over here), and one item's change previewed on a copy of its lifecycle — per workload what
  // it gives up and regains (into `resp`) and where the region rolls back to (into `changes`).
  Result<std::vector<std::string>> items_to_change(
      const drsim::v1::ChangeRecoveryPointRequest& req) const;
  Result<model::RecoveryPoint> preview_point_change(
      const std::string& name, const model::RecoveryPointChoice& choice, Time t,
      std::map<std::string, Seq>& current, drsim::v1::ChangeRecoveryPointResponse& resp,
      std::map<std::string, RegionNode::PointChange>& changes);
  // Second half of unplanned_failover, once the old active region answered (or not).
  void finish_failover(const drsim::v1::UnplannedFailoverRequest& req,
                       std::optional<drsim::v1::GetStatusResponse> source, FailoverDone done);
  // What finish_failover chose once its preview passed: the items, how and when each picks
  // its point, the points (per item) and the answer so far.
  struct ChosenFailover {
    std::vector<std::string> names;
    model::RecoveryPointChoice choice;
    model::RegionReachability reach;
    Time t;
    std::map<std::string, model::RecoveryPoint> chosen;
    drsim::v1::UnplannedFailoverResponse resp;
  };
  // finish_failover's promotion: the job, the region rolled back to the points and promoted;
  // once it serves, every item's lifecycle fails over to its point and the job succeeds.
  void promote_to_points(const drsim::v1::UnplannedFailoverRequest& req, ChosenFailover f,
                         std::map<std::string, Seq>& standby_seqs, FailoverDone done);
  void fail_over_lifecycles(ChosenFailover& f);
  // The items that fail over: those named, else every item replicating here; refused unless
  // they are every item replicating here (a region fails over whole), or a custom point is
  // asked for more than one.
  Result<std::vector<std::string>> failover_items(const drsim::v1::UnplannedFailoverRequest& req,
                                                  const model::RecoveryPointChoice& choice) const;
  // Each item's point as the lifecycle will pick it (on a copy) and what it gives up, into
  // `resp` and `chosen`. An item that cannot fail over fails the whole (a job unless dry run).
  Status preview_failover(const std::vector<std::string>& names,
                          const model::RecoveryPointChoice& choice,
                          const model::RegionReachability& reach, Time t,
                          const std::map<std::string, Seq>& source_seqs,
                          std::map<std::string, Seq>& standby_seqs, bool dry_run,
                          drsim::v1::UnplannedFailoverResponse* resp,
                          std::map<std::string, model::RecoveryPoint>* chosen);
  // Where each workload rolls back to: its point's checkpoint ("latest" cuts one now, listed
  // in `fresh`). FAILED_PRECONDITION when an older point has no checkpoint on disk.
  Status point_rollbacks(const std::map<std::string, model::RecoveryPoint>& chosen,
                         std::map<std::string, Seq>& standby_seqs,
                         std::map<std::string, RegionNode::PointRollback>* rollbacks,
                         std::vector<std::pair<std::string, model::RecoveryPointId>>* fresh);

  RegionNode& node_;
  const std::string points_dir_;
  Scheduler& scheduler_;
  const Clock& process_clock_;
  const Time drsim_start_;    // the process clock's now() when the vault was built
  ScaledClock clock_;         // drsim's clock: drsim_start_ then, `time_scale` times faster
  int64_t wall_start_nanos_;  // drsim's clock at drsim_start_, continued across restarts
  bool stopped_ = false;
  model::SiteRecoveryVault vault_;
  model::JobTable jobs_;
  std::map<std::string, Item> items_;
  std::unique_ptr<drsim::v1::RegionAdmin::Stub> peer_admin_;
  std::string peer_admin_address_;
  bool failover_running_ = false;
  SiteRecoveryStore durable_;
  std::unique_ptr<drsim::v1::SiteRecovery::Stub> peer_vault_;
  std::string peer_vault_address_;
  bool hand_over_running_ = false;
  Time next_hand_over_ = kTimeZero;  // real (scheduler) time
  uint64_t checkpoint_failures_ = 0;
  std::unique_ptr<RecoveryPlanDriver> plans_;
  std::unique_ptr<CheckpointWorker> checkpoints_;  // last: joined before the rest goes
};

}  // namespace drsim::region
