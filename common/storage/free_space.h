// How much room the file system under a directory has, asked of RocksDB's Env (statvfs on a real
// disk; the simulator's DiskFullFs answers 0 under a full prefix), and the one "disk full"
// refusal built from it. The region daemon's start-up check (--min-free-bytes) and RegionStore's
// runtime refusal (check_room) both use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace drsim::storage {

// Room a store keeps free: below it a region store refuses replicated batches (a standby NACKs
// them) and a stopped store does not try to resume; the backup store refuses recovery point data,
// restored disks and the paired region's copy.
inline constexpr uint64_t kStoreReserveBytes = 16u << 20;

// What require_free_bytes answers when the file system cannot tell how much room it has.
enum class UnknownRoom {
  kRefuse,  // UNAVAILABLE: a daemon starting up cannot know it will be able to write
  kAdmit,   // OK: the write is tried (RocksDB itself fails it when there is no room)
};

// OK when at least `needed_bytes` are free under `dir` on `env`'s file system;
// RESOURCE_EXHAUSTED "disk full: F bytes free under DIR (at least N needed NEEDED_FOR)" when
// fewer are. When the file system cannot tell: UNAVAILABLE "cannot tell how much room is under
// DIR: why" (kRefuse) or OK (kAdmit).
Status require_free_bytes(rocksdb::Env& env, const std::string& dir, uint64_t needed_bytes,
                          std::string_view needed_for, UnknownRoom unknown);

// A store's check before it writes `bytes` under `dir`: they and kStoreReserveBytes must be free
// ("disk full: F bytes free under DIR (at least N needed to write B bytes and keep a reserve of
// R)"); OK when the file system cannot tell (the write is tried). RegionStore and BackupStore.
Status require_room_to_write(rocksdb::Env& env, const std::string& dir, uint64_t bytes);

}  // namespace drsim::storage
