// BackupDriver, part two: managed-disk snapshots (full and incremental), images captured from
// a VM, and the cost report. Snapshots and images are vault ops like backups (logged, replayed
// at start) and hold real copies of a disk's keys in blobs of the BackupStore; the cost meter
// is fed the usage of every billed item after each op, so a restart rebuilds it exactly.
#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/region/price_list_proto.h"
#include "common/region/region_options.h"

namespace drsim::region {

namespace v1 = drsim::v1;

namespace {

constexpr size_t kPageKeys = 1000;
constexpr size_t kPageBytes = 1 << 20;
// A snapshot blob entry: a key's value, or that the key was deleted since the previous
// snapshot of the chain.
constexpr char kPut = '\x01';
constexpr char kTombstone = '\x00';
constexpr char kVmRecord[] = "vm";

Time from_nanos(int64_t n) { return Time(Duration(n)); }
int64_t to_nanos(Time t) { return t.time_since_epoch().count(); }

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
  Applied applied;
  switch (op.kind_case()) {
    case v1::VaultOp::kCreateSnapshot: {
      const auto& c = op.create_snapshot();
      if (snapshots_.contains(c.snapshot())) {
        return Status(StatusCode::kAlreadyExists,
                      "snapshot: a snapshot named " + c.snapshot() + " exists");
      }
      const model::ManagedDisk disk = disk_of(c.disk());
      SnapshotData data{
          .snap = {}, .vm = c.vm(), .content = c.disk(), .source_seq = c.source_seq()};
      if (c.incremental()) {
        auto chain = chains_.try_emplace(c.disk().disk(), c.disk().disk()).first;
        auto snap = chain->second.take(disk, c.snapshot(), at);
        if (!snap.is_ok()) return snap.status();
        data.snap = *snap;
      } else {
        data.snap = model::take_full_snapshot(disk, c.snapshot(), at);
      }
      snapshots_.emplace(c.snapshot(), std::move(data));
      return applied;
    }
    case v1::VaultOp::kDeleteSnapshot: {
      const auto& c = op.delete_snapshot();
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
      return applied;
    }
    case v1::VaultOp::kCaptureImage: {
      const auto& c = op.capture_image();
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
        if (Status s = store_.put_record(kVmRecord, c.vm(), info->SerializeAsString());
            !s.is_ok()) {
          return s;
        }
      }
      return applied;
    }
    default:
      break;
  }
  return invalid_argument("vault op " + std::to_string(op.seq()) + " is not a disk op");
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
  DiskKeys entries;
  std::set<std::string> live;
  uint64_t used = 0, changed = 0, keys = 0;
  std::string start;
  for (;;) {
    Result<storage::KeyPage> page = [&]() -> Result<storage::KeyPage> {
      if (workload.empty()) return store_.read_disk(disk, start, kPageKeys);
      auto p = region_store_.scan(workload, start, kPageKeys, kPageBytes, *snap);
      if (!p.is_ok()) return p.status();
      return storage::KeyPage{std::move(p->items), std::move(p->next_key)};
    }();
    if (!page.is_ok()) return page.status();
    for (auto& [k, v] : page->items) {
      used += k.size() + v.size();
      ++keys;
      if (base != nullptr) {
        live.insert(k);
        auto before = base->find(k);
        if (before != base->end() && before->second == v) continue;  // unchanged
        changed += k.size() + v.size();
      }
      entries[k] = kPut + v;
    }
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  if (base != nullptr) {
    for (const auto& [k, v] : *base) {
      if (!live.contains(k)) entries[k] = std::string(1, kTombstone);
    }
  }
  const uint64_t size = options_.disk_size_bytes;
  if (used > size) {
    return out_of_range("disk " + disk + " holds " + std::to_string(used) +
                        " bytes, more than its provisioned " + std::to_string(size));
  }
  auto blob = store_.next_blob_id();
  if (!blob.is_ok()) return blob.status();
  uint64_t stored = 0;
  auto written = write_blob(*blob, entries, &stored);
  if (!written.is_ok()) return written.status();
  out.content.set_disk(disk);
  out.content.set_os(role == model::DiskRole::kOs);
  out.content.set_size_bytes(size);
  out.content.set_used_bytes(used);
  // Every changed byte counts as written since the base (model::changed_bytes); a copy with no
  // base has written what it holds.
  out.content.set_written_mark(base != nullptr ? base_written_mark + changed : used);
  out.content.set_blob(*blob);
  out.content.set_keys(*written);
  out.content.set_stored_bytes(stored);
  out.content.set_disk_keys(keys);
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
    if (page.size() == kPageKeys) {
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
    auto page = store_.read_blob({"", blob}, start, kPageKeys);
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
    if (page.size() == kPageKeys) {
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

// ---------------------------------------------------------------- snapshots

void BackupDriver::fill_snapshot(const SnapshotData& s, v1::SnapshotInfo* out) const {
  out->set_name(s.snap.name);
  out->set_disk(s.content.disk());
  out->set_vm(s.vm);
  out->set_kind(s.snap.kind == model::SnapshotKind::kFull ? "full" : "incremental");
  out->set_created(model::format_drill_time(s.snap.created));
  out->set_created_nanos(to_nanos(s.snap.created));
  out->set_size_bytes(s.content.size_bytes());
  out->set_used_bytes(s.content.used_bytes());
  out->set_stored_bytes(s.content.stored_bytes());
  out->set_billed_bytes(s.snap.content.used_bytes);
  out->set_source_seq(s.source_seq);
  out->set_keys(s.content.disk_keys());
  if (s.snap.kind == model::SnapshotKind::kIncremental) {
    const auto& chain = chains_.at(s.content.disk());
    const auto each = chain.billed_bytes_each();
    for (size_t i = 0; i < each.size(); ++i) {
      if (chain.snapshots()[i].name != s.snap.name) continue;
      out->set_billed_bytes(each[i]);
      if (i > 0) out->set_base(chain.snapshots()[i - 1].name);
    }
  }
}

Result<v1::CreateSnapshotResponse> BackupDriver::create_snapshot(
    const v1::CreateSnapshotRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("snapshot", req.snapshot()); !s.is_ok()) return s;
  if (req.disk().empty()) return invalid_argument("disk: required");
  if (snapshots_.contains(req.snapshot())) {
    return Status(StatusCode::kAlreadyExists, "snapshot: a snapshot named " + req.snapshot() +
                                                  " exists; name it differently or delete it");
  }
  auto owner = disk_owner(req.disk());
  if (!owner.is_ok()) return owner.status();
  // An incremental snapshot stores what changed since the newest one of the disk's chain.
  std::optional<DiskKeys> base;
  uint64_t base_mark = 0;
  if (req.incremental()) {
    auto chain = chains_.find(req.disk());
    if (chain != chains_.end() && !chain->second.snapshots().empty()) {
      const auto& last = chain->second.snapshots().back();
      auto keys = snapshot_keys(last.name);
      if (!keys.is_ok()) return keys.status();
      base = std::move(keys).value();
      base_mark = last.content.written_mark;
    }
  }
  auto copied = copy_disk(req.disk(), owner->second, base ? &*base : nullptr, base_mark);
  if (!copied.is_ok()) return copied.status();
  v1::VaultOp op;
  auto* c = op.mutable_create_snapshot();
  c->set_snapshot(req.snapshot());
  c->set_vm(owner->first);
  c->set_incremental(req.incremental());
  *c->mutable_disk() = copied->content;
  c->set_source_seq(copied->source_seq);
  if (auto r = commit(std::move(op)); !r.is_ok()) {
    (void)store_.delete_blob({"", copied->content.blob()});
    return r.status();
  }
  v1::CreateSnapshotResponse resp;
  fill_snapshot(snapshots_.at(req.snapshot()), resp.mutable_snapshot());
  spdlog::info("backup: {} snapshot {} of disk {}: {} of {} bytes used, {} bytes stored",
               resp.snapshot().kind(), req.snapshot(), req.disk(), resp.snapshot().used_bytes(),
               resp.snapshot().size_bytes(), resp.snapshot().stored_bytes());
  return resp;
}

Result<v1::ListSnapshotsResponse> BackupDriver::list_snapshots(const v1::ListSnapshotsRequest&) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  std::vector<const SnapshotData*> all;
  for (const auto& [name, s] : snapshots_) all.push_back(&s);
  std::stable_sort(all.begin(), all.end(), [](const SnapshotData* a, const SnapshotData* b) {
    return std::tie(a->content.disk(), a->snap.created) <
           std::tie(b->content.disk(), b->snap.created);
  });
  v1::ListSnapshotsResponse resp;
  for (const auto* s : all) fill_snapshot(*s, resp.add_snapshots());
  return resp;
}

Result<v1::DeleteSnapshotResponse> BackupDriver::delete_snapshot(
    const v1::DeleteSnapshotRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  auto it = snapshots_.find(req.snapshot());
  if (it == snapshots_.end()) {
    return not_found("snapshot: no snapshot named " + req.snapshot() + " in region " +
                     node_.options().name);
  }
  v1::VaultOp op;
  auto* c = op.mutable_delete_snapshot();
  c->set_snapshot(req.snapshot());
  // Azure keeps every remaining incremental snapshot restorable: the next one of the chain
  // takes over the changes of the deleted one (into a new blob, so a crash before the op is
  // logged leaves both intact).
  if (it->second.snap.kind == model::SnapshotKind::kIncremental) {
    const auto& chain = chains_.at(it->second.content.disk()).snapshots();
    auto pos = std::find_if(chain.begin(), chain.end(),
                            [&](const model::DiskSnapshot& s) { return s.name == req.snapshot(); });
    if (pos + 1 != chain.end()) {
      const SnapshotData& next = snapshots_.at((pos + 1)->name);
      auto merged = blob_entries(it->second.content.blob());
      if (!merged.is_ok()) return merged.status();
      auto newer = blob_entries(next.content.blob());
      if (!newer.is_ok()) return newer.status();
      for (auto& [k, v] : *newer) (*merged)[k] = std::move(v);
      if (pos == chain.begin()) {  // the next one becomes the oldest: nothing to delete from
        std::erase_if(*merged, [](const auto& kv) { return kv.second[0] == kTombstone; });
      }
      auto blob = store_.next_blob_id();
      if (!blob.is_ok()) return blob.status();
      uint64_t stored = 0;
      auto keys = write_blob(*blob, *merged, &stored);
      if (!keys.is_ok()) return keys.status();
      c->set_merged_into(next.snap.name);
      c->set_merged_blob(*blob);
      c->set_merged_keys(*keys);
      c->set_merged_stored_bytes(stored);
    }
  }
  const std::string merged_into = c->merged_into();
  if (auto r = commit(std::move(op)); !r.is_ok()) return r.status();
  spdlog::info("backup: snapshot {} deleted{}{}", req.snapshot(),
               merged_into.empty() ? "" : "; its changes moved into ", merged_into);
  v1::DeleteSnapshotResponse resp;
  resp.set_merged_into(merged_into);
  return resp;
}

Result<v1::CreateDiskResponse> BackupDriver::create_disk(const v1::CreateDiskRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_new_disk("disk", req.disk()); !s.is_ok()) return s;
  std::optional<v1::VmInfo> attach;
  if (!req.attach_to_vm().empty()) {
    auto info = vm_info(req.attach_to_vm());
    if (!info.is_ok()) return info.status();
    attach = *info;
  }
  auto keys = snapshot_keys(req.snapshot());
  if (!keys.is_ok()) return keys.status();
  v1::CreateDiskResponse resp;
  uint64_t bytes = 0;
  if (Status s = write_new_disk(req.disk(), *keys, &bytes); !s.is_ok()) return s;
  if (attach) {
    attach->add_disks(req.disk());
    if (Status s = store_.put_record(kVmRecord, attach->name(), attach->SerializeAsString());
        !s.is_ok()) {
      return s;
    }
  }
  resp.set_disk(req.disk());
  resp.set_keys(keys->size());
  resp.set_bytes(bytes);
  spdlog::info("backup: disk {} created from snapshot {}: {} keys, {} bytes{}{}", req.disk(),
               req.snapshot(), keys->size(), bytes, attach ? "; attached to " : "",
               req.attach_to_vm());
  return resp;
}

// ---------------------------------------------------------------- images

void BackupDriver::fill_image(const ImageData& i, v1::ImageInfo* out) const {
  out->set_name(i.image.name);
  out->set_region(i.image.region);
  out->set_source_vm(i.image.source_vm);
  out->set_created(model::format_drill_time(i.image.created));
  out->set_billed_bytes(i.image.billed_bytes());
  for (const auto& d : i.disks) {
    auto* info = out->add_disks();
    info->set_disk(d.disk());
    info->set_kind(d.os() ? "os" : "data");
    info->set_size_bytes(d.size_bytes());
    info->set_used_bytes(d.used_bytes());
    info->set_stored_bytes(d.stored_bytes());
    info->set_billed_bytes(d.used_bytes());
    info->set_keys(d.disk_keys());
  }
}

Result<v1::CaptureImageResponse> BackupDriver::capture_image(const v1::CaptureImageRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("vm", req.vm()); !s.is_ok()) return s;
  if (Status s = check_name("image", req.image()); !s.is_ok()) return s;
  if (auto g = generalized_.find(req.vm()); g != generalized_.end()) {
    return failed_precondition("VM " + req.vm() + " is generalized: it was captured into image " +
                               g->second + " already; capture a VM created from that image");
  }
  if (images_.contains(req.image())) {
    return Status(StatusCode::kAlreadyExists, "image: an image named " + req.image() + " exists");
  }
  auto info = vm_info(req.vm());
  if (!info.is_ok()) return info.status();
  // The model decides first (a running VM is refused) before any disk is copied.
  model::VirtualMachine vm{
      .name = req.vm(),
      .region = node_.options().name,
      .agent =
          info->agent_installed() ? model::GuestAgent::kInstalled : model::GuestAgent::kMissing,
      .power = info->power() == model::power_state_name(model::PowerState::kRunning)
                   ? model::PowerState::kRunning
                   : model::PowerState::kStopped,
      .disks = {}};
  for (int i = 0; i < info->disks_size(); ++i) {
    vm.disks.emplace_back(info->disks(i), i == 0 ? model::DiskRole::kOs : model::DiskRole::kData,
                          options_.disk_size_bytes);
  }
  if (auto check = model::capture_image(vm, req.image(), now()); !check.is_ok()) {
    return check.status();
  }
  v1::VaultOp op;
  auto* c = op.mutable_capture_image();
  c->set_image(req.image());
  c->set_vm(req.vm());
  c->set_agent_missing(!info->agent_installed());
  std::vector<uint64_t> blobs;
  auto drop = [&] {
    for (uint64_t b : blobs) (void)store_.delete_blob({"", b});
  };
  for (int i = 0; i < info->disks_size(); ++i) {
    auto copied = copy_disk(info->disks(i), i == 0 ? model::DiskRole::kOs : model::DiskRole::kData,
                            nullptr, 0);
    if (!copied.is_ok()) {
      drop();
      return copied.status();
    }
    blobs.push_back(copied->content.blob());
    *c->add_disks() = copied->content;
  }
  if (auto r = commit(std::move(op)); !r.is_ok()) {
    drop();
    return r.status();
  }
  v1::CaptureImageResponse resp;
  fill_image(images_.at(req.image()), resp.mutable_image());
  spdlog::info("backup: image {} captured from {} ({} disk(s), {} bytes used); {} is generalized",
               req.image(), req.vm(), resp.image().disks_size(), resp.image().billed_bytes(),
               req.vm());
  return resp;
}

