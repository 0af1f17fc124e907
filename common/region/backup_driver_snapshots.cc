// BackupDriver, part three: managed-disk snapshots (full and incremental), disks made from them,
// images captured from a VM, VMs made from images, and the cost report. Snapshots and images
// hold real copies of a disk's keys (backup_driver_disks.cc copies them).
#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/region/backup_driver_parts.h"
#include "common/region/price_list_proto.h"

namespace drsim::region {

using namespace backup_driver_parts;

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
