#include "common/model/drill/recovery_bound.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMs = 1'000'000;

// drsim up's Traffic Manager and regions: probes every 100 ms with a 50 ms timeout, 2 tolerated
// failures, TTL 500 ms, lease 1 s, client deadline 1 s, 100 ms of slack: 350 + 500 + 1000 + 100.
RecoveryBudget default_budget() {
  return recovery_budget(100ms, 50ms, 2, 500ms, 1000ms, 1000ms, 100ms);
}

OpRecord write_by(const std::string& region, int64_t complete_ms,
                  ClientKind kind = ClientKind::kTtl, Outcome outcome = Outcome::kOk) {
  OpRecord op;
  op.kind = OpKind::kPut;
  op.region = region;
  op.invoke_ns = (complete_ms - 5) * kMs;
  op.complete_ns = complete_ms * kMs;
  op.client_kind = kind;
  op.outcome = outcome;
  return op;
}

TEST(RecoveryBound, TheBudgetIsDetectionTtlTheLongerOfLeaseAndDeadlineAndSlack) {
  EXPECT_EQ(default_budget().detection, 350ms);
  EXPECT_EQ(default_budget().total(), 1950ms);
  // A client deadline longer than the lease replaces it; they never add up.
  EXPECT_EQ(recovery_budget(100ms, 50ms, 2, 500ms, 1000ms, 3000ms, 100ms).total(), 3950ms);
  EXPECT_EQ(recovery_budget(1s, 200ms, 0, 30s, 10s, 1s, 0ms).total(), 41200ms);
}

TEST(RecoveryBound, AWriteByThePromotedRegionWithinTheBoundMeetsIt) {
  const std::vector<OpRecord> ops = {write_by("primary", 900), write_by("secondary", 2900)};
  const auto checks =
      judge_recoveries(ops, {{2, 1000 * kMs, {}, "secondary"}}, {}, default_budget());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].judged());
  EXPECT_TRUE(checks[0].met);
  EXPECT_EQ(checks[0].first_ack, 1900ms);
}

TEST(RecoveryBound, NoWriteByThePromotedRegionWithinTheBoundMissesIt) {
  // Writes go on at the old region and reach the promoted one only 1951 ms later: one past.
  const std::vector<OpRecord> ops = {write_by("primary", 1500), write_by("secondary", 2951)};
  const auto checks =
      judge_recoveries(ops, {{2, 1000 * kMs, {}, "secondary"}}, {}, default_budget());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].judged());
  EXPECT_FALSE(checks[0].met);
  EXPECT_EQ(checks[0].first_ack, 1951ms);
}

TEST(RecoveryBound, OnlyOkWritesOfClientsThatFollowTheTrafficManagerCount) {
  OpRecord get = write_by("secondary", 1100);
  get.kind = OpKind::kGet;
  const std::vector<OpRecord> ops = {
      get,
      write_by("secondary", 1200, ClientKind::kStale),
      write_by("secondary", 1300, ClientKind::kTtl, Outcome::kFail),
      write_by("secondary", 1400, ClientKind::kTtl, Outcome::kIndeterminate),
      write_by("primary", 1500),
  };
  const auto checks =
      judge_recoveries(ops, {{2, 1000 * kMs, {}, "secondary"}}, {}, default_budget());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].met);
  EXPECT_FALSE(checks[0].first_ack.has_value());
  EXPECT_TRUE(checks[0].judged());
}

TEST(RecoveryBound, AnInterruptionWithinTheBoundExcusesAMissingWrite) {
  const std::vector<OpRecord> ops = {write_by("primary", 900)};
  const std::vector<Interruption> cuts = {{500 * kMs, "nemesis: kill primary"},
                                          {1800 * kMs, "the clients stopped"},
                                          {2500 * kMs, "operator: failover to primary"}};
  const auto checks =
      judge_recoveries(ops, {{2, 1000 * kMs, {}, "secondary"}}, cuts, default_budget());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].judged());
  EXPECT_EQ(checks[0].excused_by, "the clients stopped");  // the first inside (1000, 2950]
}

TEST(RecoveryBound, AnInterruptionAfterTheBoundExcusesNothing) {
  const std::vector<OpRecord> ops = {write_by("primary", 900)};
  const auto checks = judge_recoveries(ops, {{2, 1000 * kMs, {}, "secondary"}},
                                       {{2951 * kMs, "the clients stopped"}}, default_budget());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].judged());
  EXPECT_FALSE(checks[0].met);
}

TEST(RecoveryBound, TheNextPromotionCutsTheWindowAndItsWritesAreItsOwn) {
  // secondary promoted at 1000, primary at 1200 (a racing operator), secondary again at 4000.
  const std::vector<OpRecord> ops = {write_by("primary", 1300), write_by("secondary", 4100)};
  const std::vector<Promotion> promotions = {
      {2, 1000 * kMs, {}, "secondary"}, {3, 1200 * kMs, {}, "primary"}, {4, 4000 * kMs, {}, "secondary"}};
  const auto checks = judge_recoveries(ops, promotions, {}, default_budget());
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].excused_by, "the promotion of primary to epoch 3");
  EXPECT_FALSE(checks[0].first_ack.has_value());  // 4100 belongs to the third promotion
  EXPECT_TRUE(checks[1].met);
  EXPECT_EQ(checks[1].first_ack, 100ms);
  EXPECT_TRUE(checks[2].met);
  EXPECT_EQ(checks[2].first_ack, 100ms);
}

TEST(RecoveryBound, APromotionToANewerEpochAnsweredFirstSupersedesOneAnsweredLater) {
  // Racing operators: the failover to secondary (epoch 4) answered at 1565 ms, the one to
  // primary (epoch 3) at 1578 ms: primary's promotion was superseded before its answer came.
  const std::vector<Promotion> promotions = {{4, 1565 * kMs, {}, "secondary"},
                                             {3, 1578 * kMs, {}, "primary"}};
  const auto checks =
      judge_recoveries({write_by("secondary", 2000)}, promotions, {}, default_budget());
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_TRUE(checks[0].met);
  EXPECT_EQ(checks[1].excused_by, "the promotion of secondary to epoch 4, answered first");
}

TEST(RecoveryBound, AnInterruptionBeforeTheNextPromotionNamesTheCut) {
  const std::vector<Promotion> promotions = {{2, 1000 * kMs, {}, "secondary"},
                                             {3, 1500 * kMs, {}, "primary"}};
  const auto checks = judge_recoveries({write_by("primary", 1600)}, promotions,
                                       {{1100 * kMs, "operator: failover to primary"}},
                                       default_budget());
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].excused_by, "operator: failover to primary");
  EXPECT_TRUE(checks[1].met);
}

TEST(RecoveryBound, WithoutClientsThatFollowTheTrafficManagerNothingIsJudged) {
  const auto checks =
      judge_recoveries({write_by("primary", 900, ClientKind::kStale)},
                       {{2, 1000 * kMs, {}, "secondary"}}, {}, default_budget());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].excused_by, "no client follows the Traffic Manager");
  EXPECT_TRUE(judge_recoveries({}, {{2, 1000 * kMs, {}, "secondary"}}, {}, default_budget())[0]
                  .excused_by == "no client follows the Traffic Manager");
}

}  // namespace
}  // namespace drsim::model
