// BackupDriver: start-up (replaying the vault operations), the operations log every change goes
// through, vaults and policies. Its other parts, one file each: backup_driver_vms.cc,
// _backups.cc (jobs and recovery points), _restore.cc, _paired.cc (clock, schedule and the
// paired region) and _disks.cc (snapshots, images, disks).
#include "common/region/backup_driver.h"
#include "common/region/fail_stop.h"

#include <algorithm>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "common/core/names.h"
#include "common/region/backup_driver_parts.h"

namespace drsim::region {

using namespace std::chrono_literals;
namespace v1 = drsim::v1;

using namespace backup_driver_parts;

BackupDriver::BackupDriver(RegionNode& node, Scheduler& scheduler, const Clock& clock,
                           storage::RegionStore& region_store, storage::BackupStore& store,
                           BackupOptions options)
    : node_(node),
      region_store_(region_store),
      store_(store),
      options_(options),
      scheduler_(scheduler),
      process_clock_(clock) {}

BackupDriver::~BackupDriver() = default;

Status BackupDriver::check_name(const char* field, const std::string& name) {
  return validate_name(field, name);
}

Time BackupDriver::now() const { return clock_->now(); }

Status BackupDriver::check_serving() const {
  if (node_.in_outage()) {
    return unavailable("region " + node_.options().name + " is in an injected outage");
  }
  return Status::ok();
}

Status BackupDriver::start() {
  Time sim_start = kTimeZero;
  auto saved = store_.get_record(kClockRecord, "now");
  if (!saved.is_ok()) return saved.status();
  if (saved->has_value()) {
    char* end = nullptr;
    const long long nanos = std::strtoll((*saved)->c_str(), &end, 10);
    if (end == (*saved)->c_str() || *end != '\0' || nanos < 0) {
      return Status(StatusCode::kDataLoss, "the saved backup clock is corrupt");
    }
    sim_start = from_nanos(nanos);
  }
  clock_ = std::make_unique<ScaledClock>(process_clock_, sim_start, options_.time_scale);
  size_t replayed = 0;
  Status bad;
  Status s = store_.for_each_op([&](const std::string& region, const v1::VaultOp& op) {
    VaultSet& set = region.empty() ? local_ : paired_[region];
    set.region = region;
    if (region.empty()) catch_up_usage(from_nanos(op.at_nanos()));
    auto r = apply(set, op);
    // The same ops in the same order decide the same way; a refusal here is a bug.
    if (!r.is_ok() && bad.is_ok()) {
      bad = internal_error("replaying vault op " + std::to_string(op.seq()) + " of region '" +
                           region + "': " + r.status().message());
    }
    set.applied_seq = op.seq();
    if (region.empty()) {
      if (r.is_ok()) record_usage(from_nanos(op.at_nanos()));
      local_ops_.push_back(op);
      next_seq_ = op.seq() + 1;
    }
    ++replayed;
  });
  if (!s.is_ok()) return s;
  if (!bad.is_ok()) return bad;
  if (Status dropped = drop_unnamed_geo_blobs(); !dropped.is_ok()) return dropped;
  // The clock never runs behind an op it already applied.
  if (!local_ops_.empty() && from_nanos(local_ops_.back().at_nanos()) > now()) {
    clock_->restart_at(from_nanos(local_ops_.back().at_nanos()));
  }
  spdlog::info("backup: {} vault op(s) replayed; backup clock at {} (x{})", replayed,
               model::format_drill_time(now()), clock_->scale());
  node_.set_write_gate([this](const std::string& vm) { return admit_write(vm); });
  arm();
  ship_next();
  return Status::ok();
}

void BackupDriver::stop() {
  stopped_ = true;
  node_.set_write_gate(nullptr);
  if (timer_) scheduler_.cancel(*timer_);
  timer_.reset();
  if (in_flight_) in_flight_->TryCancel();
  in_flight_.reset();  // the call's state is the callback's: the shutdown waits for it to go
}

// ---------------------------------------------------------------- ops

Result<model::RecoveryServicesVault*> BackupDriver::OpScope::vault(const std::string& name) const {
  model::RecoveryServicesVault* v = set.registry.find(name);
  if (v == nullptr) return not_found("no vault named " + name + " in region " + region);
  return v;
}

Result<BackupDriver::Applied> BackupDriver::apply(VaultSet& set, const v1::VaultOp& op) {
  const std::string& own = node_.options().name;
  const OpScope scope{set, from_nanos(op.at_nanos()), set.region.empty() ? own : set.region,
                      set.region.empty() ? node_.options().peer_name : own};
  switch (op.kind_case()) {
    case v1::VaultOp::kCreateVault: return apply_create_vault(scope, op.create_vault());
    case v1::VaultOp::kDeleteVault: return apply_delete_vault(scope, op.delete_vault());
    case v1::VaultOp::kCreatePolicy: return apply_create_policy(scope, op.create_policy());
    case v1::VaultOp::kProtect: return apply_protect(scope, op.protect());
    case v1::VaultOp::kBackup: return apply_backup(scope, op.backup());
    case v1::VaultOp::kStopProtection:
      return apply_item_op(scope, op.stop_protection(),
                           [](Vault& v, const v1::VaultOpItem& c, Time) {
                             return v.stop_protection(c.vm());
                           });
    case v1::VaultOp::kUndelete:
      return apply_item_op(scope, op.undelete(), [](Vault& v, const v1::VaultOpItem& c, Time at) {
        return v.undelete(c.vm(), at);
      });
    case v1::VaultOp::kResume:
      return apply_item_op(scope, op.resume(), [](Vault& v, const v1::VaultOpItem& c, Time at) {
        return v.resume_protection(c.vm(), at);
      });
    case v1::VaultOp::kDeleteData: return apply_delete_data(scope, op.delete_data());
    case v1::VaultOp::kExpire: return apply_expire(scope, op.expire());
    case v1::VaultOp::kDeleteVm: return apply_delete_vm(scope, op.delete_vm());
    case v1::VaultOp::kCaptureImage:
      // The image is the paired region's, but the VM it generalized is the same VM this region
      // holds as its standby copy: after a failover it must not start here either.
      if (!set.region.empty()) {
        if (hosted(op.capture_image().vm())) {
          generalized_in_peer_[op.capture_image().vm()] =
              op.capture_image().image() + " in region " + set.region;
        }
        return Applied{};
      }
      return apply_disk_op(op);
    case v1::VaultOp::kCreateSnapshot:
    case v1::VaultOp::kDeleteSnapshot:
      // Snapshots and images are this region's (locally redundant); a paired copy skips them.
      if (!set.region.empty()) return Applied{};
      return apply_disk_op(op);
    case v1::VaultOp::KIND_NOT_SET:
      break;
  }
  return invalid_argument("vault op " + std::to_string(op.seq()) + " has no kind");
}

Result<BackupDriver::Applied> BackupDriver::apply_create_vault(const OpScope& s,
                                                               const v1::VaultOpCreate& c) {
  model::VaultSpec spec{.name = c.vault(),
                        .region = s.region,
                        .paired_region = s.paired,
                        .redundancy = redundancy_from_proto(c.redundancy())};
  auto v = s.set.registry.create(spec);
  if (!v.is_ok()) return v.status();
  if (c.cross_region_restore()) {
    if (Status crr = (*v)->enable_cross_region_restore(); !crr.is_ok()) {
      (void)s.set.registry.remove(c.vault());
      return crr;
    }
  }
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_delete_vault(const OpScope& s,
                                                               const v1::VaultOpName& c) {
  if (Status removed = s.set.registry.remove(c.vault()); !removed.is_ok()) return removed;
  s.set.policies.erase(c.vault());
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_create_policy(const OpScope& s,
                                                                const v1::VaultOpPolicy& c) {
  auto v = s.vault(c.vault());
  if (!v.is_ok()) return v.status();
  auto policy = policy_from_proto(c.spec());
  if (!policy.is_ok()) return policy.status();
  auto& named = s.set.policies[c.vault()];
  if (named.contains(c.policy())) {
    return Status(StatusCode::kAlreadyExists,
                  "vault " + c.vault() + " already has a policy named " + c.policy());
  }
  named.emplace(c.policy(), *policy);
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_protect(const OpScope& s,
                                                          const v1::VaultOpProtect& c) {
  auto v = s.vault(c.vault());
  if (!v.is_ok()) return v.status();
  auto named = s.set.policies.find(c.vault());
  if (named == s.set.policies.end() || !named->second.contains(c.policy())) {
    return not_found("policy: vault " + c.vault() + " has no policy named " + c.policy() +
                     "; create it first");
  }
  if (Status p = (*v)->protect(vm_from_facts(c.vm(), s.region), named->second.at(c.policy()),
                               s.at);
      !p.is_ok()) {
    return p;
  }
  s.set.item_policy[{c.vault(), c.vm().vm()}] = c.policy();
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_backup(const OpScope& s,
                                                         const v1::VaultOpBackup& c) {
  auto v = s.vault(c.vault());
  if (!v.is_ok()) return v.status();
  const model::VirtualMachine vm = vm_from_facts(c.vm(), s.region);
  auto job = c.on_demand()
                 ? (*v)->run_on_demand_backup(vm, from_nanos(c.retain_until_nanos()), s.at)
                 : (*v)->run_scheduled_backup(vm, s.at);
  if (!job.is_ok()) return job.status();
  if (job->point) {
    s.set.points[{c.vault(), vm.name}][job->point->value()] =
        PointData{c.blob(), c.source_seq(), c.keys()};
  } else {
    (void)store_.delete_blob({s.set.region, c.blob()});  // the job failed: no point
  }
  Applied applied;
  applied.job = *job;
  return applied;
}

// Stop protection, undelete, resume: `act` on one item of one vault, nothing but its status to
// answer.
Result<BackupDriver::Applied> BackupDriver::apply_item_op(const OpScope& s,
                                                          const v1::VaultOpItem& c,
                                                          const ItemAction& act) {
  auto v = s.vault(c.vault());
  if (!v.is_ok()) return v.status();
  if (Status done = act(**v, c, s.at); !done.is_ok()) return done;
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_delete_data(const OpScope& s,
                                                              const v1::VaultOpItem& c) {
  auto v = s.vault(c.vault());
  if (!v.is_ok()) return v.status();
  auto deleted = (*v)->delete_backup_data(c.vm(), s.at);
  if (!deleted.is_ok()) return deleted.status();
  if ((*v)->item(c.vm()) == nullptr) drop_points(s.set, c.vault(), c.vm(), std::nullopt);
  Applied applied;
  applied.deleted = *deleted;
  return applied;
}

Result<BackupDriver::Applied> BackupDriver::apply_expire(const OpScope& s,
                                                         const v1::VaultOpName& c) {
  const std::string& name = c.vault();
  auto v = s.vault(name);
  if (!v.is_ok()) return v.status();
  model::VaultExpiry e = (*v)->expire(s.at);
  for (const auto& x : e.expired) drop_points(s.set, name, x.vm, x.point.value());
  for (const auto& p : e.purged) {
    drop_points(s.set, name, p.vm, std::nullopt);
    if (s.set.region.empty()) {
      spdlog::info("backup: vault {}: soft-deleted backup data of {} ({} point(s)) purged", name,
                   p.vm, p.points);
    }
  }
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_delete_vm(const OpScope& s,
                                                            const v1::VaultOpVm& c) {
  const std::string& vm = c.vm();
  auto deleted = s.set.registry.delete_vm(vm, model::DeleteConfirmation::kConfirmed);
  if (!deleted.is_ok()) return deleted.status();
  // This region's hosted VM, or (from the paired region) the same VM as its standby copy.
  if (hosted(vm)) (s.set.region.empty() ? deleted_vms_ : deleted_in_peer_).insert(vm);
  Applied applied;
  applied.vm_deleted = *deleted;
  return applied;
}

void BackupDriver::drop_points(VaultSet& set, const std::string& vault, const std::string& vm,
                               std::optional<uint64_t> only) {
  auto it = set.points.find({vault, vm});
  if (it == set.points.end()) return;
  for (auto p = it->second.begin(); p != it->second.end();) {
    if (only && p->first != *only) {
      ++p;
      continue;
    }
    if (Status s = store_.delete_blob({set.region, p->second.blob}); !s.is_ok()) {
      spdlog::warn("backup: cannot delete the data of point {} of {}: {}", p->first, vm,
                   s.message());
    }
    p = it->second.erase(p);
  }
  if (it->second.empty()) set.points.erase(it);
}

Result<BackupDriver::Applied> BackupDriver::commit(v1::VaultOp op, std::optional<Time> at) {
  // Ops are applied in time order; a scheduled backup is recorded at its slot when the timer
  // woke a little late (it never runs before an op already applied).
  Time when = at.value_or(now());
  if (!local_ops_.empty()) when = std::max(when, from_nanos(local_ops_.back().at_nanos()));
  op.set_seq(next_seq_);
  op.set_at_nanos(to_nanos(when));
  catch_up_usage(when);
  auto r = apply(local_, op);
  if (!r.is_ok()) return r;
  if (Status s = store_.append_op("", op); !s.is_ok()) {
    // The models moved and the log did not: a restart would forget this change.
    fail_stop(fmt::format("backup: cannot log vault op {}: {}", op.seq(), s.to_string()));
  }
  local_.applied_seq = op.seq();
  record_usage(when);
  local_ops_.push_back(std::move(op));
  ++next_seq_;
  save_clock();
  ship_next();
  arm();
  return r;
}

// ---------------------------------------------------------------- vaults and policies

Result<v1::CreateVaultResponse> BackupDriver::create_vault(const v1::CreateVaultRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (!v1::StorageRedundancy_IsValid(req.redundancy())) {
    return invalid_argument("redundancy: " + std::to_string(req.redundancy()) +
                            " is not GRS, LRS or ZRS");
  }
  v1::VaultOp op;
  auto* c = op.mutable_create_vault();
  c->set_vault(req.vault());
  c->set_redundancy(req.redundancy());
  c->set_cross_region_restore(req.cross_region_restore());
  auto r = commit(std::move(op));
  if (!r.is_ok()) return r.status();
  v1::CreateVaultResponse resp;
  fill_vault(local_, *local_.registry.find(req.vault()), resp.mutable_vault());
  spdlog::info("backup: vault {} created ({}{})", req.vault(), resp.vault().redundancy(),
               req.cross_region_restore() ? ", cross-region restore" : "");
  return resp;
}

Status BackupDriver::delete_vault(const v1::DeleteVaultRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  v1::VaultOp op;
  op.mutable_delete_vault()->set_vault(req.vault());
  return commit(std::move(op)).status();
}

Status BackupDriver::create_policy(const v1::CreatePolicyRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("policy", req.policy()); !s.is_ok()) return s;
  v1::VaultOp op;
  auto* c = op.mutable_create_policy();
  c->set_vault(req.vault());
  c->set_policy(req.policy());
  *c->mutable_spec() = req.spec();
  return commit(std::move(op)).status();
}

Result<v1::ProtectResponse> BackupDriver::protect(const v1::ProtectRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("vm", req.vm()); !s.is_ok()) return s;
  auto facts = facts_of(req.vm(), 0, 0);
  if (!facts.is_ok()) return facts.status();
  v1::VaultOp op;
  auto* c = op.mutable_protect();
  c->set_vault(req.vault());
  c->set_policy(req.policy());
  *c->mutable_vm() = *facts;
  auto r = commit(std::move(op));
  if (!r.is_ok()) return r.status();
  v1::ProtectResponse resp;
  const model::BackupItem* item = local_.registry.find(req.vault())->item(req.vm());
  resp.set_next_backup(model::format_drill_time(item->next_backup_due()));
  spdlog::info("backup: vault {} protects {} with policy {}; next backup {}", req.vault(), req.vm(),
               req.policy(), resp.next_backup());
  return resp;
}

}  // namespace drsim::region