Result<v1::ListImagesResponse> BackupDriver::list_images(const v1::ListImagesRequest&) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  v1::ListImagesResponse resp;
  for (const auto& [name, i] : images_) fill_image(i, resp.add_images());
  return resp;
}

Result<v1::CreateVmFromImageResponse> BackupDriver::create_vm_from_image(
    const v1::CreateVmFromImageRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  auto it = images_.find(req.image());
  if (it == images_.end()) {
    return not_found("image: no image named " + req.image() + " in region " + node_.options().name +
                     " (an image serves new VMs in its own region only)");
  }
  if (Status s = check_new_vm("vm", req.vm()); !s.is_ok()) return s;
  auto vm = model::create_vm_from_image(it->second.image, req.vm(), node_.options().name);
  if (!vm.is_ok()) return vm.status();
  for (const auto& d : vm->disks) {
    if (Status s = check_new_disk("vm", d.name()); !s.is_ok()) return s;
  }
  v1::CreateVmFromImageResponse resp;
  uint64_t bytes = 0, keys = 0;
  for (size_t i = 0; i < vm->disks.size(); ++i) {
    auto content = blob_entries(it->second.disks[i].blob());
    if (!content.is_ok()) return content.status();
    DiskKeys disk_keys;
    for (auto& [k, v] : *content) disk_keys.emplace(k, v.substr(1));
    keys += disk_keys.size();
    if (Status s = write_new_disk(vm->disks[i].name(), disk_keys, &bytes); !s.is_ok()) return s;
  }
  v1::VmInfo* info = resp.mutable_vm();
  info->set_name(vm->name);
  info->set_hosted(false);
  info->set_agent_installed(vm->agent == model::GuestAgent::kInstalled);
  info->set_power(model::power_state_name(vm->power));
  for (const auto& d : vm->disks) info->add_disks(d.name());
  if (Status s = store_.put_record(kVmRecord, info->name(), info->SerializeAsString());
      !s.is_ok()) {
    return s;
  }
  resp.set_keys(keys);
  resp.set_bytes(bytes);
  spdlog::info("backup: VM {} created from image {}: {} disk(s), {} keys, {} bytes", vm->name,
               req.image(), vm->disks.size(), keys, bytes);
  return resp;
}

