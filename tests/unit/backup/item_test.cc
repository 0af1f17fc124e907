// BackupItem: backup jobs (VM agent required, app- vs crash-consistent), the schedule
// on a manual clock over several days, retention expiry, the 9,999-point cap, and the
// stop / soft delete / undelete / resume lifecycle with its 14-day clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/core/clock.h"
#include "common/model/backup/item.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Day 0 is Monday 2024-01-01.
Time at(int day, Duration time_of_day = 0h) { return kTimeZero + day * kDay + time_of_day; }

VirtualMachine make_vm(GuestAgent agent = GuestAgent::kInstalled,
                       PowerState power = PowerState::kRunning) {
  VirtualMachine vm{.name = "vm1", .region = "eastus", .agent = agent, .power = power, .disks = {}};
  vm.disks.emplace_back("vm1-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back("vm1-data0", DiskRole::kData, 128 * kGiB, 20 * kGiB);
  return vm;
}

BackupPolicy daily_at_22(uint32_t daily_days = 7) {
  BackupPolicy p;
  p.daily_days = daily_days;
  return p;
}

std::vector<int> created_days(const BackupItem& item) {
  std::vector<int> days;
  for (const auto& p : item.points())
    days.push_back(static_cast<int>((p.created - kTimeZero) / kDay));
  return days;
}

// --- Jobs ---

TEST(BackupItem, BackupWithoutTheVmAgentFailsWithUserErrorGuestAgentStatusUnavailable) {
  BackupItem item("vm1", daily_at_22(), at(0));
  auto job = item.run_scheduled_backup(make_vm(GuestAgent::kMissing), GeoCopy::kNone, at(0, 22h));
  ASSERT_TRUE(job.is_ok()) << job.status().to_string();  // the job ran, and failed
  EXPECT_EQ(job->error_code, "UserErrorGuestAgentStatusUnavailable");
  EXPECT_EQ(job->status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(job->status.message(), HasSubstr("Microsoft Azure Virtual Machine Agent"));
  EXPECT_THAT(job->status.message(), HasSubstr("the MARS agent does not count"));
  EXPECT_FALSE(job->point.has_value());
  EXPECT_TRUE(item.points().empty());
}

TEST(BackupItem, MissingAgentFailsOnDemandBackupOfAStoppedVmToo) {
  BackupItem item("vm1", daily_at_22(), at(0));
  auto job = item.run_on_demand_backup(make_vm(GuestAgent::kMissing, PowerState::kStopped), at(30),
                                       GeoCopy::kNone, at(0, 1h));
  ASSERT_TRUE(job.is_ok());
  EXPECT_EQ(job->error_code, kErrorGuestAgentStatusUnavailable);
  EXPECT_EQ(job->trigger, BackupTrigger::kOnDemand);
  EXPECT_TRUE(item.points().empty());
}

TEST(BackupItem, RunningVmWithTheAgentIsBackedUpAppConsistent) {
  BackupItem item("vm1", daily_at_22(), at(0));
  auto job = item.run_scheduled_backup(make_vm(), GeoCopy::kPairedRegion, at(0, 22h));
  ASSERT_TRUE(job.is_ok());
  ASSERT_TRUE(job->status.is_ok()) << job->status.to_string();
  EXPECT_TRUE(job->error_code.empty());
  ASSERT_TRUE(job->point.has_value());
  const BackupPoint* p = item.point(*job->point);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->consistency, Consistency::kApplication);
  EXPECT_STREQ(consistency_name(p->consistency), "ApplicationConsistent");
  EXPECT_EQ(p->created, at(0, 22h));
  EXPECT_TRUE(p->replicated_to_paired_region);
  ASSERT_EQ(p->disks.size(), 2u);
  EXPECT_EQ(p->disks[0].disk, "vm1-os");
  EXPECT_EQ(p->used_bytes(), 30 * kGiB);
}

TEST(BackupItem, StoppedVmIsBackedUpCrashConsistent) {
  BackupItem item("vm1", daily_at_22(), at(0));
  auto job = item.run_scheduled_backup(make_vm(GuestAgent::kInstalled, PowerState::kStopped),
                                       GeoCopy::kNone, at(0, 22h));
  ASSERT_TRUE(job.is_ok() && job->point.has_value());
  const BackupPoint* p = item.point(*job->point);
  EXPECT_EQ(p->consistency, Consistency::kCrash);
  EXPECT_FALSE(p->replicated_to_paired_region);
}

// --- Schedule ---

TEST(BackupItem, ScheduledBackupBeforeItsSlotIsRefused) {
  BackupItem item("vm1", daily_at_22(), at(0, 8h));
  EXPECT_EQ(item.next_backup_due(), at(0, 22h));
  auto job = item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(0, 21h));
  EXPECT_EQ(job.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(job.status().message(),
            "VM vm1: the next scheduled backup is due at day 0 22:00, not day 0 21:00");
}

TEST(BackupItem, ScheduleOverSeveralDaysTakesOnePointPerSlot) {
  BackupPolicy p = daily_at_22();
  p.backup_times = {6h, 18h};
  BackupItem item("vm1", p, at(0, 12h));
  ManualClock clock(at(0, 12h));
  VirtualMachine vm = make_vm();
  std::vector<Time> taken;
  for (int i = 0; i < 6; ++i) {
    clock.set(item.next_backup_due());
    auto job = item.run_scheduled_backup(vm, GeoCopy::kNone, clock.now());
    ASSERT_TRUE(job.is_ok() && job->status.is_ok());
    taken.push_back(item.point(*job->point)->created);
  }
  EXPECT_EQ(taken, (std::vector<Time>{at(0, 18h), at(1, 6h), at(1, 18h), at(2, 6h), at(2, 18h),
                                      at(3, 6h)}));
  EXPECT_EQ(item.next_backup_due(), at(3, 18h));
}

TEST(BackupItem, LateDriverSkipsMissedSlotsInsteadOfCatchingUp) {
  BackupItem item("vm1", daily_at_22(), at(0));
  // The driver was down for three days and runs the day-0 slot on day 3 at 10:00.
  auto job = item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(3, 10h));
  ASSERT_TRUE(job.is_ok() && job->status.is_ok());
  EXPECT_EQ(item.next_backup_due(), at(3, 22h));
}

