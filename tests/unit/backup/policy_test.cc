// BackupPolicy: validation of every field at its edges (1..5 backups a day is the brief's
// rule), the schedule over several days, retention tags and expiry on the drill calendar.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/model/backup/policy.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Day 0 is Monday 2024-01-01.
Time at(int day, Duration time_of_day = 0h) { return kTimeZero + day * kDay + time_of_day; }

BackupPolicy with_times(std::vector<Duration> times) {
  BackupPolicy p;
  p.backup_times = std::move(times);
  return p;
}

// --- Validation ---

TEST(BackupPolicy, DefaultsAreOneBackupADayKeptThirtyDaysWithTwoDaysOfSnapshots) {
  BackupPolicy p;
  EXPECT_TRUE(p.validate().is_ok());
  EXPECT_EQ(p.backup_times, std::vector<Duration>{22h});
  EXPECT_EQ(p.instant_restore_days, 2u);
  EXPECT_EQ(p.daily_days, 30u);
}

TEST(BackupPolicy, ZeroBackupsADayIsRefusedNamingTheBriefsRule) {
  Status s = with_times({}).validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "backup_times: 0 backups a day is out of range 1..5 (the brief's rule: a VM is "
            "backed up one to five times a day)");
}

TEST(BackupPolicy, SixBackupsADayIsRefusedNamingTheBriefsRule) {
  Status s = with_times({1h, 2h, 3h, 4h, 5h, 6h}).validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("backup_times: 6 backups a day is out of range 1..5"));
  EXPECT_THAT(s.message(), HasSubstr("the brief's rule"));
}

TEST(BackupPolicy, OneAndFiveBackupsADayAreValid) {
  EXPECT_TRUE(with_times({0h}).validate().is_ok());
  EXPECT_TRUE(with_times({1h, 2h, 3h, 4h, 23h + 59min + 59s}).validate().is_ok());
}

TEST(BackupPolicy, BackupTimeMustBeATimeOfDay) {
  EXPECT_EQ(with_times({24h}).validate().message(),
            "backup_times[0]: 24:00 is not a time of day (00:00 to 23:59:59)");
  EXPECT_EQ(with_times({6h, -1min}).validate().message(),
            "backup_times[1]: -00:01 is not a time of day (00:00 to 23:59:59)");
}

TEST(BackupPolicy, BackupTimesMustAscendWithoutRepeats) {
  EXPECT_EQ(with_times({6h, 6h}).validate().message(),
            "backup_times[1]: 06:00 must be later than backup_times[0] 06:00");
  EXPECT_EQ(with_times({6h, 18h, 12h + 30s}).validate().message(),
            "backup_times[2]: 12:00:30 must be later than backup_times[1] 18:00");
}

TEST(BackupPolicy, InstantRestoreDaysAreOneToFive) {
  BackupPolicy p;
  for (uint32_t days : {1u, 5u}) {
    p.instant_restore_days = days;
    EXPECT_TRUE(p.validate().is_ok()) << days;
  }
  p.instant_restore_days = 0;
  EXPECT_EQ(p.validate().message(), "instant_restore_days: 0 is out of range 1..5");
  p.instant_restore_days = 6;
  EXPECT_EQ(p.validate().message(), "instant_restore_days: 6 is out of range 1..5");
}

TEST(BackupPolicy, DailyRetentionIsSevenTo9999Days) {
  BackupPolicy p;
  p.daily_days = 6;
  EXPECT_EQ(p.validate().message(), "daily_days: 6 is out of range 7..9999");
  p.daily_days = 7;
  EXPECT_TRUE(p.validate().is_ok());
  p.daily_days = 9999;
  EXPECT_TRUE(p.validate().is_ok());
  p.daily_days = 10000;
  EXPECT_EQ(p.validate().message(), "daily_days: 10000 is out of range 7..9999");
}

