// BackupDriver's restores: from an instant-restore snapshot, the vault or the paired region's
// copy, to the original VM, a new VM or a disk.
#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/region/backup_driver_parts.h"

namespace drsim::region {

namespace v1 = drsim::v1;
using namespace backup_driver_parts;

// ---------------------------------------------------------------- restore

Result<uint64_t> BackupDriver::copy_blob_to_disk(const storage::BlobRef& blob,
                                                 const std::string& disk, uint64_t* bytes) {
  uint64_t keys = 0;
  std::string start;
  for (;;) {
    auto page = store_.read_blob(blob, start, kCopyPageKeys);
    if (!page.is_ok()) return page.status();
    for (const auto& [k, v] : page->items) *bytes += k.size() + v.size();
    keys += page->items.size();
    if (Status s = store_.put_disk(disk, page->items); !s.is_ok()) return s;
    if (page->next_key.empty()) return keys;
    start = std::move(page->next_key);
  }
}

namespace {
Result<model::RestoreKind> restore_kind(v1::RestoreKind kind) {
  switch (kind) {
    case v1::RESTORE_CREATE_VM: return model::RestoreKind::kCreateVm;
    case v1::RESTORE_DISKS: return model::RestoreKind::kRestoreDisks;
    case v1::RESTORE_REPLACE_EXISTING: return model::RestoreKind::kReplaceExisting;
    default: return invalid_argument("kind: give create-vm, restore-disks or replace-existing");
  }
}
}  // namespace

Result<BackupDriver::RestoreFrom> BackupDriver::restore_from(const v1::RestoreRequest& req) {
  const std::string& own = node_.options().name;
  if (!req.cross_region()) return RestoreFrom{&local_, model::RestoreLocation::kVaultRegion};
  if (Status s = check_name("source_region", req.source_region()); !s.is_ok()) return s;
  if (req.source_region() == own) {
    return invalid_argument("source_region: " + own +
                            " is this region; cross-region restore runs in the paired region "
                            "of the vault");
  }
  auto it = paired_.find(req.source_region());
  if (it == paired_.end()) {
    return failed_precondition("region " + own + " holds no copy of the vaults of " +
                               req.source_region() +
                               " (none created, or never reached this region)");
  }
  return RestoreFrom{&it->second, model::RestoreLocation::kPairedRegion};
}

// The point asked for, or the VM's newest.
Result<uint64_t> BackupDriver::point_to_restore(const model::RecoveryServicesVault& vault,
                                                const v1::RestoreRequest& req) {
  if (req.point() != 0) return req.point();
  const model::BackupItem* item = vault.item(req.vm());
  if (item == nullptr) {
    return not_found("vault " + req.vault() + " has no backup item for VM " + req.vm());
  }
  if (item->points().empty()) {
    return failed_precondition("VM " + req.vm() + " has no recovery point yet");
  }
  return item->points().back().id.value();
}

// A new VM's name and the disks a restore creates must not exist yet.
Status BackupDriver::check_restore_targets(model::RestoreKind kind, const v1::RestoreRequest& req,
                                           const model::RestorePlan& plan) {
  const std::string& own = node_.options().name;
  if (kind == model::RestoreKind::kCreateVm) {
    auto existing = store_.get_record(kVmRecord, req.target_vm());
    if (!existing.is_ok()) return existing.status();
    if (hosted(req.target_vm()) || existing->has_value()) {
      return Status(StatusCode::kAlreadyExists, "target_vm: a VM named " + req.target_vm() +
                                                    " exists in region " + own +
                                                    "; name the new VM differently");
    }
  }
  for (const auto& d : plan.disks) {
    auto exists = store_.disk_exists(d.name());
    if (!exists.is_ok()) return exists.status();
    if (*exists) {
      return Status(StatusCode::kAlreadyExists, "disk " + d.name() + " exists in region " + own +
                                                    " (restored before); read it with ReadDisk");
    }
  }
  return Status::ok();
}

// The plan's disks filled from `blob`, and its new VM recorded; keys and bytes into `resp`.
Status BackupDriver::write_restored(const model::RestorePlan& plan, const storage::BlobRef& blob,
                                    v1::RestoreResponse& resp) {
  uint64_t bytes = 0;
  for (const auto& d : plan.disks) {
    auto keys = copy_blob_to_disk(blob, d.name(), &bytes);
    if (!keys.is_ok()) return keys.status();
    resp.set_keys(*keys);
  }
  resp.set_bytes(bytes);
  if (!plan.new_vm) return Status::ok();
  v1::VmInfo info;
  info.set_name(plan.new_vm->name);
  info.set_hosted(false);
  info.set_agent_installed(plan.new_vm->agent == model::GuestAgent::kInstalled);
  info.set_power(model::power_state_name(plan.new_vm->power));
  for (const auto& d : plan.new_vm->disks) info.add_disks(d.name());
  if (Status s = store_.put_record(kVmRecord, info.name(), info.SerializeAsString()); !s.is_ok()) {
    return s;
  }
  resp.set_new_vm(info.name());
  return Status::ok();
}

void BackupDriver::restore(const v1::RestoreRequest& req, RestoreDone done) {
  if (Status s = check_serving(); !s.is_ok()) return done(s);
  auto kind = restore_kind(req.kind());
  if (!kind.is_ok()) return done(kind.status());
  const std::string& own = node_.options().name;
  auto from = restore_from(req);
  if (!from.is_ok()) return done(from.status());
  const VaultSet& set = *from->set;
  const model::RecoveryServicesVault* vault = set.registry.find(req.vault());
  if (vault == nullptr) {
    return done(not_found("no vault named " + req.vault() + " in region " +
                          (set.region.empty() ? own : set.region)));
  }
  auto point = point_to_restore(*vault, req);
  if (!point.is_ok()) return done(point.status());
  if (*kind == model::RestoreKind::kCreateVm) {
    if (Status s = check_name("target_vm", req.target_vm()); !s.is_ok()) return done(s);
  }
  auto plan = model::plan_restore(*vault,
                                  {.vm = req.vm(),
                                   .point = model::BackupPointId(*point),
                                   .kind = *kind,
                                   .location = from->location,
                                   .target_vm = req.target_vm()},
                                  now());
  if (!plan.is_ok()) return done(plan.status());
  auto data_of = set.points.find({req.vault(), req.vm()});
  if (data_of == set.points.end() || !data_of->second.contains(*point)) {
    return done(internal_error("recovery point " + std::to_string(*point) + " of " + req.vm() +
                               " has no data in region " + own));
  }
  const PointData data = data_of->second.at(*point);
  const storage::BlobRef blob{set.region, data.blob};
  v1::RestoreResponse resp;
  resp.set_region(plan->region);
  resp.set_source(restore_source_name(plan->source));
  resp.set_consistency(model::consistency_name(plan->consistency));
  resp.set_point(*point);
  resp.set_source_seq(data.source_seq);
  for (const auto& d : plan->disks) resp.add_disks(d.name());
  if (*kind == model::RestoreKind::kReplaceExisting) {
    if (!hosted(req.vm())) {
      return done(failed_precondition("VM " + req.vm() + " is not hosted by region " + own));
    }
    return replace_existing(req.vm(), blob, std::move(resp), std::move(done));
  }
  if (Status s = check_restore_targets(*kind, req, *plan); !s.is_ok()) return done(s);
  if (Status s = write_restored(*plan, blob, resp); !s.is_ok()) return done(s);
  spdlog::info("backup: restored point {} of {} ({}, from the {}): {} keys, {} bytes", *point,
               req.vm(), model::restore_kind_name(*kind), resp.source(), resp.keys(),
               resp.bytes());
  done(std::move(resp));
}

void BackupDriver::replace_existing(const std::string& vm, const storage::BlobRef& blob,
                                    v1::RestoreResponse resp, RestoreDone done) {
  // The point's keys and the live ones; the difference is written through the region's write
  // path, so the restore is sequenced and replicated like any client write.
  std::map<std::string, std::string> want;
  std::string start;
  for (;;) {
    auto page = store_.read_blob(blob, start, kCopyPageKeys);
    if (!page.is_ok()) return done(page.status());
    for (auto& [k, v] : page->items) want.emplace(std::move(k), std::move(v));
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  uint64_t bytes = 0;
  for (const auto& [k, v] : want) bytes += k.size() + v.size();
  resp.set_keys(want.size());
  resp.set_bytes(bytes);
  std::vector<v1::WriteOp> ops;
  std::set<std::string> live_keys;
  start.clear();
  for (;;) {
    auto page = region_store_.scan(vm, start, kCopyPageKeys);
    if (!page.is_ok()) return done(page.status());
    for (const auto& [k, v] : page->items) {
      live_keys.insert(k);
      auto it = want.find(k);
      if (it == want.end()) {
        auto* del = ops.emplace_back().mutable_delete_();
        del->set_workload(vm);
        del->set_key(k);
      } else if (it->second != v) {
        auto* put = ops.emplace_back().mutable_put();
        put->set_workload(vm);
        put->set_key(k);
        put->set_value(it->second);
      }
    }
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  for (const auto& [k, v] : want) {
    if (live_keys.contains(k)) continue;
    auto* put = ops.emplace_back().mutable_put();
    put->set_workload(vm);
    put->set_key(k);
    put->set_value(v);
  }
  auto job = std::make_shared<ReplaceJob>();
  job->ops = std::move(ops);
  job->resp = std::move(resp);
  job->done = std::move(done);
  job->vm = vm;
  ReplaceJob::next(node_, job);
}

// Writes the changes of a replace-existing restore in batches, one after the other; the
// pending write's callback keeps the job alive.
void BackupDriver::ReplaceJob::next(RegionNode& node, const std::shared_ptr<ReplaceJob>& job) {
  if (job->written == job->ops.size()) {
    spdlog::info("backup: replaced the state of {} with point {}: {} change(s)", job->vm,
                 job->resp.point(), job->ops.size());
    job->done(std::move(job->resp));
    return;
  }
  const size_t end = std::min(job->ops.size(), job->written + kReplaceBatchOps);
  std::vector<v1::WriteOp> batch(job->ops.begin() + job->written, job->ops.begin() + end);
  node.write(std::move(batch), [&node, job, end](WriteOutcome out) {
    if (!out.status.is_ok()) {
      job->done(Status(out.status.code(), "replace existing of " + job->vm + " stopped after " +
                                              std::to_string(job->written) + " of " +
                                              std::to_string(job->ops.size()) +
                                              " changes: " + out.status.message()));
      return;
    }
    job->written = end;
    next(node, job);
  });
}

}  // namespace drsim::region
