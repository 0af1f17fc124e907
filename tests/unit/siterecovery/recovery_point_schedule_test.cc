// Recovery point cadence (crash-consistent every 5 minutes, app-consistent per policy) and the
// retention ladder: exact small cases, then 16 simulated days on the manual clock checking
// the ladder's properties after every prune.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <vector>

#include "common/core/clock.h"
#include "common/model/siterecovery/recovery_point_log.h"
#include "common/model/siterecovery/recovery_point_schedule.h"
#include "common/model/siterecovery/policy.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
constexpr Duration kDay = 24h;
// Aligned on a 4h boundary so the ladder's buckets start at hour marks in the examples.
constexpr Time kT0 = kTimeZero + 100 * kDay;

RecoveryPoint point_at(uint64_t id, Time t,
                       RecoveryPointType type = RecoveryPointType::kCrashConsistent) {
  return RecoveryPoint{RecoveryPointId(id), t, type, {}};
}

// One crash-consistent point every 5 minutes in [from, to].
std::vector<RecoveryPoint> every_five_minutes(Time from, Time to) {
  std::vector<RecoveryPoint> points;
  uint64_t id = 1;
  for (Time t = from; t <= to; t += 5min) points.push_back(point_at(id++, t));
  return points;
}

std::vector<Time> kept_times(const std::vector<RecoveryPoint>& points, Time now,
                             Duration retention) {
  std::vector<Time> times;
  for (RecoveryPointId id : recovery_points_to_keep(points, now, retention)) {
    for (const auto& p : points) {
      if (p.id == id) times.push_back(p.time);
    }
  }
  return times;
}

// --- Ladder: bucket widths ---

TEST(RecoveryPointLadder, EveryPointOfTheLastTwoHoursIsInNoBucket) {
  for (Duration retention : {Duration(1h), kDay, 3 * kDay, 15 * kDay}) {
    EXPECT_FALSE(ladder_bucket_width(0s, retention).has_value());
    EXPECT_FALSE(ladder_bucket_width(2h, retention).has_value());
    EXPECT_FALSE(ladder_bucket_width(-5min, retention).has_value());  // from the future
    EXPECT_TRUE(ladder_bucket_width(2h + 1ns, retention).has_value());
  }
}

TEST(RecoveryPointLadder, BucketWidthFollowsRetentionAndAge) {
  struct Case {
    Duration retention;
    Duration age;
    Duration width;
  };
  const std::vector<Case> cases = {
      {kDay, 2h + 1s, 1h},            // retention 1 day: one per hour
      {kDay, kDay, 1h},               //
      {12h, 5h, 1h},                  // shorter retention: still hourly
      {kDay + 1s, 3h, 2h},            // 2-7 days: one per 2 hours
      {7 * kDay, 7 * kDay, 2h},       //
      {8 * kDay, 7 * kDay, 2h},       // 8-15 days: 2 hours up to 7 days of age ...
      {8 * kDay, 7 * kDay + 1s, 4h},  // ... then one per 4 hours
      {15 * kDay, 3h, 2h},            //
      {15 * kDay, 15 * kDay, 4h},     //
  };
  for (const Case& c : cases) {
    auto w = ladder_bucket_width(c.age, c.retention);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(*w, c.width) << "retention " << c.retention / 1h << "h age " << c.age / 1s << "s";
  }
}

// --- Ladder: which points are kept ---

TEST(RecoveryPointLadder, KeepsEveryPointOfTheLastTwoHours) {
  auto points = every_five_minutes(kT0, kT0 + 2h);
  EXPECT_EQ(recovery_points_to_keep(points, kT0 + 2h, kDay).size(), points.size());
}

TEST(RecoveryPointLadder, OneDayRetentionKeepsTheFirstPointOfEachHourBeyondTwoHours) {
  auto points = every_five_minutes(kT0, kT0 + 10h);
  const Time now = kT0 + 10h;
  std::vector<Time> expected;
  for (int h = 0; h < 8; ++h) expected.push_back(kT0 + h * 1h);        // 00:00 .. 07:00
  for (Time t = kT0 + 8h; t <= now; t += 5min) expected.push_back(t);  // age <= 2h: all 25
  EXPECT_EQ(kept_times(points, now, kDay), expected);
}

