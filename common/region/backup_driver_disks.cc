// BackupDriver, part two: the disk ops (snapshots, images, disks made from them) as vault ops
// (logged, replayed at start), the usage they bill, and copying a disk's keys into blobs of the
// BackupStore and back. The verbs that make them, and the cost report, are in
// backup_driver_snapshots.cc. The cost meter is fed the usage of every billed item after each
// op, so a restart rebuilds it exactly.
#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/region/backup_driver_parts.h"
#include "common/region/price_list_proto.h"
#include "common/region/region_options.h"

namespace drsim::region {

using namespace backup_driver_parts;

namespace {

model::DiskRole role_of(const v1::DiskContent& c) {
  return c.os() ? model::DiskRole::kOs : model::DiskRole::kData;
}

model::ManagedDisk disk_of(const v1::DiskContent& c) {
  return model::ManagedDisk(c.disk(), role_of(c), c.size_bytes(), c.used_bytes(), c.written_mark());
}

model::ChargeKind backup_storage_kind(model::StorageRedundancy r) {
  switch (r) {
    case model::StorageRedundancy::kLocallyRedundant:
      return model::ChargeKind::kBackupStorageLrs;
    case model::StorageRedundancy::kZoneRedundant:
      return model::ChargeKind::kBackupStorageZrs;
    default:
      return model::ChargeKind::kBackupStorageGrs;
  }
}

}  // namespace

// ---------------------------------------------------------------- ops

Result<BackupDriver::Applied> BackupDriver::apply_disk_op(const v1::VaultOp& op) {
  const Time at = from_nanos(op.at_nanos());
  switch (op.kind_case()) {
    case v1::VaultOp::kCreateSnapshot:
      return apply_create_snapshot(op.create_snapshot(), at);
    case v1::VaultOp::kDeleteSnapshot:
      return apply_delete_snapshot(op.delete_snapshot());
    case v1::VaultOp::kCaptureImage:
      return apply_capture_image(op.capture_image(), at);
    default:
      break;
  }
  return invalid_argument("vault op " + std::to_string(op.seq()) + " is not a disk op");
}

Result<BackupDriver::Applied> BackupDriver::apply_create_snapshot(const v1::VaultOpSnapshot& c,
                                                                  Time at) {
  if (snapshots_.contains(c.snapshot())) {
    return Status(StatusCode::kAlreadyExists,
                  "snapshot: a snapshot named " + c.snapshot() + " exists");
  }
  const model::ManagedDisk disk = disk_of(c.disk());
  SnapshotData data{.snap = {}, .vm = c.vm(), .content = c.disk(), .source_seq = c.source_seq()};
  if (c.incremental()) {
    auto chain = chains_.try_emplace(c.disk().disk(), c.disk().disk()).first;
    auto snap = chain->second.take(disk, c.snapshot(), at);
    if (!snap.is_ok()) return snap.status();
    data.snap = *snap;
  } else {
    data.snap = model::take_full_snapshot(disk, c.snapshot(), at);
  }
  snapshots_.emplace(c.snapshot(), std::move(data));
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_delete_snapshot(
    const v1::VaultOpDeleteSnapshot& c) {
  auto it = snapshots_.find(c.snapshot());
  if (it == snapshots_.end()) return not_found("snapshot: no snapshot named " + c.snapshot());
  if (it->second.snap.kind == model::SnapshotKind::kIncremental) {
    auto chain = chains_.find(it->second.content.disk());
    if (Status s = chain->second.remove(c.snapshot()); !s.is_ok()) return s;
    if (chain->second.snapshots().empty()) chains_.erase(chain);
  }
  (void)store_.delete_blob({"", it->second.content.blob()});
  snapshots_.erase(it);
  if (!c.merged_into().empty()) {
    auto next = snapshots_.find(c.merged_into());
    if (next == snapshots_.end()) {
      return not_found("merged_into: no snapshot named " + c.merged_into());
    }
    (void)store_.delete_blob({"", next->second.content.blob()});
    next->second.content.set_blob(c.merged_blob());
    next->second.content.set_keys(c.merged_keys());
    next->second.content.set_stored_bytes(c.merged_stored_bytes());
  }
  return Applied{};
}

Result<BackupDriver::Applied> BackupDriver::apply_capture_image(const v1::VaultOpImage& c,
                                                                Time at) {
  if (images_.contains(c.image())) {
    return Status(StatusCode::kAlreadyExists, "image: an image named " + c.image() + " exists");
  }
  model::VirtualMachine vm{
      .name = c.vm(),
      .region = node_.options().name,
      .agent = c.agent_missing() ? model::GuestAgent::kMissing : model::GuestAgent::kInstalled,
      .power = model::PowerState::kStopped,
      .disks = {}};
  for (const auto& d : c.disks()) vm.disks.push_back(disk_of(d));
  auto image = model::capture_image(vm, c.image(), at);
  if (!image.is_ok()) return image.status();
  images_.emplace(c.image(),
                  ImageData{.image = *image, .disks = {c.disks().begin(), c.disks().end()}});
  generalized_[c.vm()] = c.image();
  // The source VM's record says so too (what vm list shows); rewriting it on replay is a
  // no-op.
  auto info = vm_info(c.vm());
  if (info.is_ok()) {
    info->set_power(model::power_state_name(vm.power));
    if (Status s = store_.put_record(kVmRecord, c.vm(), info->SerializeAsString()); !s.is_ok()) {
      return s;
    }
  }
  return Applied{};
}

std::vector<model::BilledUsage> BackupDriver::usage_at(Time at) const {
  std::vector<model::BilledUsage> usage;
  for (const auto& [name, s] : snapshots_) {
    if (s.snap.kind == model::SnapshotKind::kFull) {
      usage.push_back({name, model::ChargeKind::kSnapshot, s.snap.content.used_bytes});
    }
  }
  for (const auto& [disk, chain] : chains_) {
    const auto each = chain.billed_bytes_each();
    for (size_t i = 0; i < each.size(); ++i) {
      usage.push_back({chain.snapshots()[i].name, model::ChargeKind::kSnapshot, each[i]});
    }
  }
  for (const auto& [name, i] : images_) {
    usage.push_back({name, model::ChargeKind::kImage, i.image.billed_bytes()});
  }
  for (const auto* v : local_.registry.list(node_.options().name)) {
    for (const auto* item : v->items()) {
      const std::string id = v->name() + "/" + item->vm();
      if (item->vault_stored_bytes() > 0) {
        usage.push_back({id, backup_storage_kind(v->redundancy()), item->vault_stored_bytes()});
      }
      if (const uint64_t snap = item->snapshot_stored_bytes(at); snap > 0) {
        usage.push_back({id + "/instant-restore", model::ChargeKind::kSnapshot, snap});
      }
      // The protected-instance fee runs while the vault keeps the VM's data, soft delete
      // excepted; it is sized by the VM's used size at its latest point.
      if (item->state() != model::BackupProtectionState::kSoftDeleted && !item->points().empty()) {
        usage.push_back(
            {id, model::ChargeKind::kProtectedInstance, item->points().back().used_bytes()});
      }
    }
  }
  return usage;
}

std::vector<Time> BackupDriver::usage_changes(Time after, Time until) const {
  // Between ops the only usage that changes is an instant-restore snapshot coming to its end.
  std::set<Time> at;
  for (const auto* v : local_.registry.list(node_.options().name)) {
    for (const auto* item : v->items()) {
      for (const auto& p : item->points()) {
        if (p.snapshot_until > after && p.snapshot_until < until) at.insert(p.snapshot_until);
      }
    }
  }
  return {at.begin(), at.end()};
}

void BackupDriver::catch_up_usage(Time at) {
  for (Time t : usage_changes(last_usage_at_, at)) record_usage(t);
}

void BackupDriver::record_usage(Time at) {
  if (Status s = meter_.record(usage_at(at), at); !s.is_ok()) {
    spdlog::warn("backup: cost meter: {}", s.message());
  }
  last_usage_at_ = std::max(last_usage_at_, at);
}

// ---------------------------------------------------------------- disks

Result<std::pair<std::string, model::DiskRole>> BackupDriver::disk_owner(const std::string& disk) {
  for (const auto& w : node_.options().workloads) {
    if (disk == w.name + "-osdisk") return std::pair{w.name, model::DiskRole::kOs};
  }
  std::pair<std::string, model::DiskRole> owner{"", model::DiskRole::kData};
  Status bad;
  Status s = store_.for_each_record(kVmRecord, [&](const std::string& vm, const std::string& v) {
    v1::VmInfo info;
    if (!info.ParseFromString(v)) {
      bad = Status(StatusCode::kDataLoss, "settings of VM " + vm + " are corrupt");
      return;
    }
    for (int i = 0; i < info.disks_size(); ++i) {
      if (info.disks(i) == disk) {
        owner = {vm, i == 0 ? model::DiskRole::kOs : model::DiskRole::kData};
      }
    }
  });
  if (!s.is_ok()) return s;
  if (!bad.is_ok()) return bad;
  // A hosted VM's OS disk is its live keys; the others live in the backup store.
  if (!owner.first.empty() && hosted(owner.first) && owner.second == model::DiskRole::kOs) {
    return owner;
  }
  auto exists = store_.disk_exists(disk);
  if (!exists.is_ok()) return exists.status();
  if (!*exists) {
    return not_found("disk: no disk named " + disk + " in region " + node_.options().name +
                     " (a hosted VM's <vm>-osdisk, or one a restore, image or snapshot created)");
  }
  return owner;
}

Result<BackupDriver::DiskScan> BackupDriver::scan_disk(const std::string& disk,
                                                       const std::string& workload,
                                                       const storage::RegionStore::Snapshot* snap,
                                                       const DiskKeys* base) {
  DiskScan out;
  std::set<std::string> live;
  std::string start;
  for (;;) {
    Result<storage::KeyPage> page = [&]() -> Result<storage::KeyPage> {
      if (workload.empty()) return store_.read_disk(disk, start, kCopyPageKeys);
      auto p = region_store_.scan(workload, start, kCopyPageKeys, kCopyPageBytes, *snap);
      if (!p.is_ok()) return p.status();
      return storage::KeyPage{std::move(p->items), std::move(p->next_key)};
    }();
    if (!page.is_ok()) return page.status();
    for (auto& [k, v] : page->items) {
      out.used += k.size() + v.size();
      ++out.keys;
      if (base != nullptr) {
        live.insert(k);
        auto before = base->find(k);
        if (before != base->end() && before->second == v) continue;  // unchanged
        out.changed += k.size() + v.size();
      }
      out.entries[k] = kPut + v;
    }
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  if (base != nullptr) {
    for (const auto& [k, v] : *base) {
      if (!live.contains(k)) out.entries[k] = std::string(1, kTombstone);
    }
  }
  return out;
}

Result<BackupDriver::CopiedDisk> BackupDriver::copy_disk(const std::string& disk,
                                                         model::DiskRole role, const DiskKeys* base,
                                                         uint64_t base_written_mark) {
  std::string workload;
  for (const auto& w : node_.options().workloads) {
    if (disk == w.name + "-osdisk") workload = w.name;
  }
  CopiedDisk out;
  // A hosted OS disk is read from one RocksDB snapshot: the copy is the workload exactly at
  // one seq, however hard clients write meanwhile (crash-consistent across its keys).
  std::unique_ptr<storage::RegionStore::Snapshot> snap;
  if (!workload.empty()) {
    snap = region_store_.snapshot();
    auto cursor = region_store_.load_cursor(workload, *snap);
    if (!cursor.is_ok()) return cursor.status();
    out.source_seq = cursor->seq.value();
  }
  auto scan = scan_disk(disk, workload, snap.get(), base);
  if (!scan.is_ok()) return scan.status();
  const uint64_t size = options_.disk_size_bytes;
  if (scan->used > size) {
    return out_of_range("disk " + disk + " holds " + std::to_string(scan->used) +
                        " bytes, more than its provisioned " + std::to_string(size));
  }
  auto blob = store_.next_blob_id();
  if (!blob.is_ok()) return blob.status();
  uint64_t stored = 0;
  auto written = write_blob(*blob, scan->entries, &stored);
  if (!written.is_ok()) return written.status();
  out.content.set_disk(disk);
  out.content.set_os(role == model::DiskRole::kOs);
  out.content.set_size_bytes(size);
  out.content.set_used_bytes(scan->used);
  // Every changed byte counts as written since the base (model::changed_bytes); a copy with no
  // base has written what it holds.
  out.content.set_written_mark(base != nullptr ? base_written_mark + scan->changed : scan->used);
  out.content.set_blob(*blob);
  out.content.set_keys(*written);
  out.content.set_stored_bytes(stored);
  out.content.set_disk_keys(scan->keys);
  return out;
}

Result<uint64_t> BackupDriver::write_blob(uint64_t blob, const DiskKeys& entries,
                                          uint64_t* stored_bytes) {
  storage::KeyValues page;
  uint64_t n = 0;
  for (const auto& [k, v] : entries) {
    *stored_bytes += k.size() + v.size() - 1;  // the marker byte is bookkeeping
    page.emplace_back(k, v);
    ++n;
    if (page.size() == kCopyPageKeys) {
      if (Status s = store_.put_blob({"", blob}, page); !s.is_ok()) return s;
      page.clear();
    }
  }
  if (!page.empty()) {
    if (Status s = store_.put_blob({"", blob}, page); !s.is_ok()) return s;
  }
  return n;
}

Result<BackupDriver::DiskKeys> BackupDriver::blob_entries(uint64_t blob) {
  DiskKeys out;
  std::string start;
  for (;;) {
    auto page = store_.read_blob({"", blob}, start, kCopyPageKeys);
    if (!page.is_ok()) return page.status();
    for (auto& [k, v] : page->items) {
      if (v.empty() || (v[0] != kPut && v[0] != kTombstone)) {
        return Status(StatusCode::kDataLoss,
                      "snapshot data of blob " + std::to_string(blob) + " is corrupt at key " + k);
      }
      out.emplace(std::move(k), std::move(v));
    }
    if (page->next_key.empty()) return out;
    start = std::move(page->next_key);
  }
}

Result<BackupDriver::DiskKeys> BackupDriver::snapshot_keys(const std::string& snapshot) {
  auto it = snapshots_.find(snapshot);
  if (it == snapshots_.end()) return not_found("snapshot: no snapshot named " + snapshot);
  // A full snapshot is one blob; an incremental one is its chain applied oldest first, up to
  // and including itself (each holds what changed since the one before).
  std::vector<uint64_t> blobs;
  if (it->second.snap.kind == model::SnapshotKind::kFull) {
    blobs.push_back(it->second.content.blob());
  } else {
    for (const auto& s : chains_.at(it->second.content.disk()).snapshots()) {
      blobs.push_back(snapshots_.at(s.name).content.blob());
      if (s.name == snapshot) break;
    }
  }
  DiskKeys keys;
  for (uint64_t blob : blobs) {
    auto entries = blob_entries(blob);
    if (!entries.is_ok()) return entries.status();
    for (auto& [k, v] : *entries) {
      if (v[0] == kTombstone) {
        keys.erase(k);
      } else {
        keys[k] = v.substr(1);
      }
    }
  }
  return keys;
}

Status BackupDriver::write_new_disk(const std::string& disk, const DiskKeys& keys,
                                    uint64_t* bytes) {
  storage::KeyValues page;
  auto flush = [&] {
    Status s = store_.put_disk(disk, page);
    page.clear();
    return s;
  };
  for (const auto& [k, v] : keys) {
    *bytes += k.size() + v.size();
    page.emplace_back(k, v);
    if (page.size() == kCopyPageKeys) {
      if (Status s = flush(); !s.is_ok()) return s;
    }
  }
  return page.empty() ? Status::ok() : flush();
}

Status BackupDriver::check_new_vm(const std::string& field, const std::string& vm) {
  if (Status s = check_name(field.c_str(), vm); !s.is_ok()) return s;
  auto existing = store_.get_record(kVmRecord, vm);
  if (!existing.is_ok()) return existing.status();
  if (hosted(vm) || existing->has_value()) {
    return Status(StatusCode::kAlreadyExists, field + ": a VM named " + vm + " exists in region " +
                                                  node_.options().name +
                                                  "; name the new VM differently");
  }
  return Status::ok();
}

Status BackupDriver::check_new_disk(const std::string& field, const std::string& disk) {
  if (Status s = check_name(field.c_str(), disk); !s.is_ok()) return s;
  auto owner = disk_owner(disk);
  if (owner.is_ok()) {
    return Status(StatusCode::kAlreadyExists,
                  field + ": a disk named " + disk + " exists in region " + node_.options().name);
  }
  if (owner.status().code() != StatusCode::kNotFound) return owner.status();
  return Status::ok();
}

Status BackupDriver::admit_write(const std::string& vm) const {
  if (deleted_vms_.contains(vm) || deleted_in_peer_.contains(vm)) {
    return failed_precondition("VM " + vm + " was deleted" +
                               (deleted_vms_.contains(vm) ? "" : " in the paired region") +
                               " and takes no writes; restore it from a recovery point as a new "
                               "VM (drsim backup restore VAULT " + vm + " --as new-vm)");
  }
  if (auto peer = generalized_in_peer_.find(vm); peer != generalized_in_peer_.end()) {
    return failed_precondition("VM " + vm + " is generalized (captured into image " + peer->second +
                               ") and cannot start or take writes again; create a VM from the "
                               "image in that region");
  }
  auto it = generalized_.find(vm);
  if (it == generalized_.end()) return Status::ok();
  return failed_precondition("VM " + vm + " is generalized (captured into image " + it->second +
                             ") and cannot start or take writes again; create a VM from the "
                             "image: drsim image create-vm " +
                             it->second + " NEW-VM");
}

}  // namespace drsim::region
