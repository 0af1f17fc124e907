#include "common/model/backup/policy.h"

#include <algorithm>
#include <cstdio>

#include "common/core/check.h"

namespace drsim::model {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

struct CivilTime {
  sys_days date;
  Duration time_of_day;
};

CivilTime civil(Time t) {
  Duration since = t - kTimeZero;
  auto whole_days = std::chrono::floor<days>(since);
  return {kDrillCalendarStart + whole_days, since - whole_days};
}

Time from_civil(sys_days date, Duration time_of_day) {
  return kTimeZero + (date - kDrillCalendarStart) + time_of_day;
}

// `t` plus whole calendar months, keeping the time of day. A day the target month lacks (a
// late point taken on the 31st) moves to that month's last day.
Time add_months(Time t, uint32_t months) {
  CivilTime c = civil(t);
  year_month_day ymd{c.date};
  ymd += std::chrono::months(months);
  if (!ymd.ok()) ymd = ymd.year() / ymd.month() / std::chrono::last;
  return from_civil(sys_days{ymd}, c.time_of_day);
}

std::string range_message(const char* field, uint64_t value, uint64_t lo, uint64_t hi) {
  return std::string(field) + ": " + std::to_string(value) + " is out of range " +
         std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

std::string format_time_of_day(Duration since_midnight) {
  std::string sign = since_midnight < Duration::zero() ? "-" : "";
  auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::abs(since_midnight));
  long long hours = s.count() / 3600, minutes = s.count() / 60 % 60, seconds = s.count() % 60;
  char buf[32];
  if (seconds == 0) {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", hours, minutes);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", hours, minutes, seconds);
  }
  return sign + buf;
}

std::string format_drill_time(Time t) {
  CivilTime c = civil(t);
  return "day " + std::to_string((c.date - kDrillCalendarStart).count()) + " " +
         format_time_of_day(c.time_of_day);
}

Status BackupPolicy::validate() const {
  const size_t per_day = backup_times.size();
  if (per_day < kMinBackupsPerDay || per_day > kMaxBackupsPerDay) {
    return invalid_argument("backup_times: " + std::to_string(per_day) +
                            " backups a day is out of range 1..5 (the brief's rule: a VM is "
                            "backed up one to five times a day)");
  }
  for (size_t i = 0; i < per_day; ++i) {
    const std::string field = "backup_times[" + std::to_string(i) + "]";
    if (backup_times[i] < Duration::zero() || backup_times[i] >= kDay) {
      return invalid_argument(field + ": " + format_time_of_day(backup_times[i]) +
                              " is not a time of day (00:00 to 23:59:59)");
    }
    if (i > 0 && backup_times[i] <= backup_times[i - 1]) {
      return invalid_argument(field + ": " + format_time_of_day(backup_times[i]) +
                              " must be later than backup_times[" + std::to_string(i - 1) + "] " +
                              format_time_of_day(backup_times[i - 1]));
    }
  }
  if (instant_restore_days < kMinInstantRestoreDays ||
      instant_restore_days > kMaxInstantRestoreDays) {
    return invalid_argument(range_message("instant_restore_days", instant_restore_days,
                                          kMinInstantRestoreDays, kMaxInstantRestoreDays));
  }
  if (daily_days < kMinDailyDays || daily_days > kMaxDailyDays) {
    return invalid_argument(range_message("daily_days", daily_days, kMinDailyDays, kMaxDailyDays));
  }
  if (per_day * daily_days > kMaxRecoveryPointsPerItem) {
    return invalid_argument("daily_days: " + std::to_string(per_day) + " backups a day kept " +
                            std::to_string(daily_days) + " days is " +
                            std::to_string(per_day * daily_days) +
                            " recovery points; Azure Backup keeps at most 9999 per item");
  }
  if (weekly_weeks > kMaxWeeklyWeeks) {
    return invalid_argument(range_message("weekly_weeks", weekly_weeks, 0, kMaxWeeklyWeeks));
  }
  if (!weekly_on.ok()) return invalid_argument("weekly_on: not a day of the week");
  if (monthly_months > kMaxMonthlyMonths) {
    return invalid_argument(range_message("monthly_months", monthly_months, 0, kMaxMonthlyMonths));
  }
  if (monthly_on_day < 1 || monthly_on_day > kMaxRetentionDayOfMonth) {
    return invalid_argument(
        range_message("monthly_on_day", monthly_on_day, 1, kMaxRetentionDayOfMonth));
  }
  if (yearly_years > kMaxYearlyYears) {
    return invalid_argument(range_message("yearly_years", yearly_years, 0, kMaxYearlyYears));
  }
  if (!yearly_on.month().ok() || unsigned{yearly_on.day()} < 1 ||
      unsigned{yearly_on.day()} > kMaxRetentionDayOfMonth) {
    return invalid_argument("yearly_on: month " + std::to_string(unsigned{yearly_on.month()}) +
                            " day " + std::to_string(unsigned{yearly_on.day()}) +
                            " must be a month 1..12 and a day 1..28");
  }
  return Status::ok();
}

Time BackupPolicy::next_backup_due(Time now) const {
  DRSIM_CHECK(!backup_times.empty());
  const sys_days today = civil(now).date;
  // Today's slots, else tomorrow's first: every time of day is < 24 h.
  for (sys_days date : {today, today + days(1)}) {
    for (Duration at : backup_times) {
      Time slot = from_civil(date, at);
      if (slot >= now) return slot;
    }
  }
  DRSIM_CHECK(false);
  return kNever;
}

RetentionTags BackupPolicy::tags_for(Time slot) const {
  DRSIM_CHECK(!backup_times.empty());
  const CivilTime c = civil(slot);
  const year_month_day ymd{c.date};
  // Weekly, monthly and yearly rules keep one point of their day: the first scheduled one.
  const bool first_of_day = c.time_of_day == backup_times.front();
  RetentionTags tags;
  tags.daily = true;
  tags.weekly = first_of_day && weekly_weeks > 0 && std::chrono::weekday{c.date} == weekly_on;
  tags.monthly = first_of_day && monthly_months > 0 && unsigned{ymd.day()} == monthly_on_day;
  tags.yearly = first_of_day && yearly_years > 0 && ymd.month() == yearly_on.month() &&
                ymd.day() == yearly_on.day();
  return tags;
}

Time BackupPolicy::expiry_of(Time created, RetentionTags tags) const {
  Time expiry = created;
  if (tags.daily) expiry = std::max(expiry, created + daily_days * kDay);
  if (tags.weekly) expiry = std::max(expiry, created + weekly_weeks * 7 * kDay);
  if (tags.monthly) expiry = std::max(expiry, add_months(created, monthly_months));
  if (tags.yearly) expiry = std::max(expiry, add_months(created, 12 * yearly_years));
  return expiry;
}

Time BackupPolicy::snapshot_until(Time created) const {
  return created + instant_restore_days * kDay;
}

}  // namespace drsim::model
