// CrashFs, the kill nemesis's file system: a crash keeps what was synced and drops the rest, a
// file never synced is gone, other hosts' files are untouched, and the dead host writes nothing
// more. Then the region store on it: with Durability::kPowerLoss (the daemon's --fsync) a
// written batch survives the crash; with kProcessCrash (the default) it does not, which is what
// the default promises (SIGKILL, not power loss: docs/replication.md).
#include "common/sim/crash_fs.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <memory>
#include <string>

#include "common/sim/disk_full_fs.h"
#include "common/storage/region_store.h"
#include "tests/sim/store_changes.h"

namespace drsim::sim {
namespace {

struct Fs {
  std::unique_ptr<rocksdb::Env> mem{rocksdb::NewMemEnv(rocksdb::Env::Default())};
  std::shared_ptr<CrashFs> crash = std::make_shared<CrashFs>(mem->GetFileSystem());
  std::unique_ptr<rocksdb::Env> env = env_on(crash);

  void write(const std::string& path, const std::string& data, bool sync_after) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_TRUE(crash->ReopenWritableFile(path, {}, &f, nullptr).ok());
    ASSERT_TRUE(f->Append(data, {}, nullptr).ok());
    if (sync_after) {
      ASSERT_TRUE(f->Sync({}, nullptr).ok());
    }
    ASSERT_TRUE(f->Close({}, nullptr).ok());
  }
  std::optional<std::string> read(const std::string& path) {
    std::string out;
    rocksdb::IOStatus s = rocksdb::ReadFileToString(crash.get(), path, &out);
    if (s.IsNotFound() || s.IsPathNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
};

TEST(CrashFs, ACrashKeepsTheSyncedPrefixAndDropsUnsyncedBytesAndNeverSyncedFiles) {
  Fs fs;
  ASSERT_TRUE(fs.crash->CreateDirIfMissing("/d", {}, nullptr).ok());
  ASSERT_TRUE(fs.crash->CreateDirIfMissing("/other", {}, nullptr).ok());
  std::unique_ptr<rocksdb::FSWritableFile> a;
  ASSERT_TRUE(fs.crash->NewWritableFile("/d/a", {}, &a, nullptr).ok());
  ASSERT_TRUE(a->Append("synced", {}, nullptr).ok());
  ASSERT_TRUE(a->Sync({}, nullptr).ok());
  ASSERT_TRUE(a->Append(" lost", {}, nullptr).ok());
  EXPECT_EQ(fs.crash->unsynced_bytes("/d/a"), 5u);
  fs.write("/d/never-synced", "gone", false);
  fs.write("/other/c", "another host", false);
  // Reads see everything written until the crash.
  EXPECT_EQ(fs.read("/d/a"), "synced lost");

  fs.crash->kill("/d/");
  // The dead host writes, syncs and creates nothing more.
  EXPECT_FALSE(a->Append(" after", {}, nullptr).ok());
  EXPECT_FALSE(a->Sync({}, nullptr).ok());
  std::unique_ptr<rocksdb::FSWritableFile> late;
  EXPECT_FALSE(fs.crash->NewWritableFile("/d/late", {}, &late, nullptr).ok());
  EXPECT_FALSE(fs.crash->DeleteFile("/d/a", {}, nullptr).ok());
  a.reset();

  EXPECT_EQ(fs.crash->drop_unsynced("/d/"), 5u + 4u);
  EXPECT_EQ(fs.read("/d/a"), "synced");
  EXPECT_EQ(fs.read("/d/never-synced"), std::nullopt);
  EXPECT_EQ(fs.read("/other/c"), "another host");
  // Rebooted: writes work again, and a rename carries what was synced.
  fs.write("/d/a", " again", true);
  ASSERT_TRUE(fs.crash->RenameFile("/d/a", "/d/b", {}, nullptr).ok());
  fs.crash->kill("/d/");
  fs.crash->drop_unsynced("/d/");
  EXPECT_EQ(fs.read("/d/b"), "synced again");
}

TEST(CrashFs, ARangeSyncToTheEndCountsAsSynced) {
  Fs fs;
  ASSERT_TRUE(fs.crash->CreateDirIfMissing("/d", {}, nullptr).ok());
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs.crash->NewWritableFile("/d/f", {}, &f, nullptr).ok());
  ASSERT_TRUE(f->Append("0123456789", {}, nullptr).ok());
  ASSERT_TRUE(f->RangeSync(0, 4, {}, nullptr).ok());
  EXPECT_EQ(fs.crash->unsynced_bytes("/d/f"), 6u);
  ASSERT_TRUE(f->RangeSync(4, 6, {}, nullptr).ok());
  EXPECT_EQ(fs.crash->unsynced_bytes("/d/f"), 0u);
}

// Opens a store, applies seqs 1..3 (with a synced meta write first, as a region's start does),
// crashes the host, reopens: the seq the cursor is at afterwards.
uint64_t cursor_after_crash(storage::Durability durability) {
  Fs fs;
  {
    auto store = storage::RegionStore::open("/r", durability, 1000, fs.env.get());
    EXPECT_TRUE(store.is_ok());
    EXPECT_TRUE((*store)->save_meta({}).is_ok());
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      v1::Change c = store_change(seq);
      EXPECT_TRUE((*store)->apply({&c}).is_ok());
    }
    EXPECT_EQ((*store)->load_cursor("w")->seq.value(), 3u);
    fs.crash->kill("/r/");
  }  // the store torn down after the crash instant: none of its closing writes count
  fs.crash->drop_unsynced("/r/");
  auto store = storage::RegionStore::open("/r", durability, 1000, fs.env.get());
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  if (!store.is_ok()) return 999;
  auto cursor = (*store)->load_cursor("w");
  EXPECT_TRUE(cursor.is_ok());
  return cursor->seq.value();
}

TEST(CrashFs, ARegionStoreWithPowerLossDurabilityKeepsEveryAppliedBatch) {
  EXPECT_EQ(cursor_after_crash(storage::Durability::kPowerLoss), 3u);
}

TEST(CrashFs, ARegionStoreWithProcessCrashDurabilityLosesBatchesAfterItsLastSync) {
  EXPECT_EQ(cursor_after_crash(storage::Durability::kProcessCrash), 0u);
}

}  // namespace
}  // namespace drsim::sim
