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

void BackupDriver::restore(const v1::RestoreRequest& req, RestoreDone done) {
  if (Status s = check_serving(); !s.is_ok()) return done(s);
  model::RestoreKind kind;
  switch (req.kind()) {
    case v1::RESTORE_CREATE_VM:
      kind = model::RestoreKind::kCreateVm;
      break;
    case v1::RESTORE_DISKS:
      kind = model::RestoreKind::kRestoreDisks;
      break;
    case v1::RESTORE_REPLACE_EXISTING:
      kind = model::RestoreKind::kReplaceExisting;
      break;
    default:
      return done(invalid_argument("kind: give create-vm, restore-disks or replace-existing"));
  }
  const std::string& own = node_.options().name;
  VaultSet* set = &local_;
  auto location = model::RestoreLocation::kVaultRegion;
  if (req.cross_region()) {
    if (Status s = check_name("source_region", req.source_region()); !s.is_ok()) return done(s);
    if (req.source_region() == own) {
      return done(invalid_argument("source_region: " + own +
                                   " is this region; cross-region restore runs in the paired "
                                   "region of the vault"));
    }
    auto it = paired_.find(req.source_region());
    if (it == paired_.end()) {
      return done(failed_precondition("region " + own + " holds no copy of the vaults of " +
                                      req.source_region() +
                                      " (none created, or never reached this region)"));
    }
    set = &it->second;
    location = model::RestoreLocation::kPairedRegion;
  }
  const std::string vault_region = set->region.empty() ? own : set->region;
  const model::RecoveryServicesVault* vault = set->registry.find(req.vault());
  if (vault == nullptr) {
    return done(not_found("no vault named " + req.vault() + " in region " + vault_region));
  }
  uint64_t point = req.point();
  if (point == 0) {
    const model::BackupItem* item = vault->item(req.vm());
    if (item == nullptr) {
      return done(not_found("vault " + req.vault() + " has no backup item for VM " + req.vm()));
    }
    if (item->points().empty()) {
      return done(failed_precondition("VM " + req.vm() + " has no recovery point yet"));
    }
    point = item->points().back().id.value();
  }
  if (kind == model::RestoreKind::kCreateVm) {
    if (Status s = check_name("target_vm", req.target_vm()); !s.is_ok()) return done(s);
  }
  auto plan = model::plan_restore(*vault,
                                  {.vm = req.vm(),
                                   .point = model::BackupPointId(point),
                                   .kind = kind,
                                   .location = location,
                                   .target_vm = req.target_vm()},
                                  now());
  if (!plan.is_ok()) return done(plan.status());
  auto data_of = set->points.find({req.vault(), req.vm()});
  if (data_of == set->points.end() || !data_of->second.contains(point)) {
    return done(internal_error("recovery point " + std::to_string(point) + " of " + req.vm() +
                               " has no data in region " + own));
  }
  const PointData data = data_of->second.at(point);
  const storage::BlobRef blob{set->region, data.blob};
  v1::RestoreResponse resp;
  resp.set_region(plan->region);
  resp.set_source(restore_source_name(plan->source));
  resp.set_consistency(model::consistency_name(plan->consistency));
  resp.set_point(point);
  resp.set_source_seq(data.source_seq);
  for (const auto& d : plan->disks) resp.add_disks(d.name());

  if (kind == model::RestoreKind::kReplaceExisting) {
    if (!hosted(req.vm())) {
      return done(failed_precondition("VM " + req.vm() + " is not hosted by region " + own));
    }
    return replace_existing(req.vm(), blob, std::move(resp), std::move(done));
  }
  if (kind == model::RestoreKind::kCreateVm) {
    auto existing = store_.get_record(kVmRecord, req.target_vm());
    if (!existing.is_ok()) return done(existing.status());
    if (hosted(req.target_vm()) || existing->has_value()) {
      return done(Status(StatusCode::kAlreadyExists, "target_vm: a VM named " + req.target_vm() +
                                                         " exists in region " + own +
                                                         "; name the new VM differently"));
    }
  }
  for (const auto& d : plan->disks) {
    auto exists = store_.disk_exists(d.name());
    if (!exists.is_ok()) return done(exists.status());
    if (*exists) {
      return done(
          Status(StatusCode::kAlreadyExists, "disk " + d.name() + " exists in region " + own +
                                                 " (restored before); read it with ReadDisk"));
    }
  }
  uint64_t bytes = 0;
  for (const auto& d : plan->disks) {
    auto keys = copy_blob_to_disk(blob, d.name(), &bytes);
    if (!keys.is_ok()) return done(keys.status());
    resp.set_keys(*keys);
  }
  resp.set_bytes(bytes);
  if (plan->new_vm) {
    v1::VmInfo info;
    info.set_name(plan->new_vm->name);
    info.set_hosted(false);
    info.set_agent_installed(plan->new_vm->agent == model::GuestAgent::kInstalled);
    info.set_power(model::power_state_name(plan->new_vm->power));
    for (const auto& d : plan->new_vm->disks) info.add_disks(d.name());
    if (Status s = store_.put_record(kVmRecord, info.name(), info.SerializeAsString());
        !s.is_ok()) {
      return done(s);
    }
    resp.set_new_vm(info.name());
  }
  spdlog::info("backup: restored point {} of {} ({}, from the {}): {} keys, {} bytes", point,
               req.vm(), model::restore_kind_name(kind), resp.source(), resp.keys(), resp.bytes());
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
