// BackupClock: simulated time at a scale, scale changes keep the time so far, advance only
// forward, and the real delay until a simulated deadline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/backup/clock.h"
#include "common/model/backup/policy.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const Time kReal0 = kTimeZero + 1000s;

TEST(BackupClock, RunsScaleTimesRealTime) {
  BackupClock c(kTimeZero, kReal0, 86400);
  EXPECT_EQ(c.now(kReal0), kTimeZero);
  EXPECT_EQ(c.now(kReal0 + 1s), kTimeZero + kDay);
  EXPECT_EQ(c.now(kReal0 + 14s), kTimeZero + 14 * kDay);
}

TEST(BackupClock, ScaleChangeKeepsTheTimeSoFar) {
  BackupClock c(kTimeZero, kReal0, 3600);
  ASSERT_TRUE(c.set_scale(1, kReal0 + 2s).is_ok());
  EXPECT_EQ(c.now(kReal0 + 2s), kTimeZero + 2h);
  EXPECT_EQ(c.now(kReal0 + 3s), kTimeZero + 2h + 1s);
}

TEST(BackupClock, RefusesScaleOutOfRangeNamingTheField) {
  BackupClock c(kTimeZero, kReal0);
  for (double bad : {0.0, 0.5, -3.0, 2e7, std::numeric_limits<double>::quiet_NaN()}) {
    Status s = c.set_scale(bad, kReal0);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("time_scale"));
  }
  EXPECT_EQ(c.scale(), 1);
}

TEST(BackupClock, AdvancesForwardOnly) {
  BackupClock c(kTimeZero, kReal0);
  ASSERT_TRUE(c.advance(15 * kDay, kReal0).is_ok());
  EXPECT_EQ(c.now(kReal0), kTimeZero + 15 * kDay);
  EXPECT_EQ(c.advance(-1s, kReal0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.advance(11 * 366 * kDay, kReal0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.now(kReal0), kTimeZero + 15 * kDay);
}

TEST(BackupClock, RealDelayUntilASimulatedDeadline) {
  BackupClock c(kTimeZero, kReal0, 3600);
  EXPECT_EQ(c.real_delay_until(kTimeZero + 2h, kReal0), 2s);
  EXPECT_EQ(c.real_delay_until(kTimeZero, kReal0 + 1s), Duration::zero());
  EXPECT_EQ(c.real_delay_until(kNever, kReal0), Duration::max());
}

}  // namespace
}  // namespace drsim::model