TEST(BackupPolicy, DailyRuleThatWouldKeepMoreThan9999PointsIsRefused) {
  BackupPolicy p = with_times({1h, 5h, 9h, 13h, 17h});
  p.daily_days = 1999;  // 9995 points
  EXPECT_TRUE(p.validate().is_ok());
  p.daily_days = 2000;
  EXPECT_EQ(p.validate().message(),
            "daily_days: 5 backups a day kept 2000 days is 10000 recovery points; Azure Backup "
            "keeps at most 9999 per item");
}

TEST(BackupPolicy, WeeklyMonthlyYearlyRangesNameTheField) {
  BackupPolicy p;
  p.weekly_weeks = 5163;
  p.monthly_months = 1188;
  p.yearly_years = 99;
  EXPECT_TRUE(p.validate().is_ok());
  p.weekly_weeks = 5164;
  EXPECT_EQ(p.validate().message(), "weekly_weeks: 5164 is out of range 0..5163");
  p.weekly_weeks = 1;
  p.monthly_months = 1189;
  EXPECT_EQ(p.validate().message(), "monthly_months: 1189 is out of range 0..1188");
  p.monthly_months = 1;
  p.yearly_years = 100;
  EXPECT_EQ(p.validate().message(), "yearly_years: 100 is out of range 0..99");
}

TEST(BackupPolicy, MonthlyAndYearlyDaysExistInEveryMonth) {
  BackupPolicy p;
  p.monthly_on_day = 28;
  EXPECT_TRUE(p.validate().is_ok());
  p.monthly_on_day = 29;
  EXPECT_EQ(p.validate().message(), "monthly_on_day: 29 is out of range 1..28");
  p.monthly_on_day = 0;
  EXPECT_EQ(p.validate().message(), "monthly_on_day: 0 is out of range 1..28");
  p.monthly_on_day = 1;
  p.yearly_on = std::chrono::February / 28;
  EXPECT_TRUE(p.validate().is_ok());
  p.yearly_on = std::chrono::February / 29;
  EXPECT_EQ(p.validate().message(),
            "yearly_on: month 2 day 29 must be a month 1..12 and a day 1..28");
}

TEST(BackupPolicy, WeeklyOnMustBeAWeekday) {
  BackupPolicy p;
  p.weekly_on = std::chrono::weekday{9};
  EXPECT_EQ(p.validate().message(), "weekly_on: not a day of the week");
}

// --- Schedule ---

TEST(BackupPolicy, NextBackupDueIsTheSlotItselfWhenNowIsOnIt) {
  BackupPolicy p;
  EXPECT_EQ(p.next_backup_due(at(3, 22h)), at(3, 22h));
  EXPECT_EQ(p.next_backup_due(at(3, 22h) - 1ns), at(3, 22h));
  EXPECT_EQ(p.next_backup_due(at(3, 22h) + 1ns), at(4, 22h));
}

TEST(BackupPolicy, ScheduleOverSeveralDaysFollowsTheTimesOfDay) {
  BackupPolicy p = with_times({2h, 14h, 20h + 30min});
  std::vector<Time> slots;
  Time t = at(0, 15h);
  for (int i = 0; i < 7; ++i) {
    t = p.next_backup_due(t);
    slots.push_back(t);
    t += 1ns;
  }
  EXPECT_EQ(slots, (std::vector<Time>{at(0, 20h + 30min), at(1, 2h), at(1, 14h), at(1, 20h + 30min),
                                      at(2, 2h), at(2, 14h), at(2, 20h + 30min)}));
}

// --- Retention tags ---

TEST(BackupPolicy, EveryScheduledPointIsDaily) {
  BackupPolicy p = with_times({2h, 14h});
  EXPECT_EQ(p.tags_for(at(2, 2h)), (RetentionTags{.daily = true}));
  EXPECT_EQ(p.tags_for(at(2, 14h)), (RetentionTags{.daily = true}));
}