TEST(RecoveryPointLadder, ThreeDayRetentionKeepsOnePointPerTwoHours) {
  auto points = every_five_minutes(kT0, kT0 + 10h);
  const Time now = kT0 + 10h;
  std::vector<Time> expected = {kT0, kT0 + 2h, kT0 + 4h, kT0 + 6h};
  for (Time t = kT0 + 8h; t <= now; t += 5min) expected.push_back(t);
  EXPECT_EQ(kept_times(points, now, 3 * kDay), expected);
}

TEST(RecoveryPointLadder, FifteenDayRetentionThinsToFourHoursBeyondSevenDays) {
  // Hourly points over 9 days; at kT0 + 9d the first two days are older than 7 days.
  std::vector<RecoveryPoint> points;
  for (int h = 0; h <= 9 * 24; ++h) points.push_back(point_at(h + 1, kT0 + h * 1h));
  const Time now = kT0 + 9 * kDay;
  auto kept = kept_times(points, now, 15 * kDay);
  std::vector<Time> expected;
  for (int h = 0; h < 48; h += 4) expected.push_back(kT0 + h * 1h);           // age > 7d
  for (int h = 48; h < 9 * 24 - 2; h += 2) expected.push_back(kT0 + h * 1h);  // 2h buckets
  for (int h = 9 * 24 - 2; h <= 9 * 24; ++h) expected.push_back(kT0 + h * 1h);
  EXPECT_EQ(kept, expected);
}

TEST(RecoveryPointLadder, NothingOlderThanRetention) {
  auto points = every_five_minutes(kT0, kT0 + 2 * kDay);
  const Time now = kT0 + 2 * kDay;
  for (Time t : kept_times(points, now, kDay)) EXPECT_LE(now - t, kDay);
  // A point exactly retention old is still kept; one a nanosecond older is not.
  std::vector<RecoveryPoint> edge = {point_at(1, now - kDay - 1ns), point_at(2, now - kDay),
                                     point_at(3, now)};
  EXPECT_EQ(recovery_points_to_keep(edge, now, kDay),
            (std::vector<RecoveryPointId>{RecoveryPointId(2), RecoveryPointId(3)}));
}

TEST(RecoveryPointLadder, NewestPointIsKeptEvenBeyondRetention) {
  // Replication stalled for two days: the newest point is all a failover has left.
  std::vector<RecoveryPoint> points = {point_at(1, kT0), point_at(2, kT0 + 5min)};
  EXPECT_EQ(recovery_points_to_keep(points, kT0 + 3 * kDay, kDay),
            (std::vector<RecoveryPointId>{RecoveryPointId(2)}));
  // And when it shares an hour bucket with an older kept point, both stay.
  points = {point_at(1, kT0), point_at(2, kT0 + 30min)};
  EXPECT_EQ(recovery_points_to_keep(points, kT0 + 5h, kDay).size(), 2u);
}

TEST(RecoveryPointLadder, InputOrderDoesNotMatterAndTiesGoToTheLowerId) {
  auto points = every_five_minutes(kT0, kT0 + 6h);
  auto expected = recovery_points_to_keep(points, kT0 + 6h, kDay);
  std::reverse(points.begin(), points.end());
  EXPECT_EQ(recovery_points_to_keep(points, kT0 + 6h, kDay), expected);

  std::vector<RecoveryPoint> tie = {point_at(9, kT0), point_at(4, kT0), point_at(10, kT0 + 4h)};
  EXPECT_EQ(recovery_points_to_keep(tie, kT0 + 4h, kDay),
            (std::vector<RecoveryPointId>{RecoveryPointId(4), RecoveryPointId(10)}));
}