TEST(BackupItem, FailedScheduledJobStillUsesItsSlot) {
  BackupItem item("vm1", daily_at_22(), at(0));
  ASSERT_TRUE(
      item.run_scheduled_backup(make_vm(GuestAgent::kMissing), GeoCopy::kNone, at(0, 22h)).is_ok());
  EXPECT_EQ(item.next_backup_due(), at(1, 22h));
}

TEST(BackupItem, OnDemandPointIsKeptUntilItsRetainUntilWithoutPolicyTags) {
  BackupItem item("vm1", daily_at_22(), at(0));
  auto job = item.run_on_demand_backup(make_vm(), at(45, 12h), GeoCopy::kNone, at(0, 9h));
  ASSERT_TRUE(job.is_ok() && job->point.has_value());
  const BackupPoint* p = item.point(*job->point);
  EXPECT_EQ(p->trigger, BackupTrigger::kOnDemand);
  EXPECT_EQ(p->tags, RetentionTags{});
  EXPECT_EQ(p->expires_at, at(45, 12h));
  // On-demand does not move the schedule.
  EXPECT_EQ(item.next_backup_due(), at(0, 22h));
}

TEST(BackupItem, OnDemandRetainUntilMustBeInTheFuture) {
  BackupItem item("vm1", daily_at_22(), at(0));
  auto job = item.run_on_demand_backup(make_vm(), at(1), GeoCopy::kNone, at(1));
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(job.status().message(),
            "retain_until: day 1 00:00 must be later than now (day 1 00:00)");
}

// --- Retention ---

