// storage::require_free_bytes, the one measure of room under a directory: the region daemon's
// start-up check (--min-free-bytes) and RegionStore's refusal of writes on a full disk
// (check_room) both answer with it. On an Env that reports a given free space, and on the
// simulator's DiskFullFs under a real RegionStore.
#include "common/storage/free_space.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <memory>
#include <optional>
#include <string>

#include "common/sim/disk_full_fs.h"
#include "tests/sim/store_changes.h"
#include "common/storage/region_store.h"

namespace drsim::storage {
namespace {

// An Env whose file systems have `free` bytes free, or cannot tell (nullopt).
class RoomEnv : public rocksdb::EnvWrapper {
 public:
  explicit RoomEnv(std::optional<uint64_t> free)
      : rocksdb::EnvWrapper(rocksdb::Env::Default()), free_(free) {}
  static const char* kClassName() { return "DrsimRoomEnv"; }
  const char* Name() const override { return kClassName(); }
  rocksdb::Status GetFreeSpace(const std::string& path, uint64_t* free_bytes) override {
    if (!free_) return rocksdb::Status::IOError("While doing statvfs", path);
    *free_bytes = *free_;
    return rocksdb::Status::OK();
  }

 private:
  std::optional<uint64_t> free_;
};

TEST(FreeSpace, FewerBytesFreeThanNeededIsDiskFullNamingTheDirectoryAndWhatFor) {
  RoomEnv env(1000);
  Status s = require_free_bytes(env, "/data/primary", 1001, "to start; --min-free-bytes",
                                UnknownRoom::kRefuse);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "disk full: 1000 bytes free under /data/primary (at least 1001 needed to start; "
            "--min-free-bytes)");
}

TEST(FreeSpace, ExactlyTheBytesNeededIsEnough) {
  RoomEnv env(1000);
  EXPECT_TRUE(require_free_bytes(env, "/d", 1000, "to start", UnknownRoom::kRefuse).is_ok());
  EXPECT_TRUE(require_free_bytes(env, "/d", 0, "to start", UnknownRoom::kRefuse).is_ok());
}

TEST(FreeSpace, AFileSystemThatCannotTellRefusesAStartAndAdmitsAWrite) {
  RoomEnv env(std::nullopt);
  Status start = require_free_bytes(env, "/d", 1, "to start", UnknownRoom::kRefuse);
  EXPECT_EQ(start.code(), StatusCode::kUnavailable);
  EXPECT_NE(start.message().find("cannot tell how much room is under /d: "), std::string::npos)
      << start.message();
  EXPECT_TRUE(require_free_bytes(env, "/d", 1, "to write", UnknownRoom::kAdmit).is_ok());
}

TEST(FreeSpace, ARegionStoreOnAFullDiskRefusesWritesWithTheSameMeasure) {
  std::unique_ptr<rocksdb::Env> mem(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto disk = std::make_shared<sim::DiskFullFs>(mem->GetFileSystem());
  std::unique_ptr<rocksdb::Env> env = sim::env_on(disk);
  auto store = RegionStore::open("/sim/region", Durability::kProcessCrash, 1000, env.get());
  ASSERT_TRUE(store.is_ok()) << store.status().message();
  // Before the disk fills, the write is admitted.
  EXPECT_TRUE((*store)->check_room(10).is_ok());

  disk->fill("/sim/region");
  Status refused = (*store)->check_room(10);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  const uint64_t reserve = 16u << 20;
  EXPECT_EQ(refused.message(), "disk full: 0 bytes free under /sim/region (at least " +
                                   std::to_string(10 + reserve) +
                                   " needed to write 10 bytes and keep a reserve of " +
                                   std::to_string(reserve) + ")");
  // The start-up check on the same file system says the same.
  Status start = require_free_bytes(*env, "/sim/region", 1, "to start; --min-free-bytes",
                                    UnknownRoom::kRefuse);
  EXPECT_EQ(start.message(),
            "disk full: 0 bytes free under /sim/region (at least 1 needed to start; "
            "--min-free-bytes)");

  disk->free_space();
  EXPECT_TRUE((*store)->check_room(10).is_ok());
}


// A write RocksDB could not make durable for want of space (the write-ahead log's append, past
// the room check: the space went between the two) stops its writes until it is resumed. The
// store resumes it itself at its next write once there is room: on the caller's thread, at
// once. RocksDB's own recovery (its SstFileManager polling the free space every 5 s of real
// time on a thread of its own, DB::Resume answering Busy meanwhile) is off: on virtual time a
// disk-full seed was judged by it (1 run in 20 failed "the secondary did not catch up within
// 10 s", its replay passed).
TEST(FreeSpace, AWriteThatFoundTheDiskFullIsResumedByTheStoreAtItsNextWriteOnceThereIsRoom) {
  std::unique_ptr<rocksdb::Env> mem(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto disk = std::make_shared<sim::DiskFullFs>(mem->GetFileSystem());
  std::unique_ptr<rocksdb::Env> env = sim::env_on(disk);
  auto store = RegionStore::open("/sim/region", Durability::kProcessCrash, 1000, env.get());
  ASSERT_TRUE(store.is_ok()) << store.status().message();
  drsim::v1::Change first = sim::store_change(1);
  ASSERT_TRUE((*store)->apply({&first}).is_ok());

  disk->fill("/sim/region");
  drsim::v1::Change second = sim::store_change(2);
  Status refused = (*store)->apply({&second});  // past the room check, as in a race
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused.to_string();
  EXPECT_NE(refused.message().find("No space left on device"), std::string::npos)
      << refused.to_string();

  disk->free_space();
  // No wait: the room check resumes the store, and the write goes through.
  Status room = (*store)->check_room(10);
  EXPECT_TRUE(room.is_ok()) << room.to_string();
  Status applied = (*store)->apply({&second});
  EXPECT_TRUE(applied.is_ok()) << applied.to_string();
  EXPECT_EQ((*store)->load_cursor("w")->seq.value(), 2u);
}

}  // namespace
}  // namespace drsim::storage
