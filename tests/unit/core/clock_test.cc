// The Clock seam: the skew decorator moves wall time only, drsim's scaled time read by Site
// Recovery and Backup agrees between the two views, and the simulated clocks run on virtual time.
#include <gtest/gtest.h>

#include <vector>

#include "common/core/clock.h"
#include "common/core/drifting_scheduler.h"
#include "common/core/scheduler.h"

namespace drsim {
namespace {

using namespace std::chrono_literals;

TEST(SkewedClock, MovesWallTimeByTheOffsetAndLeavesMonotonicTimeAlone) {
  ManualClock base(kTimeZero + 5s);
  SkewedClock clock(base);
  EXPECT_EQ(clock.wall_unix_nanos(), base.wall_unix_nanos());

  EXPECT_EQ(clock.set_offset(90s), Duration::zero());  // answers the skew it replaced
  EXPECT_EQ(clock.offset(), 90s);
  EXPECT_EQ(clock.wall_unix_nanos(), base.wall_unix_nanos() + Duration(90s).count());
  EXPECT_EQ(clock.now(), base.now());  // leases and timers never see a skew

  base.advance(1s);
  EXPECT_EQ(clock.now(), kTimeZero + 6s);
  EXPECT_EQ(clock.wall_unix_nanos(), base.wall_unix_nanos() + Duration(90s).count());

  EXPECT_EQ(clock.set_offset(-2500ms), 90s);
  EXPECT_EQ(clock.wall_unix_nanos(), base.wall_unix_nanos() - Duration(2500ms).count());
}

TEST(SkewedClock, EachProcessClockHasItsOwnSkew) {
  // Two daemons of one test process (the simulator runs a topology in one process): skewing
  // one does not move the other, as the former process-wide offset did.
  ManualClock base;
  SkewedClock primary(base);
  SkewedClock secondary(base);
  primary.set_offset(10min);
  EXPECT_EQ(secondary.offset(), Duration::zero());
  EXPECT_EQ(secondary.wall_unix_nanos(), base.wall_unix_nanos());
  EXPECT_EQ(primary.wall_unix_nanos() - secondary.wall_unix_nanos(), Duration(10min).count());
}

TEST(ScaledClock, SiteRecoveryAndBackupViewsOfOneProcessClockAgree) {
  // What the region daemon builds: one process clock; the Site Recovery vault's scaled clock
  // and the backup clock over it, both from the same start at the same scale.
  ManualClock process(kTimeZero + 1000s);
  const Time start = process.now();
  ScaledClock site_recovery(process, start, 300);
  ScaledClock backup(process, start, 300);
  for (Duration step : {Duration(1ms), Duration(1s), Duration(12s), Duration(1h)}) {
    process.advance(step);
    EXPECT_EQ(site_recovery.now(), backup.now());
  }
  // 1 h + 13.001 s of real time at 300x: the recovery point and the backup are on day 12.
  EXPECT_EQ(site_recovery.now() - start, 300 * (1h + 13s + 1ms));
  EXPECT_EQ((backup.now() - start) / std::chrono::hours(24), 12);
}

TEST(ScaledClock, RunsFromTheBaseClockAndKeepsItsTimeAcrossScaleChanges) {
  ManualClock process(kTimeZero + 7s);
  ScaledClock clock(process, kTimeZero, 3600);
  process.advance(2s);
  EXPECT_EQ(clock.now(), kTimeZero + 2h);
  ASSERT_TRUE(clock.set_scale(1).is_ok());
  process.advance(1s);
  EXPECT_EQ(clock.now(), kTimeZero + 2h + 1s);
  ASSERT_TRUE(clock.advance(24h).is_ok());
  EXPECT_EQ(clock.now(), kTimeZero + 26h + 1s);
  EXPECT_FALSE(clock.advance(-1s).is_ok());
  EXPECT_FALSE(clock.set_scale(0.5).is_ok());
  EXPECT_EQ(clock.scale(), 1);
  // A deadline one scaled hour away is one base hour away at scale 1, 1 s at 3600.
  EXPECT_EQ(clock.base_delay_until(clock.now() + 1h), 1h);
  ASSERT_TRUE(clock.set_scale(3600).is_ok());
  EXPECT_EQ(clock.base_delay_until(clock.now() + 1h), 1s);
  // Continued from a restored time at the same scale.
  clock.restart_at(kTimeZero + 100h);
  process.advance(1s);
  EXPECT_EQ(clock.now(), kTimeZero + 101h);
}

TEST(DriftingScheduler, TimeAndTimersRunAtTheDriftedRateAndStayContinuousAcrossChanges) {
  SimScheduler base;
  DriftingScheduler clock(base);
  base.run_for(1s);
  EXPECT_EQ(clock.now(), base.now());  // no drift yet: the base's time

  clock.set_rate(-0.25);  // a quarter slow
  Time start = clock.now();
  int64_t wall_start = clock.wall_unix_nanos();
  base.run_for(4s);
  EXPECT_EQ(clock.now() - start, 3s);
  EXPECT_EQ(clock.wall_unix_nanos() - wall_start, std::chrono::nanoseconds(3s).count());

  // A timer 3 s ahead on the drifted clock fires 4 s later in real time, when the drifted clock
  // reads its deadline.
  Time fired_real = kNever, fired_drifted = kNever;
  Time deadline = clock.now() + 3s;
  Time real_armed = base.now();
  clock.schedule_at(deadline, [&] {
    fired_real = base.now();
    fired_drifted = clock.now();
  });
  base.run_until_idle();
  EXPECT_EQ(fired_real - real_armed, 4s);
  EXPECT_EQ(fired_drifted, deadline);

  // A new rate continues from where the clock is: no jump.
  Time before = clock.now();
  clock.set_rate(0.5);
  EXPECT_EQ(clock.now(), before);
  base.run_for(2s);
  EXPECT_EQ(clock.now() - before, 3s);
  EXPECT_DOUBLE_EQ(clock.rate(), 0.5);
}

TEST(ManualClock, WallTimeRunsWithMonotonicTime) {
  ManualClock clock(kTimeZero + 3s);
  EXPECT_EQ(clock.wall_unix_nanos(), kSimWallStartUnixNanos);
  clock.advance(250ms);
  EXPECT_EQ(clock.wall_unix_nanos(), kSimWallStartUnixNanos + Duration(250ms).count());
}

TEST(SimScheduler, IsAVirtualClockWhoseWallTimeFollowsTheJumps) {
  SimScheduler s;
  const Clock& clock = s;
  s.schedule_after(36h, [] {});
  s.run_until_idle();
  EXPECT_EQ(clock.now(), kTimeZero + 36h);
  EXPECT_EQ(clock.wall_unix_nanos(), kSimWallStartUnixNanos + Duration(36h).count());
}

TEST(SimScheduler, PostRunsAfterTheRunningTaskAtTheSameVirtualTime) {
  SimScheduler s;
  Executor& executor = s;
  std::vector<int> order;
  s.schedule_after(1s, [&] {
    executor.post([&] { order.push_back(3); });
    order.push_back(1);
  });
  s.schedule_after(1s, [&] { order.push_back(2); });
  s.run_until_idle();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(s.now(), kTimeZero + 1s);
}

}  // namespace
}  // namespace drsim