TEST(RecoveryPointLadder, PointKeptBeyondTwoHoursStaysKeptUntilRetention) {
  // Stability: pruning every 5 minutes for a day never swaps a bucket's representative.
  RecoveryPointLog log;
  ManualClock clock(kT0);
  std::map<uint64_t, Time> first_seen_beyond_window;
  for (int i = 0; i < 24 * 12; ++i) {
    log.cut(RecoveryPointType::kCrashConsistent, clock.now());
    log.prune(clock.now(), kDay);
    for (const auto& p : log.points()) {
      if (clock.now() - p.time > 2h) first_seen_beyond_window.try_emplace(p.id.value(), p.time);
    }
    clock.advance(5min);
  }
  // Every point that was ever kept past the 2h window is still there (none is older than 1d).
  for (const auto& [id, t] : first_seen_beyond_window) {
    EXPECT_NE(log.find(RecoveryPointId(id)), nullptr) << "point " << id << " was dropped";
  }
  EXPECT_GE(first_seen_beyond_window.size(), 20u);
}

// --- 16 simulated days: ladder properties after every prune ---

struct LadderCase {
  Duration retention;
  size_t min_kept_at_end;
  size_t max_kept_at_end;
};

void PrintTo(const LadderCase& c, std::ostream* os) {
  *os << "retention " << recovery_duration_text(c.retention);
}

class RecoveryPointLadderSimulation : public ::testing::TestWithParam<LadderCase> {};

// The ladder restated from facts.md, independently of the implementation.
Duration expected_width(Duration age, Duration retention) {
  if (retention <= kDay) return 1h;
  if (retention <= 7 * kDay) return 2h;
  return age <= 7 * kDay ? 2h : 4h;
}

TEST_P(RecoveryPointLadderSimulation, KeptPointsSatisfyTheLadderAtEveryStep) {
  const Duration retention = GetParam().retention;
  RecoveryPointLog log;
  RecoveryPointSchedule schedule(1h, kT0);
  ManualClock clock(kT0);
  std::vector<Time> cut_times;
  uint64_t seq = 0;

  while (clock.now() < kT0 + 16 * kDay) {
    clock.advance(5min);
    const Time now = clock.now();
    auto type = schedule.take_due(now);
    ASSERT_TRUE(type.has_value()) << "a point is due on every 5-minute tick";
    ASSERT_TRUE(log.on_replicated("orders", Seq(++seq)).is_ok());
    cut_times.push_back(log.cut(*type, now).time);
    log.prune(now, retention);

    const auto& kept = log.points();
    ASSERT_FALSE(kept.empty());
    // The newest point is always kept.
    ASSERT_EQ(kept.back().time, cut_times.back());
    // Every point of the last 2 hours is kept.
    size_t recent = 0;
    for (auto it = cut_times.rbegin(); it != cut_times.rend() && now - *it <= 2h; ++it) ++recent;
    size_t kept_recent = 0;
    for (const auto& p : kept) kept_recent += now - p.time <= 2h ? 1 : 0;
    ASSERT_EQ(kept_recent, recent) << "at day " << (now - kT0) / 1h / 24.0;

    std::set<std::pair<int64_t, int64_t>> buckets;
    for (size_t i = 0; i < kept.size(); ++i) {
      const Duration age = now - kept[i].time;
      if (i > 0) {
        ASSERT_LT(kept[i - 1].time, kept[i].time) << "kept in time order";
      }
      // Nothing older than retention (the newest is never that old here).
      ASSERT_LE(age, retention);
      if (age <= 2h) continue;
      const Duration w = expected_width(age, retention);
      // At most one point per bucket beyond 2 hours ...
      ASSERT_TRUE(buckets.insert({w.count(), kept[i].time.time_since_epoch() / w}).second)
          << "two points in one " << w / 1h << "h bucket at age " << age / 1min << "m";
      // ... and no bucket skipped: the next kept point is less than two buckets later.
      ASSERT_LT(i + 1, kept.size());
      ASSERT_LT(kept[i + 1].time - kept[i].time, 2 * w);
    }
    // Retention is used: the oldest point is less than one bucket pair younger than it.
    if (now - kT0 > retention) {
      const Duration oldest_age = now - kept.front().time;
      ASSERT_GT(oldest_age, retention - 2 * expected_width(retention, retention));
    }
  }
  EXPECT_GE(log.points().size(), GetParam().min_kept_at_end);
  EXPECT_LE(log.points().size(), GetParam().max_kept_at_end);
}

