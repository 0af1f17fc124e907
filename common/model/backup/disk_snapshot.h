// Managed disks and their snapshots: the disk (size, used bytes, bytes written), a read-only
// copy of it at an instant (DiskCopy — what snapshots, recovery points and images hold), and
// the snapshot rules of facts.md "Disks". Used by Backup, images and the cost report.
//
// Rules: a snapshot is a read-only, crash-consistent full copy of one disk, billed on the used
// size (a 64 GiB disk with 10 GiB used bills 10 GiB). Incremental snapshots: the first is full,
// each later one bills only what changed since the one before.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

// Azure bills storage per "GB" of 2^30 bytes.
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

enum class DiskRole { kOs, kData };

class ManagedDisk {
 public:
  // used_bytes <= size_bytes (checked). `written_bytes`: what was written before this object
  // (a driver that measures a real disk passes its count).
  ManagedDisk(std::string name, DiskRole role, uint64_t size_bytes, uint64_t used_bytes = 0,
              uint64_t written_bytes = 0);

  // New data in unused space: used grows. OUT_OF_RANGE past the provisioned size.
  Status append(uint64_t bytes);
  // Rewrites data in place: used stays. INVALID_ARGUMENT when more than is used.
  Status overwrite(uint64_t bytes);

  const std::string& name() const { return name_; }
  DiskRole role() const { return role_; }
  uint64_t size_bytes() const { return size_bytes_; }
  uint64_t used_bytes() const { return used_bytes_; }
  // Every byte ever appended or overwritten; incremental copies diff this counter.
  uint64_t written_bytes() const { return written_bytes_; }

 private:
  std::string name_;
  DiskRole role_;
  uint64_t size_bytes_;
  uint64_t used_bytes_;
  uint64_t written_bytes_ = 0;
};

// Read-only content of one disk at an instant.
struct DiskCopy {
  std::string disk;
  DiskRole role = DiskRole::kData;
  uint64_t size_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t written_mark = 0;  // the disk's written_bytes() when copied
};

DiskCopy copy_of(const ManagedDisk& disk);

// A new, writable disk with the copy's size and content.
ManagedDisk disk_from_copy(const DiskCopy& copy, std::string name);

// Bytes an incremental copy `next` adds over an older copy `base` of the same disk: what was
// written in between, never more than next's used size. drsim counts every written byte as
// changed; it does not track a block rewritten twice.
uint64_t changed_bytes(const DiskCopy& base, const DiskCopy& next);

// Billed bytes of copies of one disk, oldest first: the oldest bills its used size, each later
// one what changed since the copy before it. Deleting a copy therefore moves its changes into
// the next one (Azure keeps every remaining incremental snapshot restorable).
uint64_t chain_billed_bytes(std::span<const DiskCopy> chain);

enum class SnapshotKind { kFull, kIncremental };

struct DiskSnapshot {
  std::string name;
  SnapshotKind kind = SnapshotKind::kFull;
  Time created;
  DiskCopy content;
  // What the snapshot stored when taken: used size for a full one (and the first incremental),
  // the changed bytes for a later incremental.
  uint64_t stored_bytes = 0;
};

// A full snapshot: read-only, crash-consistent, billed on the disk's used size.
DiskSnapshot take_full_snapshot(const ManagedDisk& disk, std::string name, Time now);

// The incremental snapshots of one disk.
class IncrementalSnapshotChain {
 public:
  explicit IncrementalSnapshotChain(std::string disk) : disk_(std::move(disk)) {}

  // First snapshot full, later ones the delta. INVALID_ARGUMENT for another disk,
  // ALREADY_EXISTS for a name in use.
  Result<DiskSnapshot> take(const ManagedDisk& disk, std::string name, Time now);
  // NOT_FOUND when no snapshot has that name.
  Status remove(std::string_view name);

  // What the remaining snapshots bill together (chain_billed_bytes).
  uint64_t billed_bytes() const;
  // The same, per snapshot (oldest first; sums to billed_bytes()): the oldest its used size,
  // each later one what changed since the one before it.
  std::vector<uint64_t> billed_bytes_each() const;
  const std::vector<DiskSnapshot>& snapshots() const { return snapshots_; }
  const std::string& disk() const { return disk_; }

 private:
  std::string disk_;
  std::vector<DiskSnapshot> snapshots_;  // oldest first
};

}  // namespace drsim::model
