// Managed disks and snapshots: full snapshots bill the used size (64 GiB disk, 10 GiB used →
// 10 GiB), are read-only copies, and incremental chains bill the first in full and then only
// what changed — also after a snapshot in the chain is deleted.
#include <gtest/gtest.h>

#include "common/model/backup/disk_snapshot.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr Time kNow = kTimeZero + 5h;

TEST(ManagedDisk, AppendGrowsUsedAndOverwriteDoesNot) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  ASSERT_TRUE(d.append(2 * kGiB).is_ok());
  EXPECT_EQ(d.used_bytes(), 12 * kGiB);
  ASSERT_TRUE(d.overwrite(5 * kGiB).is_ok());
  EXPECT_EQ(d.used_bytes(), 12 * kGiB);
  EXPECT_EQ(d.written_bytes(), 7 * kGiB);
}

TEST(ManagedDisk, AppendPastTheProvisionedSizeIsRefused) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 60 * kGiB);
  Status s = d.append(5 * kGiB);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(d.used_bytes(), 60 * kGiB);
  EXPECT_EQ(d.written_bytes(), 0u);
  EXPECT_TRUE(d.append(4 * kGiB).is_ok());
  EXPECT_EQ(d.used_bytes(), d.size_bytes());
}

TEST(ManagedDisk, OverwritingMoreThanIsUsedIsRefused) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 1 * kGiB);
  EXPECT_EQ(d.overwrite(1 * kGiB + 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.written_bytes(), 0u);
}

TEST(DiskSnapshot, FullSnapshotBillsTheUsedSizeNotTheDiskSize) {
  ManagedDisk d("os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  DiskSnapshot s = take_full_snapshot(d, "os-snap1", kNow);
  EXPECT_EQ(s.kind, SnapshotKind::kFull);
  EXPECT_EQ(s.created, kNow);
  EXPECT_EQ(s.stored_bytes, 10 * kGiB);
  EXPECT_EQ(s.content.size_bytes, 64 * kGiB);
  EXPECT_EQ(s.content.used_bytes, 10 * kGiB);
  EXPECT_EQ(s.content.role, DiskRole::kOs);
}

TEST(DiskSnapshot, SnapshotIsAReadOnlyCopyOfTheDiskAtThatInstant) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  DiskSnapshot s = take_full_snapshot(d, "snap", kNow);
  // Writes after the snapshot change the disk, not the snapshot.
  ASSERT_TRUE(d.append(3 * kGiB).is_ok());
  EXPECT_EQ(s.content.used_bytes, 10 * kGiB);
  // The way to use a snapshot is a new disk from it; writing that disk leaves the snapshot.
  ManagedDisk restored = disk_from_copy(s.content, "data0-restored");
  EXPECT_EQ(restored.name(), "data0-restored");
  EXPECT_EQ(restored.size_bytes(), 64 * kGiB);
  EXPECT_EQ(restored.used_bytes(), 10 * kGiB);
  ASSERT_TRUE(restored.append(1 * kGiB).is_ok());
  EXPECT_EQ(s.content.used_bytes, 10 * kGiB);
}

TEST(IncrementalSnapshotChain, FirstSnapshotIsFullThenOnlyChangedBytes) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  IncrementalSnapshotChain chain("data0");
  auto s1 = chain.take(d, "s1", kNow);
  ASSERT_TRUE(s1.is_ok());
  EXPECT_EQ(s1->kind, SnapshotKind::kIncremental);
  EXPECT_EQ(s1->stored_bytes, 10 * kGiB);

  ASSERT_TRUE(d.append(2 * kGiB).is_ok());
  auto s2 = chain.take(d, "s2", kNow + 1h);
  ASSERT_TRUE(s2.is_ok());
  EXPECT_EQ(s2->stored_bytes, 2 * kGiB);

  ASSERT_TRUE(d.overwrite(1 * kGiB).is_ok());
  auto s3 = chain.take(d, "s3", kNow + 2h);
  ASSERT_TRUE(s3.is_ok());
  EXPECT_EQ(s3->stored_bytes, 1 * kGiB);

  // No change at all: an incremental snapshot stores nothing new.
  auto s4 = chain.take(d, "s4", kNow + 3h);
  ASSERT_TRUE(s4.is_ok());
  EXPECT_EQ(s4->stored_bytes, 0u);
  EXPECT_EQ(chain.billed_bytes(), 13 * kGiB);
}

