#include "common/model/siterecovery/recovery_point_schedule.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/core/check.h"
#include "common/model/siterecovery/policy.h"

namespace drsim::model {

const char* recovery_point_type_name(RecoveryPointType type) {
  switch (type) {
    case RecoveryPointType::kCrashConsistent:
      return "crash-consistent";
    case RecoveryPointType::kAppConsistent:
      return "app-consistent";
  }
  return "unknown";
}

std::optional<Duration> ladder_bucket_width(Duration age, Duration retention) {
  using std::chrono::hours;
  if (age <= kKeepEveryPointFor) return std::nullopt;
  if (retention <= hours(24)) return hours(1);
  if (retention <= kLadderTwoHourSpan) return hours(2);
  return age <= kLadderTwoHourSpan ? hours(2) : hours(4);
}

std::vector<RecoveryPointId> recovery_points_to_keep(const std::vector<RecoveryPoint>& points,
                                                     Time now, Duration retention) {
  std::vector<const RecoveryPoint*> sorted;
  for (const auto& p : points) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const RecoveryPoint* a, const RecoveryPoint* b) {
    return std::pair(a->time, a->id) < std::pair(b->time, b->id);
  });

  std::vector<RecoveryPointId> keep;
  std::set<std::pair<Duration::rep, Duration::rep>> buckets_taken;  // (width, bucket index)
  for (const RecoveryPoint* p : sorted) {
    const bool newest = p == sorted.back();
    const Duration age = now - p->time;
    bool kept = newest;
    if (age <= retention) {
      if (auto width = ladder_bucket_width(age, retention)) {
        // Oldest first, so the first point seen in a bucket is its earliest: keep that one.
        auto bucket = p->time.time_since_epoch() / *width;
        if (buckets_taken.insert({width->count(), bucket}).second) kept = true;
      } else {
        kept = true;
      }
    }
    if (kept) keep.push_back(p->id);
  }
  return keep;
}

namespace {

// First slot of the grid (spaced `interval`, current slot `due`) that lies after `now`.
Time next_slot_after(Time due, Duration interval, Time now) {
  due += interval;
  if (due <= now) due += ((now - due) / interval + 1) * interval;
  return due;
}

}  // namespace

RecoveryPointSchedule::RecoveryPointSchedule(std::optional<Duration> app_consistent_interval,
                                             Time start)
    : app_interval_(app_consistent_interval), next_crash_(start + kCrashConsistentInterval) {
  if (app_interval_) {
    DRSIM_CHECK(*app_interval_ > Duration::zero());
    next_app_ = start + *app_interval_;
  }
}

RecoveryPointSchedule RecoveryPointSchedule::resume(std::optional<Duration> app_consistent_interval,
                                                    Time next_crash, Time next_app) {
  RecoveryPointSchedule s(app_consistent_interval, kTimeZero);
  s.next_crash_ = next_crash;
  s.next_app_ = app_consistent_interval ? next_app : kNever;
  return s;
}

std::optional<RecoveryPointType> RecoveryPointSchedule::take_due(Time now) {
  const bool crash_due = next_crash_ <= now;
  const bool app_due = app_interval_ && next_app_ <= now;
  if (crash_due) next_crash_ = next_slot_after(next_crash_, kCrashConsistentInterval, now);
  if (app_due) next_app_ = next_slot_after(next_app_, *app_interval_, now);
  if (app_due) return RecoveryPointType::kAppConsistent;
  if (crash_due) return RecoveryPointType::kCrashConsistent;
  return std::nullopt;
}

}  // namespace drsim::model