TEST(BackupItem, RetentionExpiresDailyPointsAndKeepsWeeklyOnesLonger) {
  BackupPolicy p = daily_at_22(7);
  p.weekly_weeks = 2;  // Sundays: days 6, 13, 20, 27
  BackupItem item("vm1", p, at(0));
  ManualClock clock(at(0));
  VirtualMachine vm = make_vm();
  std::vector<int> expired_days;
  for (int day = 0; day <= 30; ++day) {
    clock.set(at(day, 22h));
    for (const auto& e : item.expire_points(clock.now())) {
      EXPECT_LE(e.expires_at, clock.now());
      expired_days.push_back(static_cast<int>((e.expires_at - kTimeZero) / kDay));
    }
    ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, clock.now())->status.is_ok());
  }
  // Days 24..30 by the daily rule, Sunday day 20 by the weekly rule (until day 34).
  EXPECT_EQ(created_days(item), (std::vector<int>{20, 24, 25, 26, 27, 28, 29, 30}));
  // Daily points leave exactly 7 days after creation, Sunday 6 on day 20 and Sunday 13 on day
  // 27 (two weeks). Nothing expires on day 13: that day's week-old point was Sunday 6.
  std::vector<int> expected;
  for (int day = 7; day <= 30; ++day) {
    if (day != 13) expected.push_back(day);
  }
  EXPECT_EQ(expired_days, expected);
}

TEST(BackupItem, PointExpiresExactlyAtItsExpiryNotBefore) {
  BackupItem item("vm1", daily_at_22(7), at(0));
  VirtualMachine vm = make_vm();
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(0, 22h)).is_ok());
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(1, 22h)).is_ok());
  EXPECT_EQ(item.next_deadline(), at(2, 22h));  // the next backup comes first
  EXPECT_EQ(item.points().front().expires_at, at(7, 22h));
  EXPECT_TRUE(item.expire_points(at(7, 22h) - 1ns).empty());
  auto expired = item.expire_points(at(7, 22h));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].point, BackupPointId(1));
  EXPECT_EQ(expired[0].vm, "vm1");
  EXPECT_EQ(created_days(item), std::vector<int>{1});
}

TEST(BackupItem, NewestPointIsKeptPastItsRetentionWhileBackupsFail) {
  BackupItem item("vm1", daily_at_22(7), at(0));
  ASSERT_TRUE(item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(0, 22h)).is_ok());
  // The agent is removed: every later job fails.
  for (int day = 1; day <= 20; ++day) {
    auto job =
        item.run_scheduled_backup(make_vm(GuestAgent::kMissing), GeoCopy::kNone, at(day, 22h));
    ASSERT_FALSE(job->status.is_ok());
  }
  EXPECT_TRUE(item.expire_points(at(21)).empty());
  EXPECT_EQ(item.points().size(), 1u);
}

TEST(BackupItem, StoppedProtectionKeepsPointsPastRetentionUntilResumed) {
  BackupItem item("vm1", daily_at_22(7), at(0));
  VirtualMachine vm = make_vm();
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(0, 22h)).is_ok());
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(1, 22h)).is_ok());
  ASSERT_TRUE(item.stop_protection().is_ok());
  EXPECT_EQ(item.state(), BackupProtectionState::kProtectionStopped);
  EXPECT_EQ(item.next_backup_due(), kNever);
  EXPECT_TRUE(item.expire_points(at(100)).empty());
  EXPECT_EQ(item.points().size(), 2u);
  // Scheduled and on-demand backups are refused while stopped.
  EXPECT_EQ(item.run_on_demand_backup(vm, at(200), GeoCopy::kNone, at(100)).status().message(),
            "VM vm1 is ProtectionStopped; resume protection to back it up");

  ASSERT_TRUE(item.resume_protection(at(100, 1h)).is_ok());
  EXPECT_EQ(item.next_backup_due(), at(100, 22h));
  // The policy applies again: the older point goes, the newest stays.
  EXPECT_EQ(item.expire_points(at(100, 1h)).size(), 1u);
  EXPECT_EQ(created_days(item), std::vector<int>{1});
}