TEST(BackupPolicy, WeeklyTagGoesToTheFirstBackupOfTheWeekday) {
  BackupPolicy p = with_times({2h, 14h});
  p.weekly_weeks = 4;  // on Sunday: day 6 is Sunday 2024-01-07
  EXPECT_TRUE(p.tags_for(at(6, 2h)).weekly);
  EXPECT_FALSE(p.tags_for(at(6, 14h)).weekly);
  EXPECT_FALSE(p.tags_for(at(5, 2h)).weekly);
  EXPECT_TRUE(p.tags_for(at(13, 2h)).weekly);
  p.weekly_weeks = 0;  // rule off
  EXPECT_FALSE(p.tags_for(at(6, 2h)).weekly);
}

TEST(BackupPolicy, MonthlyAndYearlyTagsFollowTheCalendar) {
  BackupPolicy p;
  p.monthly_months = 6;
  p.monthly_on_day = 1;
  p.yearly_years = 2;
  p.yearly_on = std::chrono::February / 1;
  EXPECT_EQ(p.tags_for(at(0, 22h)), (RetentionTags{.daily = true, .monthly = true}));
  EXPECT_EQ(p.tags_for(at(1, 22h)), (RetentionTags{.daily = true}));
  // Day 31 is 2024-02-01.
  EXPECT_EQ(p.tags_for(at(31, 22h)),
            (RetentionTags{.daily = true, .monthly = true, .yearly = true}));
  // Day 60 is 2024-03-01 (2024 is a leap year).
  EXPECT_TRUE(p.tags_for(at(60, 22h)).monthly);
  EXPECT_FALSE(p.tags_for(at(60, 22h)).yearly);
}

// --- Expiry ---

TEST(BackupPolicy, DailyAndWeeklyExpiryAreWholeDaysAfterCreation) {
  BackupPolicy p;
  p.daily_days = 7;
  p.weekly_weeks = 4;
  EXPECT_EQ(p.expiry_of(at(0, 22h), RetentionTags{.daily = true}), at(7, 22h));
  EXPECT_EQ(p.expiry_of(at(6, 22h), RetentionTags{.daily = true, .weekly = true}), at(34, 22h));
}

TEST(BackupPolicy, MonthlyAndYearlyExpiryAreCalendarMonthsAndYears) {
  BackupPolicy p;
  p.monthly_months = 3;
  p.yearly_years = 1;
  // 2024-01-01 + 3 months = 2024-04-01 (day 91); + 1 year = 2025-01-01 (day 366).
  EXPECT_EQ(p.expiry_of(at(0, 22h), RetentionTags{.daily = true, .monthly = true}), at(91, 22h));
  EXPECT_EQ(p.expiry_of(at(0, 22h), RetentionTags{.daily = true, .monthly = true, .yearly = true}),
            at(366, 22h));
}

TEST(BackupPolicy, MonthEndMovesToTheLastDayOfAShorterMonth) {
  BackupPolicy p;
  p.monthly_months = 1;
  // Created 2024-01-31 (day 30), a late run: one month later is 2024-02-29 (day 59).
  EXPECT_EQ(p.expiry_of(at(30, 1h), RetentionTags{.monthly = true}), at(59, 1h));
}

TEST(BackupPolicy, InstantRestoreSnapshotIsKeptItsDays) {
  BackupPolicy p;
  p.instant_restore_days = 5;
  EXPECT_EQ(p.snapshot_until(at(2, 22h)), at(7, 22h));
}

TEST(BackupPolicy, DrillTimeReadsAsDayAndTimeOfDay) {
  EXPECT_EQ(format_drill_time(at(13, 23h)), "day 13 23:00");
  EXPECT_EQ(format_drill_time(at(0, 6h + 5min + 7s)), "day 0 06:05:07");
  EXPECT_EQ(format_time_of_day(9h + 30min), "09:30");
}

}  // namespace
}  // namespace drsim::model
