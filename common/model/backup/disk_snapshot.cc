#include "common/model/backup/disk_snapshot.h"

#include <algorithm>
#include <utility>

#include "common/core/check.h"

namespace drsim::model {

ManagedDisk::ManagedDisk(std::string name, DiskRole role, uint64_t size_bytes, uint64_t used_bytes,
                         uint64_t written_bytes)
    : name_(std::move(name)),
      role_(role),
      size_bytes_(size_bytes),
      used_bytes_(used_bytes),
      written_bytes_(written_bytes) {
  DRSIM_CHECK(used_bytes_ <= size_bytes_);
}

Status ManagedDisk::append(uint64_t bytes) {
  if (bytes > size_bytes_ - used_bytes_) {
    return out_of_range("disk " + name_ + ": appending " + std::to_string(bytes) +
                        " bytes needs more than the " + std::to_string(size_bytes_ - used_bytes_) +
                        " bytes left of " + std::to_string(size_bytes_));
  }
  used_bytes_ += bytes;
  written_bytes_ += bytes;
  return Status::ok();
}

Status ManagedDisk::overwrite(uint64_t bytes) {
  if (bytes > used_bytes_) {
    return invalid_argument("disk " + name_ + ": cannot overwrite " + std::to_string(bytes) +
                            " bytes, only " + std::to_string(used_bytes_) + " are used");
  }
  written_bytes_ += bytes;
  return Status::ok();
}

DiskCopy copy_of(const ManagedDisk& disk) {
  return DiskCopy{.disk = disk.name(),
                  .role = disk.role(),
                  .size_bytes = disk.size_bytes(),
                  .used_bytes = disk.used_bytes(),
                  .written_mark = disk.written_bytes()};
}

ManagedDisk disk_from_copy(const DiskCopy& copy, std::string name) {
  return ManagedDisk(std::move(name), copy.role, copy.size_bytes, copy.used_bytes);
}

uint64_t changed_bytes(const DiskCopy& base, const DiskCopy& next) {
  DRSIM_CHECK(base.disk == next.disk && base.written_mark <= next.written_mark);
  return std::min(next.written_mark - base.written_mark, next.used_bytes);
}

uint64_t chain_billed_bytes(std::span<const DiskCopy> chain) {
  if (chain.empty()) return 0;
  uint64_t billed = chain.front().used_bytes;
  for (size_t i = 1; i < chain.size(); ++i) billed += changed_bytes(chain[i - 1], chain[i]);
  return billed;
}

DiskSnapshot take_full_snapshot(const ManagedDisk& disk, std::string name, Time now) {
  return DiskSnapshot{.name = std::move(name),
                      .kind = SnapshotKind::kFull,
                      .created = now,
                      .content = copy_of(disk),
                      .stored_bytes = disk.used_bytes()};
}

Result<DiskSnapshot> IncrementalSnapshotChain::take(const ManagedDisk& disk, std::string name,
                                                    Time now) {
  if (disk.name() != disk_) {
    return invalid_argument("disk: " + disk.name() + " is not " + disk_ +
                            ", the disk of this incremental snapshot chain");
  }
  for (const auto& s : snapshots_) {
    if (s.name == name) {
      return Status(StatusCode::kAlreadyExists, "snapshot " + name + " of " + disk_ + " exists");
    }
  }
  DiskSnapshot snap = take_full_snapshot(disk, std::move(name), now);
  snap.kind = SnapshotKind::kIncremental;
  if (!snapshots_.empty())
    snap.stored_bytes = changed_bytes(snapshots_.back().content, snap.content);
  snapshots_.push_back(snap);
  return snap;
}

Status IncrementalSnapshotChain::remove(std::string_view name) {
  auto it = std::find_if(snapshots_.begin(), snapshots_.end(),
                         [&](const DiskSnapshot& s) { return s.name == name; });
  if (it == snapshots_.end()) {
    return not_found("disk " + disk_ + " has no snapshot " + std::string(name));
  }
  snapshots_.erase(it);
  return Status::ok();
}

uint64_t IncrementalSnapshotChain::billed_bytes() const {
  std::vector<DiskCopy> copies;
  copies.reserve(snapshots_.size());
  for (const auto& s : snapshots_) copies.push_back(s.content);
  return chain_billed_bytes(copies);
}

std::vector<uint64_t> IncrementalSnapshotChain::billed_bytes_each() const {
  std::vector<uint64_t> each;
  each.reserve(snapshots_.size());
  for (size_t i = 0; i < snapshots_.size(); ++i) {
    each.push_back(i == 0 ? snapshots_[0].content.used_bytes
                          : changed_bytes(snapshots_[i - 1].content, snapshots_[i].content));
  }
  return each;
}

}  // namespace drsim::model