TEST(BackupItem, At9999PointsFurtherBackupsFailUntilOneExpires) {
  BackupItem item("vm1", daily_at_22(), at(0));
  VirtualMachine vm = make_vm();
  // The first point is kept one day, the rest for years.
  ASSERT_TRUE(item.run_on_demand_backup(vm, at(1), GeoCopy::kNone, at(0)).is_ok());
  for (size_t i = 1; i < kMaxRecoveryPointsPerItem; ++i) {
    ASSERT_TRUE(item.run_on_demand_backup(vm, at(3000), GeoCopy::kNone, at(0, 1h))->status.is_ok());
  }
  ASSERT_EQ(item.points().size(), 9999u);

  auto job = item.run_on_demand_backup(vm, at(3000), GeoCopy::kNone, at(0, 2h));
  ASSERT_TRUE(job.is_ok());
  EXPECT_EQ(job->status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(job->status.message(),
            "VM vm1 holds 9999 recovery points, the most Azure Backup keeps per item; shorten "
            "the policy's retention or wait for points to expire");
  EXPECT_FALSE(job->point.has_value());
  auto scheduled = item.run_scheduled_backup(vm, GeoCopy::kNone, at(0, 22h));
  EXPECT_EQ(scheduled->status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(item.points().size(), 9999u);

  ASSERT_EQ(item.expire_points(at(1)).size(), 1u);
  EXPECT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(1, 22h))->status.is_ok());
  EXPECT_EQ(item.points().size(), 9999u);
}

// --- Stop, soft delete, undelete, resume ---

TEST(BackupItem, DeletingDataOfAProtectedVmIsRefusedUntilProtectionStops) {
  BackupItem item("vm1", daily_at_22(), at(0));
  Status s = item.delete_data(at(1));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "VM vm1 is still protected: stop protection first, then delete its backup data");
  EXPECT_EQ(item.state(), BackupProtectionState::kProtected);
  ASSERT_TRUE(item.stop_protection().is_ok());
  EXPECT_TRUE(item.delete_data(at(1)).is_ok());
}

TEST(BackupItem, SoftDeletedDataCanBeUndeletedAt13Days23HoursThenResumed) {
  BackupItem item("vm1", daily_at_22(), at(0));
  ASSERT_TRUE(item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(0, 22h)).is_ok());
  ASSERT_TRUE(item.stop_protection().is_ok());
  ASSERT_TRUE(item.delete_data(at(2)).is_ok());
  EXPECT_EQ(item.state(), BackupProtectionState::kSoftDeleted);
  EXPECT_EQ(item.purge_at(), at(16));
  EXPECT_EQ(item.next_deadline(), at(16));
  EXPECT_FALSE(item.purge_due(at(15, 23h)));

  ASSERT_TRUE(item.undelete(at(15, 23h)).is_ok());
  EXPECT_EQ(item.state(), BackupProtectionState::kProtectionStopped);
  EXPECT_EQ(item.purge_at(), kNever);
  EXPECT_EQ(item.points().size(), 1u);
  ASSERT_TRUE(item.resume_protection(at(15, 23h)).is_ok());
  EXPECT_EQ(item.state(), BackupProtectionState::kProtected);
  EXPECT_EQ(item.next_backup_due(), at(16, 22h));
}

TEST(BackupItem, SoftDeletedDataIsPurgedAt14DaysAndCannotBeUndeleted) {
  BackupItem item("vm1", daily_at_22(), at(0));
  ASSERT_TRUE(item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(0, 22h)).is_ok());
  ASSERT_TRUE(item.stop_protection().is_ok());
  ASSERT_TRUE(item.delete_data(at(1)).is_ok());
  EXPECT_FALSE(item.purge_due(at(15) - 1ns));
  EXPECT_TRUE(item.purge_due(at(15)));
  Status s = item.undelete(at(15));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "backup data of VM vm1 was purged at day 15 00:00, 14 days after its deletion");
  EXPECT_EQ(item.state(), BackupProtectionState::kSoftDeleted);
}

