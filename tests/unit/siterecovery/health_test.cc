// Replication health: Not applicable when not replicating; Warning past the RPO threshold,
// Critical past twice it or on a replication error; lag from the newest point, or from the
// last data during a sync.
#include <gtest/gtest.h>

#include <string>

#include "common/model/siterecovery/health.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
constexpr Time kT0 = kTimeZero + 1000h;
constexpr Duration kThreshold = 15min;

ReplicationSignals replicating(Time newest_point) {
  return ReplicationSignals{.activity = ReplicationActivity::kReplicating,
                            .replicating_since = kT0,
                            .newest_point = newest_point,
                            .last_heard = newest_point,
                            .error = std::nullopt};
}

TEST(ReplicationHealth, NotReplicatingIsNotApplicable) {
  ReplicationSignals s;  // e.g. failed over: whatever the points say
  s.newest_point = kT0;
  s.error = "boom";
  auto h = assess_replication_health(s, kThreshold, kT0 + 10 * 24h);
  EXPECT_EQ(h.health, ReplicationHealth::kNotApplicable);
  EXPECT_FALSE(h.lag.has_value());
  EXPECT_EQ(h.escalates_after, kNever);
  EXPECT_STREQ(replication_health_name(h.health), "Not applicable");
}

TEST(ReplicationHealth, LagBoundariesAreExceededNotReached) {
  struct Case {
    Duration lag;
    ReplicationHealth health;
  };
  const Case cases[] = {
      {0s, ReplicationHealth::kHealthy},
      {kThreshold, ReplicationHealth::kHealthy},
      {kThreshold + 1ns, ReplicationHealth::kWarning},
      {2 * kThreshold, ReplicationHealth::kWarning},
      {2 * kThreshold + 1ns, ReplicationHealth::kCritical},
      {24h, ReplicationHealth::kCritical},
  };
  for (const Case& c : cases) {
    auto h = assess_replication_health(replicating(kT0), kThreshold, kT0 + c.lag);
    EXPECT_EQ(h.health, c.health) << "lag " << c.lag.count() << "ns";
    EXPECT_EQ(h.lag, c.lag);
  }
}

TEST(ReplicationHealth, EscalationTimeIsTheNextBoundary) {
  const Time newest = kT0 + 1h;
  EXPECT_EQ(
      assess_replication_health(replicating(newest), kThreshold, newest + 1min).escalates_after,
      newest + kThreshold);
  EXPECT_EQ(
      assess_replication_health(replicating(newest), kThreshold, newest + 20min).escalates_after,
      newest + 2 * kThreshold);
  EXPECT_EQ(assess_replication_health(replicating(newest), kThreshold, newest + 1h).escalates_after,
            kNever);
}

TEST(ReplicationHealth, ReasonNamesTheLagAndTheThreshold) {
  auto h = assess_replication_health(replicating(kT0), kThreshold, kT0 + 20min);
  EXPECT_EQ(h.reason, "newest recovery point is 20m old, over the RPO threshold 15m");
  h = assess_replication_health(replicating(kT0), kThreshold, kT0 + 31min);
  EXPECT_EQ(h.reason, "newest recovery point is 31m old, over twice the RPO threshold 15m");
  // A lag of a second or more in whole seconds, not milliseconds; under a second, as it is.
  h = assess_replication_health(replicating(kT0), kThreshold, kT0 + 681761ms);
  EXPECT_EQ(h.reason, "newest recovery point is 11m21s old, within the RPO threshold 15m");
  EXPECT_EQ(*h.lag, 681761ms);
  h = assess_replication_health(replicating(kT0), kThreshold, kT0 + 250ms);
  EXPECT_EQ(h.reason, "newest recovery point is 250ms old, within the RPO threshold 15m");
}

TEST(ReplicationHealth, ReplicationErrorIsCriticalEvenWithAFreshPoint) {
  ReplicationSignals s = replicating(kT0);
  s.error = "target storage account throttled";
  auto h = assess_replication_health(s, kThreshold, kT0 + 1min);
  EXPECT_EQ(h.health, ReplicationHealth::kCritical);
  EXPECT_EQ(h.reason, "replication error: target storage account throttled");
  EXPECT_EQ(h.lag, 1min);
}

TEST(ReplicationHealth, SyncLagCountsFromTheLastDataNotFromPoints) {
  ReplicationSignals s{.activity = ReplicationActivity::kSyncing,
                       .replicating_since = kT0,
                       .newest_point = std::nullopt,
                       .last_heard = kT0 + 3h,
                       .error = std::nullopt};
  // A long initial replication that keeps sending is healthy.
  EXPECT_EQ(assess_replication_health(s, kThreshold, kT0 + 3h + 10min).health,
            ReplicationHealth::kHealthy);
  EXPECT_EQ(assess_replication_health(s, kThreshold, kT0 + 3h + 16min).health,
            ReplicationHealth::kWarning);
  // Nothing heard at all: measured from the start of the sync.
  s.last_heard.reset();
  auto h = assess_replication_health(s, kThreshold, kT0 + 31min);
  EXPECT_EQ(h.health, ReplicationHealth::kCritical);
  EXPECT_EQ(h.reason, "no data from the source for 31m, over twice the RPO threshold 15m");
}

TEST(ReplicationHealth, ReplicatingWithoutAPointCountsFromTheStart) {
  ReplicationSignals s = replicating(kT0);
  s.newest_point.reset();
  s.replicating_since = kT0 + 1h;
  EXPECT_EQ(assess_replication_health(s, kThreshold, kT0 + 1h + 14min).health,
            ReplicationHealth::kHealthy);
  EXPECT_EQ(assess_replication_health(s, kThreshold, kT0 + 1h + 16min).health,
            ReplicationHealth::kWarning);
}

TEST(ReplicationHealth, NamesAreThePortalWords) {
  EXPECT_STREQ(replication_health_name(ReplicationHealth::kHealthy), "Healthy");
  EXPECT_STREQ(replication_health_name(ReplicationHealth::kWarning), "Warning");
  EXPECT_STREQ(replication_health_name(ReplicationHealth::kCritical), "Critical");
}

}  // namespace
}  // namespace drsim::model
