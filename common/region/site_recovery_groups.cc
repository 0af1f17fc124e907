// SiteRecoveryDriver's multi-VM consistency groups (protect_group) and change recovery point:
// kept apart from site_recovery_driver.cc, which holds single items, points and failover.
// A group is one protection scope: its points are store checkpoints like a single item's, and
// since the region store holds every workload, one checkpoint holds all members at the point's
// seqs.
#include <spdlog/spdlog.h>

#include "common/region/site_recovery_driver.h"

namespace drsim::region {

using namespace drsim::v1;

namespace {

std::string join_names(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

std::vector<std::string> SiteRecoveryDriver::failover_candidates() const {
  std::vector<std::string> out;
  for (const auto& name : vault_.scope_names()) {
    const auto* lc = vault_.find(name);
    if (lc->peer_region() == node_.options().name &&
        lc->state() != model::ProtectionState::kNotProtected &&
        lc->state() != model::ProtectionState::kFailedOver &&
        lc->state() != model::ProtectionState::kCommitted) {
      out.push_back(name);
    }
  }
  return out;
}

Result<model::JobId> SiteRecoveryDriver::add_group(const ProtectGroupRequest& req,
                                                   GroupOrigin origin) {
  const auto& opt = node_.options();
  std::vector<std::string> hosted;
  for (const auto& w : opt.workloads) hosted.push_back(w.name);
  for (int i = 0; i < req.items_size(); ++i) {
    if (std::find(hosted.begin(), hosted.end(), req.items(i)) == hosted.end()) {
      return invalid_argument("items[" + std::to_string(i) + "]: '" + req.items(i) +
                              "' is not a workload of region " + opt.name +
                              " (workloads: " + join_names(hosted) + ")");
    }
  }
  if (origin == GroupOrigin::kOperator && !node_.is_standby()) {
    return failed_precondition("protect group " + req.group() + " refused: region " + opt.name +
                               " is active; protection is set up in the replication target, "
                               "the standby region " +
                               opt.peer_name);
  }
  // Each member is checked as `drsim protect --item` checks a single VM, then the group.
  std::vector<model::ProtectedItemSpec> specs;
  for (const auto& item : req.items()) {
    ProtectItemRequest one = req.spec();
    one.set_item(item);
    model::ProtectedItemSpec spec;
    spec.name = item;
    spec.source = model::SourceKind::kAzureVm;
    spec.location = opt.peer_name;
    uint64_t used = std::max<uint64_t>(1, node_.store().approximate_data_bytes(item));
    spec.os_disk = {"os", std::max<uint64_t>(128ull << 30, used), used};
    spec.vm_agent = one.vm_agent_missing() ? model::VmAgent::kMissing : model::VmAgent::kInstalled;
    specs.push_back(spec);
  }
  model::ReplicationTarget target{req.spec().target_kind() == TARGET_KIND_SECONDARY_SITE
                                      ? model::TargetKind::kSecondarySite
                                      : model::TargetKind::kAzureRegion,
                                  opt.name};
  model::ReplicationPolicy policy;
  const auto& p = req.spec().policy();
  if (p.retention_ms() > 0) policy.retention = std::chrono::milliseconds(p.retention_ms());
  if (p.app_consistent_interval_ms() > 0) {
    policy.app_consistent_interval = std::chrono::milliseconds(p.app_consistent_interval_ms());
  }
  if (p.rpo_threshold_ms() > 0)
    policy.rpo_threshold = std::chrono::milliseconds(p.rpo_threshold_ms());
  Time t = now();
  auto job = jobs_.create(origin == GroupOrigin::kAdopted ? model::JobKind::kReprotect
                                                          : model::JobKind::kEnableReplication,
                          req.group(), t);
  if (!job.is_ok()) return job.status();
  (void)jobs_.transition(*job, model::JobState::kInProgress, t);
  auto ev = vault_.protect_group(req.group(), specs, target, policy, t);
  if (!ev.is_ok()) {
    (void)jobs_.transition(*job, model::JobState::kFailed, t, ev.status().message());
    return ev.status();
  }
  ProtectItemRequest recorded = req.spec();
  recorded.set_item(req.group());
  items_[req.group()] = Item{recorded, {}, *job, {}, req};
  // Written with the lifecycle, in order, before the step answers (persist()).
  if (origin != GroupOrigin::kRestored) {
    durable_.save_record(kGroupRecordPrefix + req.group(), req.SerializeAsString());
  }
  return *job;
}

Result<ProtectItemResponse> SiteRecoveryDriver::protect_group(const ProtectGroupRequest& req) {
  PersistOnReturn persist_after{*this};
  auto job = add_group(req, GroupOrigin::kOperator);
  if (!job.is_ok()) return job.status();
  const auto& opt = node_.options();
  spdlog::info("site recovery: protecting consistency group {} ({}) from {} to {}", req.group(),
               join_names({req.items().begin(), req.items().end()}), opt.peer_name, opt.name);
  ProtectItemResponse resp;
  info(**vault_.lifecycle(req.group()), resp.mutable_item());
  resp.set_job_id(job->value());
  return resp;
}

namespace {
// The point a change asks for; a custom one with its id, no other with one.
Result<model::RecoveryPointChoice> change_point_choice(const ChangeRecoveryPointRequest& req) {
  using K = model::RecoveryPointChoiceKind;
  if (req.point() != POINT_CHOICE_CUSTOM && req.point() != POINT_CHOICE_LATEST &&
      req.point_id() != 0) {
    return invalid_argument("point_id: only a custom recovery point takes an id");
  }
  switch (req.point()) {
    case POINT_CHOICE_LATEST:
      return failed_precondition(
          "point: 'latest' processes data that was not in a point yet, and the failover rolled "
          "that data back; choose a retained point (latest-processed, latest-app-consistent, "
          "custom with --point-id, or a multi-VM choice for a group)");
    case POINT_CHOICE_CUSTOM:
      if (req.point_id() == 0) return invalid_argument("point_id: a custom point needs its id");
      return model::RecoveryPointChoice::custom_point(model::RecoveryPointId(req.point_id()));
    case POINT_CHOICE_LATEST_APP_CONSISTENT:
      return model::RecoveryPointChoice::of(K::kLatestAppConsistent);
    case POINT_CHOICE_LATEST_MULTI_VM_PROCESSED:
      return model::RecoveryPointChoice::of(K::kLatestMultiVmProcessed);
    case POINT_CHOICE_LATEST_MULTI_VM_APP_CONSISTENT:
      return model::RecoveryPointChoice::of(K::kLatestMultiVmAppConsistent);
    default:
      return model::RecoveryPointChoice::of(K::kLatestProcessed);
  }
}
}  // namespace

Result<std::vector<std::string>> SiteRecoveryDriver::items_to_change(
    const ChangeRecoveryPointRequest& req) const {
  std::vector<std::string> names(req.items().begin(), req.items().end());
  if (!names.empty()) return names;
  for (const auto& name : vault_.scope_names()) {
    if (vault_.find(name)->state() == model::ProtectionState::kFailedOver) names.push_back(name);
  }
  if (names.empty()) {
    return failed_precondition(
        "change recovery point refused: no protected item in region " + node_.options().name +
        " is failed over (a committed failover keeps its point; fail over first with `drsim "
        "failover --unplanned --point ...`)");
  }
  return names;
}

// One item's change previewed: what it gives up and regains per workload (into `resp`), the
// region's rollback per workload (into `changes`), and the point it moves to.
Result<model::RecoveryPoint> SiteRecoveryDriver::preview_point_change(
    const std::string& name, const model::RecoveryPointChoice& choice, Time t,
    std::map<std::string, Seq>& current, ChangeRecoveryPointResponse& resp,
    std::map<std::string, RegionNode::PointChange>& changes) {
  auto found = vault_.lifecycle(name);
  if (!found.is_ok()) return found.status();
  const model::ProtectionLifecycle& lc = **found;
  if (!model::protection_step_allowed(lc.state(), model::ProtectionStep::kChangeRecoveryPoint)) {
    return failed_precondition(
        "change recovery point of " + name + " refused: it is " +
        model::protection_state_name(lc.state()) +
        (lc.state() == model::ProtectionState::kCommitted
             ? "; the commit kept its point and dropped the others"
             : "; a point is changed after an unplanned failover and before `drsim commit`"));
  }
  model::ProtectionLifecycle preview(lc);
  auto ev = preview.change_recovery_point(choice, t);
  if (!ev.is_ok()) return ev.status();
  const model::RecoveryPoint& from = *lc.failover_point();
  const model::RecoveryPoint& to = *ev->point;
  auto& cps = items_[name].checkpoints;
  if (!cps.count(to.id)) {
    return failed_precondition("recovery point " + std::to_string(to.id.value()) + " of " + name +
                               " has no checkpoint on disk; choose another point");
  }
  auto* item = resp.add_items();
  item->set_item(name);
  point_info(name, from, item->mutable_from());
  point_info(name, to, item->mutable_to());
  for (const auto& [w, seq] : to.seqs) {
    auto f = from.seqs.find(w);
    Seq from_seq = f == from.seqs.end() ? Seq(0) : f->second;
    auto* wc = item->add_workloads();
    wc->set_workload(w);
    wc->set_from_point_seq(from_seq.value());
    wc->set_to_point_seq(seq.value());
    wc->set_current_seq(current[w].value());
    wc->set_writes_discarded(current[w] > from_seq ? current[w].value() - from_seq.value() : 0);
    if (seq > from_seq) wc->set_writes_regained(seq.value() - from_seq.value());
    if (from_seq > seq) wc->set_writes_given_up(from_seq.value() - seq.value());
    changes[w] = {cps[to.id], seq, std::min(from_seq, seq)};
  }
  return to;
}

Result<ChangeRecoveryPointResponse> SiteRecoveryDriver::change_recovery_point(
    const ChangeRecoveryPointRequest& req) {
  auto choice = change_point_choice(req);
  if (!choice.is_ok()) return choice.status();
  auto names = items_to_change(req);
  if (!names.is_ok()) return names.status();
  Time t = now();
  auto current = node_.workload_seqs();
  ChangeRecoveryPointResponse resp;
  std::map<std::string, RegionNode::PointChange> changes;
  std::map<std::string, model::RecoveryPoint> chosen;
  for (const auto& name : *names) {
    auto to = preview_point_change(name, *choice, t, current, resp, changes);
    if (!to.is_ok()) return to.status();
    chosen[name] = *to;
  }
  if (req.dry_run()) {
    resp.set_message("dry run: nothing changed");
    return resp;
  }
  std::string target = join_names(*names);
  auto job = jobs_.create(model::JobKind::kChangeRecoveryPoint, target, t);
  if (!job.is_ok()) return job.status();
  (void)jobs_.transition(*job, model::JobState::kInProgress, t);
  resp.set_job_id(job->value());
  if (Status s = node_.change_to_points(changes); !s.is_ok()) {
    (void)jobs_.transition(*job, model::JobState::kFailed, now(), s.message());
    return s;
  }
  for (const auto& name : *names) {
    auto ev = (*vault_.lifecycle(name))->change_recovery_point(*choice, t);
    if (!ev.is_ok() || ev->point->id != chosen[name].id) {
      spdlog::error("site recovery: {} changed point in the region but its lifecycle disagrees",
                    name);
    }
  }
  (void)jobs_.transition(*job, model::JobState::kSucceeded, now());
  resp.set_message("recovery point changed; commit with `drsim commit` keeps it");
  spdlog::info("site recovery: recovery point of {} changed ({})", target,
               model::recovery_point_choice_name(choice->kind));
  return resp;
}

void SiteRecoveryDriver::planned_failover_region(
    const std::vector<std::string>& names, const std::string& reason,
    std::function<void(Result<PlannedFailoverResponse>)> done) {
  for (const auto& name : names) {
    auto lc = vault_.lifecycle(name);
    if (!lc.is_ok()) return done(lc.status());
    if (!model::protection_step_allowed((*lc)->state(), model::ProtectionStep::kPlannedFailover)) {
      return done(failed_precondition("planned failover of " + name + " refused: it is " +
                                      model::protection_state_name((*lc)->state()) +
                                      "; a planned failover starts from Protected"));
    }
  }
  constexpr Duration kDrainTimeout = std::chrono::seconds(10);
  node_.planned_failover(reason, kDrainTimeout, false,
                         [this, reason, done = std::move(done)](Result<PlannedFailoverResponse> r) {
                           if (stopped_) return;
                           if (!r.is_ok()) return done(r.status());
                           // The items follow the region exactly as after `drsim failover
                           // --planned`.
                           PlannedFailoverItemsRequest items;
                           for (const auto& c : r->drained())
                             (*items.mutable_drained_seqs())[c.workload()] = c.seq();
                           items.set_reason(reason);
                           if (auto moved = planned_failover_items(items); !moved.is_ok()) {
                             spdlog::error(
                                 "site recovery: the region failed over (planned) but: {}",
                                 moved.status().message());
                           }
                           done(std::move(r));
                         });
}

}  // namespace drsim::region
