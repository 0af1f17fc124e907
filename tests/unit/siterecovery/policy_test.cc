// Site Recovery replication policy limits: retention 1..15 days, app-consistent at most hourly,
// RPO threshold not below the crash-consistent interval; and how durations read in messages.
#include <gtest/gtest.h>

#include "common/model/siterecovery/policy.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

TEST(ReplicationPolicy, DefaultsAreOneDayRetentionAppConsistentOffAndValid) {
  ReplicationPolicy p;
  EXPECT_EQ(p.retention, 24h);
  EXPECT_FALSE(p.app_consistent_interval.has_value());
  EXPECT_TRUE(p.validate().is_ok());
}

TEST(ReplicationPolicy, RetentionUpToFifteenDays) {
  ReplicationPolicy p;
  p.retention = 15 * 24h;
  EXPECT_TRUE(p.validate().is_ok());
  p.retention = 1ns;
  EXPECT_TRUE(p.validate().is_ok());

  p.retention = 16 * 24h;
  Status s = p.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "retention: 16d exceeds the Site Recovery maximum of 15d");
  p.retention = 15 * 24h + 1s;
  EXPECT_EQ(p.validate().code(), StatusCode::kInvalidArgument);
}

TEST(ReplicationPolicy, RetentionMustBePositive) {
  ReplicationPolicy p;
  p.retention = 0s;
  EXPECT_EQ(p.validate().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.validate().message().rfind("retention:", 0), 0u);
  p.retention = -1h;
  EXPECT_EQ(p.validate().code(), StatusCode::kInvalidArgument);
}

TEST(ReplicationPolicy, AppConsistentAtMostHourly) {
  ReplicationPolicy p;
  p.app_consistent_interval = 60min;
  EXPECT_TRUE(p.validate().is_ok());
  p.app_consistent_interval = 12h;
  EXPECT_TRUE(p.validate().is_ok());

  p.app_consistent_interval = 59min;
  Status s = p.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("app_consistent_interval: 59m is too frequent", 0), 0u)
      << s.message();
  p.app_consistent_interval = 1h - 1s;
  EXPECT_EQ(p.validate().code(), StatusCode::kInvalidArgument);
}

TEST(ReplicationPolicy, RpoThresholdNotBelowTheCrashConsistentInterval) {
  ReplicationPolicy p;
  p.rpo_threshold = 5min;
  EXPECT_TRUE(p.validate().is_ok());
  p.rpo_threshold = 5min - 1s;
  Status s = p.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("rpo_threshold:", 0), 0u);
}

TEST(ReplicationPolicy, DurationsReadLikeTheFacts) {
  EXPECT_EQ(recovery_duration_text(0s), "0s");
  EXPECT_EQ(recovery_duration_text(5min), "5m");
  EXPECT_EQ(recovery_duration_text(90min), "1h30m");
  EXPECT_EQ(recovery_duration_text(15 * 24h), "15d");
  EXPECT_EQ(recovery_duration_text(24h + 2h + 3min + 4s), "1d2h3m4s");
  EXPECT_EQ(recovery_duration_text(250ms), "250ms");
  EXPECT_EQ(recovery_duration_text(-2h), "-2h");
}

}  // namespace
}  // namespace drsim::model