// 25 points in the 2h window, then: 22 hourly (1d); 35 two-hourly (3d); 83 two-hourly and 48
// four-hourly (15d); give or take the partial buckets at both ends.
INSTANTIATE_TEST_SUITE_P(Retentions, RecoveryPointLadderSimulation,
                         ::testing::Values(LadderCase{24h, 45, 49}, LadderCase{3 * kDay, 58, 62},
                                           LadderCase{15 * kDay, 153, 159}),
                         [](const auto& param_info) {
                           return "retention" + std::to_string(param_info.param.retention / 1h) +
                                  "h";
                         });

// --- Schedule ---

TEST(RecoveryPointSchedule, CrashConsistentPointEveryFiveMinutes) {
  RecoveryPointSchedule s(std::nullopt, kT0);
  EXPECT_EQ(s.next_crash_consistent_due(), kT0 + 5min);
  EXPECT_EQ(s.next_app_consistent_due(), kNever);
  EXPECT_EQ(s.next_deadline(), kT0 + 5min);
  EXPECT_FALSE(s.take_due(kT0 + 5min - 1ns).has_value());
  EXPECT_EQ(s.take_due(kT0 + 5min), RecoveryPointType::kCrashConsistent);
  EXPECT_FALSE(s.take_due(kT0 + 5min).has_value()) << "taken once";
  EXPECT_EQ(s.next_deadline(), kT0 + 10min);
}

TEST(RecoveryPointSchedule, AppConsistentOffMeansOnlyCrashPointsForADay) {
  RecoveryPointSchedule s(std::nullopt, kT0);
  int crash = 0;
  for (Time t = kT0 + 5min; t <= kT0 + kDay; t += 5min) {
    crash += s.take_due(t) == RecoveryPointType::kCrashConsistent ? 1 : 0;
  }
  EXPECT_EQ(crash, 288);
}

TEST(RecoveryPointSchedule, HourlyAppConsistentPointStandsForThatSlotsCrashPoint) {
  RecoveryPointSchedule s(1h, kT0);
  EXPECT_EQ(s.next_app_consistent_due(), kT0 + 1h);
  std::map<RecoveryPointType, int> counts;
  for (Time t = kT0 + 5min; t <= kT0 + kDay; t += 5min) {
    auto type = s.take_due(t);
    ASSERT_TRUE(type.has_value());
    ++counts[*type];
    if ((t - kT0) % 1h == Duration::zero()) {
      EXPECT_EQ(*type, RecoveryPointType::kAppConsistent);
    }
  }
  EXPECT_EQ(counts[RecoveryPointType::kAppConsistent], 24);
  EXPECT_EQ(counts[RecoveryPointType::kCrashConsistent], 288 - 24);
}

TEST(RecoveryPointSchedule, AppConsistentGridOffTheCrashGridIsItsOwnDeadline) {
  RecoveryPointSchedule s(61min, kT0);
  for (Time t = kT0 + 5min; t <= kT0 + 60min; t += 5min) {
    EXPECT_EQ(s.take_due(t), RecoveryPointType::kCrashConsistent);
  }
  EXPECT_EQ(s.next_deadline(), kT0 + 61min);
  EXPECT_EQ(s.take_due(kT0 + 61min), RecoveryPointType::kAppConsistent);
  EXPECT_EQ(s.next_deadline(), kT0 + 65min);
  EXPECT_EQ(s.next_app_consistent_due(), kT0 + 122min);
}

TEST(RecoveryPointSchedule, LateTickGetsOnePointAndKeepsTheGrid) {
  RecoveryPointSchedule s(1h, kT0);
  EXPECT_EQ(s.take_due(kT0 + 17min), RecoveryPointType::kCrashConsistent);
  EXPECT_EQ(s.next_crash_consistent_due(), kT0 + 20min);
  // Three hours late: one point (app-consistent, that grid was due too), no burst.
  EXPECT_EQ(s.take_due(kT0 + 3h + 1min), RecoveryPointType::kAppConsistent);
  EXPECT_FALSE(s.take_due(kT0 + 3h + 1min).has_value());
  EXPECT_EQ(s.next_crash_consistent_due(), kT0 + 3h + 5min);
  EXPECT_EQ(s.next_app_consistent_due(), kT0 + 4h);
}

}  // namespace
}  // namespace drsim::model