TEST(BackupItem, SoftDeletedDataDoesNotExpireAndCannotBeDeletedAgain) {
  BackupItem item("vm1", daily_at_22(7), at(0));
  VirtualMachine vm = make_vm();
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(0, 22h)).is_ok());
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(1, 22h)).is_ok());
  ASSERT_TRUE(item.stop_protection().is_ok());
  ASSERT_TRUE(item.delete_data(at(2)).is_ok());
  EXPECT_TRUE(item.expire_points(at(12)).empty());
  EXPECT_EQ(item.delete_data(at(3)).message(),
            "backup data of VM vm1 is already soft-deleted; it is purged at day 16 00:00");
  EXPECT_EQ(item.resume_protection(at(3)).message(),
            "VM vm1 is SoftDeleted; undelete its backup data, then resume protection");
  EXPECT_EQ(item.stop_protection().code(), StatusCode::kFailedPrecondition);
}

TEST(BackupItem, UndeleteAndResumeNeedTheRightState) {
  BackupItem item("vm1", daily_at_22(), at(0));
  EXPECT_EQ(item.undelete(at(1)).message(), "backup data of VM vm1 is not deleted (Protected)");
  EXPECT_EQ(item.resume_protection(at(1)).message(),
            "VM vm1 is Protected; only stopped protection can resume");
}

TEST(BackupItem, DeletedSourceVmIsNoLongerScheduledNorResumable) {
  BackupItem item("vm1", daily_at_22(), at(0));
  ASSERT_TRUE(item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(0, 22h)).is_ok());
  item.on_source_vm_deleted();
  EXPECT_EQ(item.source(), SourceVm::kDeleted);
  EXPECT_EQ(item.next_backup_due(), kNever);
  EXPECT_EQ(item.run_scheduled_backup(make_vm(), GeoCopy::kNone, at(1, 22h)).status().message(),
            "VM vm1 was deleted; its recovery points stay restorable");
  ASSERT_TRUE(item.stop_protection().is_ok());
  EXPECT_EQ(item.resume_protection(at(2)).message(),
            "VM vm1 was deleted; there is nothing to protect");
}

// --- Stored bytes ---

TEST(BackupItem, VaultStoresTheFirstBackupFullThenTheChanges) {
  BackupPolicy p = daily_at_22();
  p.instant_restore_days = 2;
  BackupItem item("vm1", p, at(0));
  VirtualMachine vm = make_vm();  // 10 + 20 GiB used
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(0, 22h)).is_ok());
  ASSERT_TRUE(vm.disk("vm1-data0")->append(3 * kGiB).is_ok());
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(1, 22h)).is_ok());
  ASSERT_TRUE(vm.disk("vm1-os")->overwrite(1 * kGiB).is_ok());
  ASSERT_TRUE(item.run_scheduled_backup(vm, GeoCopy::kNone, at(2, 22h)).is_ok());
  EXPECT_EQ(item.vault_stored_bytes(), (30 + 3 + 1) * kGiB);
  // Instant-restore snapshots of days 1 and 2 are still kept on day 2 23:00; day 0's is gone,
  // so day 1's is the full one.
  EXPECT_EQ(item.snapshot_stored_bytes(at(2, 23h)), (33 + 1) * kGiB);
  EXPECT_EQ(item.snapshot_stored_bytes(at(4, 22h)), 0u);
}

TEST(BackupItem, StateNamesAreThePortalWords) {
  EXPECT_STREQ(backup_protection_state_name(BackupProtectionState::kProtected), "Protected");
  EXPECT_STREQ(backup_protection_state_name(BackupProtectionState::kProtectionStopped),
               "ProtectionStopped");
  EXPECT_STREQ(backup_protection_state_name(BackupProtectionState::kSoftDeleted), "SoftDeleted");
  EXPECT_STREQ(consistency_name(Consistency::kCrash), "CrashConsistent");
}

}  // namespace
}  // namespace drsim::model
