// SiteRecoveryDriver: start-up, the replication tick and its crash-consistent checkpoints,
// protecting items, and what it reports. Its failovers (unplanned, test, commit, re-protect)
// are in site_recovery_failover.cc.
#include "common/region/site_recovery_driver.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/region/recovery_plan_driver.h"
#include "common/region/site_recovery_parts.h"

namespace drsim::region {

namespace fs = std::filesystem;
using namespace drsim::v1;
using namespace site_recovery_parts;

SiteRecoveryDriver::SiteRecoveryDriver(RegionNode& node, Scheduler& scheduler, const Clock& clock,
                                       std::string points_dir, double time_scale)
    : node_(node),
      points_dir_(std::move(points_dir)),
      scheduler_(scheduler),
      process_clock_(clock),
      drsim_start_(clock.now()),
      clock_(clock, drsim_start_, time_scale),
      wall_start_nanos_(clock.wall_unix_nanos()),
      durable_(node.store()),
      plans_(
          std::make_unique<RecoveryPlanDriver>(*this, scheduler, points_dir_ + "/" + kPlanRunsDir)),
      checkpoints_(std::make_unique<CheckpointWorker>(
          node.store(), node.io(),
          [this](CheckpointWorker::Made made) { on_checkpoint_made(std::move(made)); })) {}

SiteRecoveryDriver::~SiteRecoveryDriver() = default;

Time SiteRecoveryDriver::now() const { return clock_.now(); }

int64_t SiteRecoveryDriver::wall_nanos(Time t) const {
  return wall_start_nanos_ + (t - drsim_start_).count();
}

Status SiteRecoveryDriver::start() {
  if (Status s = restore_state(); !s.is_ok()) return s;
  auto records = node_.store().records();
  if (!records.is_ok()) return records.status();
  for (const auto& [name, value] : *records) {
    if (name.rfind(kGroupRecordPrefix, 0) == 0) {
      if (!node_.is_standby()) continue;  // a group restored with its lifecycle is in items_
      ProtectGroupRequest group;
      if (!group.ParseFromString(value) || items_.count(group.group())) continue;
      if (protect_group(group).is_ok()) {
        spdlog::info("site recovery: group {} protected again after restart", group.group());
      }
      continue;
    }
    if (name.rfind(kItemRecordPrefix, 0) != 0) continue;
    ProtectItemRequest req;
    if (!req.ParseFromString(value)) {
      return Status(StatusCode::kDataLoss, "Site Recovery record " + name + " is corrupt");
    }
    if (items_.count(req.item())) continue;  // restored with its lifecycle
    if (!node_.is_standby()) {
      spdlog::warn(
          "site recovery: {} was protected here but region {} is active now; protect it "
          "again from its new standby",
          req.item(), node_.options().name);
      continue;
    }
    auto r = protect_recorded(req, false);
    if (!r.is_ok()) {
      spdlog::warn("site recovery: cannot re-protect {}: {}", req.item(), r.status().message());
    } else {
      spdlog::info("site recovery: {} protected again after restart (it had no lifecycle record)",
                   req.item());
    }
  }
  if (Status s = plans_->load(); !s.is_ok()) return s;
  arm();
  return Status::ok();
}

void SiteRecoveryDriver::stop() {
  stopped_ = true;
  plans_->stop();
}

void SiteRecoveryDriver::arm() {
  scheduler_.schedule_after(kTickEvery, [this] {
    if (stopped_) return;
    tick();
    arm();
  });
}

void SiteRecoveryDriver::feed(model::ProtectionLifecycle& lc, bool heartbeat) {
  auto seqs = node_.workload_seqs();
  Time t = now();
  for (const auto& m : lc.members()) {
    const auto& replicated = lc.points().replicated();
    auto it = replicated.find(m);
    Seq have = it == replicated.end() ? Seq(0) : it->second;
    if (seqs[m] > have) {
      if (Status s = lc.on_replicated(m, seqs[m], t); !s.is_ok()) {
        spdlog::warn("site recovery: {}: {}", lc.name(), s.message());
      }
    }
  }
  if (heartbeat) (void)lc.on_heartbeat(t);
}

void SiteRecoveryDriver::tick() {
  hand_over_items();
  // Points hold what replication delivered: only a standby has any. (A region failed over
  // without the lifecycle, `drsim failover` alone, stops cutting points here.)
  if (!node_.is_standby()) return;
  PersistOnReturn persist_after{*this, PersistWhen::kInBackground};
  const std::string& me = node_.options().name;
  const bool receiving = node_.receiving_replication();
  Time t = now();
  for (const auto& name : vault_.scope_names()) {
    auto found = vault_.lifecycle(name);
    if (!found.is_ok()) continue;
    model::ProtectionLifecycle& lc = **found;
    if (lc.peer_region() != me) continue;  // points in that direction are cut elsewhere
    if (lc.state() == model::ProtectionState::kInitialReplication) {
      bool complete = receiving;
      for (const auto& m : lc.members()) complete = complete && !node_.copy_incomplete(m);
      if (!complete) continue;
      feed(lc, true);
      auto ev = lc.on_sync_completed(t);
      if (!ev.is_ok()) continue;
      if (ev->point) queue_checkpoint(name, *ev->point);
      auto& item = items_[name];
      if (item.enable_job) {
        (void)jobs_.transition(*item.enable_job, model::JobState::kSucceeded, t);
        item.enable_job.reset();
      }
      spdlog::info("site recovery: {} protected (initial replication done)", name);
      continue;
    }
    if (lc.state() != model::ProtectionState::kProtected &&
        lc.state() != model::ProtectionState::kTestFailoverCleanupPending) {
      continue;
    }
    feed(lc, receiving);
    auto ticked = lc.tick(t);
    if (ticked.cut) queue_checkpoint(name, *ticked.cut);
    for (auto id : ticked.pruned) drop_checkpoint(name, id);
  }
}

Status SiteRecoveryDriver::take_checkpoint(const std::string& item,
                                           const model::RecoveryPoint& point) {
  auto confined = checkpoint_dir(item, point.id);
  if (!confined.is_ok()) return confined.status();
  fs::path dir = *confined;
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  Status s =
      ec ? invalid_argument("points directory " + dir.parent_path().string() + ": " + ec.message())
         : node_.store().create_checkpoint(dir.string());
  if (!s.is_ok()) {
    spdlog::error("site recovery: recovery point {} of {} has no checkpoint: {}", point.id.value(),
                  item, s.message());
    return s;
  }
  items_[item].checkpoints[point.id] = dir.string();
  spdlog::debug("site recovery: {} point {} ({}) at {}", item, point.id.value(),
                model::recovery_point_type_name(point.type), dir.string());
  return Status::ok();
}

void SiteRecoveryDriver::drop_checkpoint(const std::string& item, model::RecoveryPointId id) {
  auto& cps = items_[item].checkpoints;
  auto it = cps.find(id);
  if (it == cps.end()) return;
  checkpoints_->remove(it->second);  // off the loop, after any checkpoint queued before
  cps.erase(it);
}

Result<ProtectItemResponse> SiteRecoveryDriver::protect(const ProtectItemRequest& req) {
  PersistOnReturn persist_after{*this};
  return protect_recorded(req, true);
}

Result<ProtectItemResponse> SiteRecoveryDriver::protect_recorded(const ProtectItemRequest& req,
                                                                 bool record,
                                                                 model::JobKind job_kind) {
  const auto& opt = node_.options();
  bool hosted = false;
  std::vector<std::string> names;
  for (const auto& w : opt.workloads) {
    hosted = hosted || w.name == req.item();
    names.push_back(w.name);
  }
  if (!hosted) {
    return invalid_argument("item: '" + req.item() + "' is not a workload of region " + opt.name +
                            " (workloads: " + join(names) + ")");
  }
  if (record && !node_.is_standby()) {  // a restored item may run here after its failover
    return failed_precondition("protect " + req.item() + " refused: region " + opt.name +
                               " is active; protection is set up in the replication target, "
                               "the standby region " +
                               opt.peer_name);
  }
  model::ProtectedItemSpec spec;
  spec.name = req.item();
  spec.source = to_model(req.source());
  spec.location = opt.peer_name;
  spec.hyperv_management = req.hyperv_managed_by_vmm() ? model::HyperVManagement::kVmm
                                                       : model::HyperVManagement::kStandaloneHost;
  if (req.has_os_disk()) {
    spec.os_disk = to_model(req.os_disk());
  } else {
    uint64_t used = std::max<uint64_t>(1, node_.store().approximate_data_bytes(req.item()));
    spec.os_disk = {"os", std::max(kDefaultOsDiskBytes, used), used};
  }
  for (const auto& d : req.data_disks()) spec.data_disks.push_back(to_model(d));
  spec.vm_agent = req.vm_agent_missing() ? model::VmAgent::kMissing : model::VmAgent::kInstalled;
  model::ReplicationTarget target{req.target_kind() == TARGET_KIND_SECONDARY_SITE
                                      ? model::TargetKind::kSecondarySite
                                      : model::TargetKind::kAzureRegion,
                                  opt.name};
  Time t = now();
  auto job = jobs_.create(job_kind, req.item(), t);
  if (!job.is_ok()) return job.status();
  auto ev = vault_.protect_vm(spec, target, to_model(req.policy()), t);
  if (!ev.is_ok()) {
    (void)jobs_.transition(*job, model::JobState::kInProgress, t);
    (void)jobs_.transition(*job, model::JobState::kFailed, t, ev.status().message());
    return ev.status();
  }
  (void)jobs_.transition(*job, model::JobState::kInProgress, t);
  items_[req.item()] = Item{req, {}, *job, {}, {}};
  // Written with the lifecycle, in order, before the step answers (persist()).
  if (record) durable_.save_record(kItemRecordPrefix + req.item(), req.SerializeAsString());
  spdlog::info("site recovery: protecting {} ({}) from {} to {} {}", spec.name,
               model::source_kind_name(spec.source), spec.location,
               model::target_kind_name(target.kind), target.name);
  ProtectItemResponse resp;
  info(**vault_.lifecycle(req.item()), resp.mutable_item());
  resp.set_job_id(job->value());
  return resp;
}

model::HealthAssessment SiteRecoveryDriver::health_here(
    const model::ProtectionLifecycle& lc) const {
  if (lc.replicating() && lc.peer_region() != node_.options().name) {
    model::HealthAssessment away;
    away.reason = "replicating to " + lc.peer_region() +
                  "; this vault cuts recovery points only for items that replicate to " +
                  node_.options().name;
    return away;  // Not applicable
  }
  return lc.health(now());
}

SiteRecoveryDriver::Figures SiteRecoveryDriver::figures() const {
  Figures out;
  out.time_scale = clock_.scale();
  out.checkpoint_failures = checkpoint_failures_;
  const Time t = now();
  for (const auto& name : vault_.scope_names()) {
    const model::ProtectionLifecycle* lc = vault_.find(name);
    if (lc == nullptr) continue;
    ItemFigures& f = out.items.emplace_back();
    f.item = name;
    f.state = lc->state();
    const model::HealthAssessment health = health_here(*lc);
    f.health = health.health;
    if (health.health != model::ReplicationHealth::kNotApplicable) f.rpo = health.lag;
    if (const auto* p = lc->points().latest()) f.latest_point_age = t - p->time;
    if (const auto* p = lc->points().latest_app_consistent()) {
      f.latest_app_consistent_point_age = t - p->time;
    }
    f.points = lc->points().points().size();  // listed ones, checkpoint made or on its way
  }
  return out;
}

void SiteRecoveryDriver::info(const model::ProtectionLifecycle& lc, ProtectedItemInfo* out) const {
  const model::ProtectedItemSpec* spec = vault_.vm(lc.name());
  out->set_item(lc.name());
  if (spec) {
    out->set_source(model::source_kind_name(spec->source));
    out->set_used_bytes(spec->used_bytes());
  }
  auto it = items_.find(lc.name());
  bool site = it != items_.end() && it->second.request.target_kind() == TARGET_KIND_SECONDARY_SITE;
  out->set_target(std::string(site ? "secondary site " : "Azure region ") + lc.recovery_region());
  out->set_state(model::protection_state_name(lc.state()));
  const model::HealthAssessment health = health_here(lc);
  out->set_health(model::replication_health_name(health.health));
  out->set_health_reason(health.reason);
  const bool replicating = lc.replicating();
  out->set_active_region(lc.active_region());
  if (replicating) out->set_replication_target(lc.peer_region());
  // The points the item lists (what ListPoints returns and latest_point is one of), checkpoint
  // made or on its way: counting only checkpoints made could say 0 beside a latest point.
  out->set_points(lc.points().points().size());
  auto* p = out->mutable_policy();
  p->set_retention_ms(to_ms_count(lc.policy().retention));
  if (lc.policy().app_consistent_interval) {
    p->set_app_consistent_interval_ms(to_ms_count(*lc.policy().app_consistent_interval));
  }
  p->set_rpo_threshold_ms(to_ms_count(lc.policy().rpo_threshold));
  if (lc.failover_point()) out->set_failover_point_id(lc.failover_point()->id.value());
  if (const model::RecoveryPoint* latest = lc.points().latest()) {
    out->set_latest_point_unix_nanos(wall_nanos(latest->time));
    out->set_latest_point_type(model::recovery_point_type_name(latest->type));
  }
  out->set_time_scale(clock_.scale());
  if (lc.scope() == model::ProtectionScope::kMultiVmGroup) {
    for (const auto& m : lc.members()) out->add_members(m);
  }
}

void SiteRecoveryDriver::point_info(const std::string& item, const model::RecoveryPoint& p,
                                    ReplicationPointInfo* out) const {
  out->set_id(p.id.value());
  out->set_type(model::recovery_point_type_name(p.type));
  out->set_time_unix_nanos(wall_nanos(p.time));
  for (const auto& [w, seq] : p.seqs) (*out->mutable_seqs())[w] = seq.value();
  auto it = items_.find(item);
  if (it != items_.end()) {
    auto cp = it->second.checkpoints.find(p.id);
    if (cp != it->second.checkpoints.end()) out->set_data_bytes(dir_bytes(cp->second));
  }
}

ListItemsResponse SiteRecoveryDriver::items() {
  ListItemsResponse resp;
  resp.set_region(node_.options().name);
  resp.set_now_unix_nanos(wall_nanos(now()));
  for (const auto& name : vault_.scope_names()) {
    if (const auto* lc = vault_.find(name)) info(*lc, resp.add_items());
  }
  return resp;
}

Result<ListPointsResponse> SiteRecoveryDriver::points(const std::string& item) {
  ListPointsResponse resp;
  resp.set_now_unix_nanos(wall_nanos(now()));
  for (const auto& name : vault_.scope_names()) {
    if (!item.empty() && name != item) continue;
    const auto* lc = vault_.find(name);
    auto* ip = resp.add_items();
    ip->set_item(name);
    const auto& cps = items_[name].checkpoints;
    for (const auto& p : lc->points().points()) {
      // Listed once its checkpoint exists (the worker may still be making it).
      if (cps.count(p.id)) point_info(name, p, ip->add_points());
    }
  }
  if (!item.empty() && resp.items_size() == 0) {
    return not_found("item: '" + item + "' is not protected in region " + node_.options().name);
  }
  return resp;
}

}  // namespace drsim::region