TEST(IncrementalSnapshotChain, DeltaNeverExceedsTheUsedSize) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 4 * kGiB);
  IncrementalSnapshotChain chain("data0");
  ASSERT_TRUE(chain.take(d, "s1", kNow).is_ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(d.overwrite(4 * kGiB).is_ok());
  auto s2 = chain.take(d, "s2", kNow + 1h);
  ASSERT_TRUE(s2.is_ok());
  EXPECT_EQ(s2->stored_bytes, 4 * kGiB);
}

TEST(IncrementalSnapshotChain, DeletingAMiddleSnapshotMovesItsChangesToTheNext) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  IncrementalSnapshotChain chain("data0");
  ASSERT_TRUE(chain.take(d, "s1", kNow).is_ok());
  ASSERT_TRUE(d.append(2 * kGiB).is_ok());
  ASSERT_TRUE(chain.take(d, "s2", kNow + 1h).is_ok());
  ASSERT_TRUE(d.overwrite(1 * kGiB).is_ok());
  ASSERT_TRUE(chain.take(d, "s3", kNow + 2h).is_ok());

  ASSERT_TRUE(chain.remove("s2").is_ok());
  // s3 now holds everything written since s1: 10 + 3.
  EXPECT_EQ(chain.billed_bytes(), 13 * kGiB);
  ASSERT_TRUE(chain.remove("s1").is_ok());
  // s3 alone is a full copy: its used size.
  EXPECT_EQ(chain.billed_bytes(), 12 * kGiB);
  ASSERT_TRUE(chain.remove("s3").is_ok());
  EXPECT_EQ(chain.billed_bytes(), 0u);
}

TEST(IncrementalSnapshotChain, EachSnapshotBillsItsOwnDeltaAndTheySumToTheChain) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  IncrementalSnapshotChain chain("data0");
  EXPECT_TRUE(chain.billed_bytes_each().empty());
  ASSERT_TRUE(chain.take(d, "s1", kNow).is_ok());
  ASSERT_TRUE(d.append(2 * kGiB).is_ok());
  ASSERT_TRUE(chain.take(d, "s2", kNow + 1h).is_ok());
  ASSERT_TRUE(d.overwrite(1 * kGiB).is_ok());
  ASSERT_TRUE(chain.take(d, "s3", kNow + 2h).is_ok());
  EXPECT_EQ(chain.billed_bytes_each(), (std::vector<uint64_t>{10 * kGiB, 2 * kGiB, 1 * kGiB}));

  ASSERT_TRUE(chain.remove("s1").is_ok());
  // s2 is the oldest now: it bills its whole used size; s3 still its delta.
  const auto each = chain.billed_bytes_each();
  EXPECT_EQ(each, (std::vector<uint64_t>{12 * kGiB, 1 * kGiB}));
  EXPECT_EQ(each[0] + each[1], chain.billed_bytes());
}

TEST(IncrementalSnapshotChain, RefusesAnotherDiskADuplicateNameAndAnUnknownSnapshot) {
  ManagedDisk d("data0", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  ManagedDisk other("data1", DiskRole::kData, 64 * kGiB, 10 * kGiB);
  IncrementalSnapshotChain chain("data0");
  EXPECT_EQ(chain.take(other, "s1", kNow).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(chain.take(d, "s1", kNow).is_ok());
  EXPECT_EQ(chain.take(d, "s1", kNow).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(chain.remove("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(chain.snapshots().size(), 1u);
}

}  // namespace
}  // namespace drsim::model
