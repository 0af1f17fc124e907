// BackupPolicy: when a protected VM is backed up and how long each recovery point is kept —
// the schedule (1 to 5 times a day), instant-restore snapshot days and daily / weekly /
// monthly / yearly retention. Pure functions of the drill clock; used by BackupItem.
//
// Calendar: the drill clock's kTimeZero is midnight UTC at the start of Monday 2024-01-01
// (kDrillCalendarStart). Times of day, weekdays and dates are read on that calendar, so a
// drill that scales time still sees whole days, weeks and months pass.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

inline constexpr std::chrono::sys_days kDrillCalendarStart{std::chrono::year_month_day{
    std::chrono::year{2024}, std::chrono::January, std::chrono::day{1}}};
inline constexpr Duration kDay = std::chrono::hours(24);

// The brief's rule: "You can trigger a backup from one to five times per day".
inline constexpr size_t kMinBackupsPerDay = 1;
inline constexpr size_t kMaxBackupsPerDay = 5;
// Standard policy: instant-restore snapshots kept 1 to 5 days.
inline constexpr uint32_t kMinInstantRestoreDays = 1;
inline constexpr uint32_t kMaxInstantRestoreDays = 5;
// Azure Backup keeps at most 9,999 recovery points per protected item.
inline constexpr size_t kMaxRecoveryPointsPerItem = 9999;
// Retention ranges of the Azure portal (7-9999 days, up to 5163 weeks, 1188 months, 99 years;
// 0 turns a weekly / monthly / yearly rule off).
inline constexpr uint32_t kMinDailyDays = 7;
inline constexpr uint32_t kMaxDailyDays = 9999;
inline constexpr uint32_t kMaxWeeklyWeeks = 5163;
inline constexpr uint32_t kMaxMonthlyMonths = 1188;
inline constexpr uint32_t kMaxYearlyYears = 99;
// Monthly and yearly points fall on a day every month has.
inline constexpr unsigned kMaxRetentionDayOfMonth = 28;

// The retention rules that keep a scheduled recovery point. Every scheduled point is daily;
// the first scheduled backup of a matching day is also weekly / monthly / yearly.
struct RetentionTags {
  bool daily = false;
  bool weekly = false;
  bool monthly = false;
  bool yearly = false;
  bool operator==(const RetentionTags&) const = default;
};

struct BackupPolicy {
  // Times of day of the scheduled backups, ascending, each in [00:00, 24:00).
  std::vector<Duration> backup_times = {std::chrono::hours(22)};
  uint32_t instant_restore_days = 2;
  uint32_t daily_days = 30;
  uint32_t weekly_weeks = 0;
  std::chrono::weekday weekly_on = std::chrono::Sunday;
  uint32_t monthly_months = 0;
  unsigned monthly_on_day = 1;  // day of the month, 1..28
  uint32_t yearly_years = 0;
  std::chrono::month_day yearly_on = std::chrono::January / 1;  // day 1..28

  // INVALID_ARGUMENT naming the field and its allowed range. Also refuses a daily rule that
  // alone would keep more than kMaxRecoveryPointsPerItem points.
  Status validate() const;

  // The first scheduled backup at or after `now`.
  Time next_backup_due(Time now) const;

  // Tags of the backup scheduled at `slot` (a time next_backup_due returned).
  RetentionTags tags_for(Time slot) const;

  // When a point created at `created` with `tags` expires: the latest end among its rules.
  // Days and weeks are exact multiples of 24 h; months and years are calendar months and
  // years (2024-01-01 22:00 kept 1 month expires 2024-02-01 22:00).
  Time expiry_of(Time created, RetentionTags tags) const;

  // Instant-restore snapshot of a point created at `created` is kept until then.
  Time snapshot_until(Time created) const;
};

// "day 13 23:00" (":SS" only when the seconds are not zero): the drill clock for people.
std::string format_drill_time(Time t);
// "06:30", or "06:30:15".
std::string format_time_of_day(Duration since_midnight);

}  // namespace drsim::model
