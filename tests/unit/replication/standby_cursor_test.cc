// model::judge_standby_cursor: resume after the standby's cursor, a divergence (same seq, other
// epoch), and a standby holding more than this region vouches for (lost acknowledged writes, or
// writes past a restart mark), with the operator's messages.
#include "common/model/replication/standby_cursor.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using Kind = StandbyCursorVerdict::Kind;

StandbyCursorFacts facts(uint64_t standby_seq, uint64_t standby_epoch, uint64_t last_written) {
  StandbyCursorFacts f;
  f.region = "primary";
  f.standby = "secondary";
  f.workload = "vm-web";
  f.standby_seq = Seq(standby_seq);
  f.standby_epoch = standby_epoch;
  f.last_written = Seq(last_written);
  return f;
}

// Our log: every entry written at epoch 2.
std::optional<uint64_t> epoch_two(Seq) { return 2; }

TEST(StandbyCursor, ResumesAfterACursorThisRegionHoldsUnderTheSameEpoch) {
  EXPECT_EQ(judge_standby_cursor(facts(7, 2, 10), epoch_two).kind, Kind::kResume);
  EXPECT_EQ(judge_standby_cursor(facts(10, 2, 10), epoch_two).kind, Kind::kResume);
  // An empty standby is asked nothing of the log.
  int asked = 0;
  auto counting = [&](Seq) -> std::optional<uint64_t> {
    ++asked;
    return 2;
  };
  EXPECT_EQ(judge_standby_cursor(facts(0, 0, 10), counting).kind, Kind::kResume);
  EXPECT_EQ(asked, 0);
  // A log that cannot tell is not a divergence.
  auto unknown = [](Seq) -> std::optional<uint64_t> { return std::nullopt; };
  EXPECT_EQ(judge_standby_cursor(facts(7, 5, 10), unknown).kind, Kind::kResume);
}

TEST(StandbyCursor, TheSameSeqUnderAnotherEpochIsADivergence) {
  auto v = judge_standby_cursor(facts(7, 3, 10), epoch_two);
  EXPECT_EQ(v.kind, Kind::kDiverged);
  EXPECT_EQ(v.message,
            "histories diverged for vm-web at seq 7 (standby epoch 3, ours 2): re-protect needed");
}

TEST(StandbyCursor, AStandbyAheadOfTheNewestWriteHoldsLostAcknowledgedWrites) {
  int asked = 0;
  auto counting = [&](Seq) -> std::optional<uint64_t> {
    ++asked;
    return 2;
  };
  auto v = judge_standby_cursor(facts(12, 2, 10), counting);
  EXPECT_EQ(asked, 0);  // beyond our log: nothing to compare
  EXPECT_EQ(v.kind, Kind::kBehindStandby);
  EXPECT_EQ(v.message,
            "the standby secondary holds vm-web up to seq 12 (epoch 2) and region primary only up "
            "to seq 10: it lost acknowledged writes; fail over to secondary (drsim failover), "
            "which has them, then re-protect");
}

TEST(StandbyCursor, AfterARestartMarkOnlyTheMarkIsVouchedFor) {
  StandbyCursorFacts f = facts(8, 2, 10);
  f.unverified_after = Seq(6);
  auto v = judge_standby_cursor(f, epoch_two);
  EXPECT_EQ(v.kind, Kind::kBehindStandby);
  EXPECT_EQ(v.message,
            "the standby secondary holds vm-web up to seq 8 (epoch 2) and region primary "
            "restarted at seq 6 and, not hearing from secondary, wrote seq 7..10 under the same "
            "seqs: it lost acknowledged writes, and the writes it made since are not on "
            "secondary; fail over to secondary (drsim failover), which has the lost ones, then "
            "re-protect (it rolls back what primary wrote after seq 6)");
  f.standby_seq = Seq(6);
  EXPECT_EQ(judge_standby_cursor(f, epoch_two).kind, Kind::kResume);
}

}  // namespace
}  // namespace drsim::model