// ---------------------------------------------------------------- cost

Result<v1::CostResponse> BackupDriver::cost(const v1::CostRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  const model::PriceList prices =
      req.has_prices() ? prices_from_proto(req.prices()) : model::PriceList{};
  if (Status s = prices.validate(); !s.is_ok()) return invalid_argument("prices." + s.message());
  const Time to = now();
  // The instant-restore snapshots that ended since the last op end in the report too.
  model::CostMeter meter = meter_;
  for (Time t : usage_changes(last_usage_at_, to)) (void)meter.record(usage_at(t), t);
  auto report = meter.report(kTimeZero, to, prices);
  if (!report.is_ok()) return report.status();
  const auto usage_now = usage_at(to);
  v1::CostResponse resp;
  resp.set_from(model::format_drill_time(kTimeZero));
  resp.set_to(model::format_drill_time(to));
  resp.set_from_nanos(0);
  resp.set_to_nanos(to_nanos(to));
  prices_to_proto(prices, resp.mutable_prices());
  for (const auto& line : report->lines) {
    auto* out = resp.add_lines();
    out->set_item(line.item);
    out->set_kind(model::charge_kind_name(line.kind));
    out->set_quantity(line.quantity);
    out->set_unit(line.kind == model::ChargeKind::kProtectedInstance ? "instance-month"
                                                                     : "GiB-month");
    out->set_cost(line.cost);
    for (const auto& u : usage_now) {
      if (u.item == line.item && u.kind == line.kind) out->set_bytes_now(u.bytes);
    }
  }
  resp.set_total(report->total);
  return resp;
}

}  // namespace drsim::region
