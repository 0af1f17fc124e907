// plan_resync: the last (epoch, seq) two logs share, and when re-protect must copy in full.
#include "common/model/replication/resync_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace drsim::model {
namespace {

// A summary from spans {epoch, first, last}...; the log holds first_retained..last of the last
// span.
LogSummary log_of(std::vector<EpochSpan> spans) {
  LogSummary s;
  if (spans.empty()) return s;
  s.spans = spans;
  s.first_retained = spans.front().first;
  s.last = spans.back().last;
  s.last_epoch = spans.back().epoch;
  return s;
}

EpochSpan span(uint64_t epoch, uint64_t first, uint64_t last) {
  return {Epoch(epoch), Seq(first), Seq(last)};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- the common point ----------------------------------------------------------------------

TEST(ResyncPlan, FormerPrimaryWithUnreplicatedTailRollsBackToWhatTheNewActiveApplied) {
  // Old primary wrote 1..120 at epoch 1; the standby applied 1..100, failed over, wrote
  // 101..130 at epoch 2.
  LogSummary standby = log_of({span(1, 1, 120)});
  LogSummary active = log_of({span(1, 1, 100), span(2, 101, 130)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(100));
  EXPECT_EQ(p.common_epoch, Epoch(1));
  EXPECT_EQ(p.rollback_entries, 20u);
  EXPECT_EQ(p.changes_to_send, 30u);
}

// The former primary lost seq 51..100 (host crash without --fsync), restarted at seq 50, was cut
// off from its standby, timed out and wrote 51..110 at epoch 1 — the same (epoch, seq) as the
// lost writes the standby holds. The new active region has the lost writes at epoch 1 and its
// own from 101 at epoch 2. By (epoch, seq) alone both logs share 1..100; only 1..50 is shared.
TEST(ResyncPlan, AStandbysOwnBranchAfterItsMarkIsRolledBackThoughItsEpochsMatch) {
  LogSummary standby = log_of({span(1, 1, 110)});
  LogSummary active = log_of({span(1, 1, 100), span(2, 101, 130)});
  ResyncPlan unmarked = plan_resync(standby, active, false);
  EXPECT_EQ(unmarked.common, Seq(100));  // what (epoch, seq) says
  ResyncPlan p = plan_resync(standby, active, false, Seq(50));
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(50));
  EXPECT_EQ(p.common_epoch, Epoch(1));
  EXPECT_EQ(p.rollback_entries, 60u);
  EXPECT_EQ(p.changes_to_send, 80u);
  EXPECT_TRUE(contains(p.reason, "without its peer's word")) << p.reason;
  // A mark at or beyond the standby's newest entry changes nothing.
  EXPECT_EQ(plan_resync(standby, active, false, Seq(110)).common, Seq(100));
  // A mark before what the standby's log still holds: no common entry to roll back to.
  LogSummary trimmed = standby;
  trimmed.first_retained = Seq(60);
  trimmed.spans = {span(1, 60, 110)};
  ResyncPlan full = plan_resync(trimmed, active, false, Seq(50));
  EXPECT_EQ(full.kind, ResyncKind::kFull) << full.reason;
}

TEST(ResyncPlan, StandbyWhoseLogIsAPrefixOnlyCatchesUp) {
  LogSummary standby = log_of({span(1, 1, 100)});
  LogSummary active = log_of({span(1, 1, 100), span(2, 101, 130)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(100));
  EXPECT_EQ(p.rollback_entries, 0u);
  EXPECT_EQ(p.changes_to_send, 30u);
}

TEST(ResyncPlan, IdenticalLogsNeedNothing) {
  LogSummary both = log_of({span(1, 1, 50), span(3, 51, 70)});
  ResyncPlan p = plan_resync(both, both, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(70));
  EXPECT_EQ(p.common_epoch, Epoch(3));
  EXPECT_EQ(p.rollback_entries, 0u);
  EXPECT_EQ(p.changes_to_send, 0u);
}

TEST(ResyncPlan, LogsThatDifferFromTheFirstEntryShareTheEmptyPrefix) {
  // Nothing the old primary wrote ever replicated; the new active wrote from seq 1 at epoch 2.
  LogSummary standby = log_of({span(1, 1, 40)});
  LogSummary active = log_of({span(2, 1, 10)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(0));
  EXPECT_EQ(p.rollback_entries, 40u);
  EXPECT_EQ(p.changes_to_send, 10u);
}

TEST(ResyncPlan, SeveralFailoversFindTheNewestSharedEpoch) {
  // Epochs 1 and 3 are shared up to seq 80; the standby then wrote 81..90 at epoch 3 while the
  // active region took over at epoch 4 from seq 80.
  LogSummary standby = log_of({span(1, 1, 50), span(3, 51, 90)});
  LogSummary active = log_of({span(1, 1, 50), span(3, 51, 80), span(4, 81, 200)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(80));
  EXPECT_EQ(p.common_epoch, Epoch(3));
  EXPECT_EQ(p.rollback_entries, 10u);
  EXPECT_EQ(p.changes_to_send, 120u);
}

TEST(ResyncPlan, StandbyAheadInTheSameEpochIsRolledBack) {
  // The new active applied up to 60 of epoch 1 and has written nothing since.
  LogSummary standby = log_of({span(1, 1, 75)});
  LogSummary active = log_of({span(1, 1, 60)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(60));
  EXPECT_EQ(p.rollback_entries, 15u);
  EXPECT_EQ(p.changes_to_send, 0u);
}

TEST(ResyncPlan, CursorOfACompletedFullCopyCountsAsAKnownEntry) {
  // After a full copy the standby's log is empty; it knows only its cursor (seq 500, epoch 2).
  LogSummary standby;
  standby.last = Seq(500);
  standby.last_epoch = Epoch(2);
  standby.first_retained = Seq(501);
  LogSummary active = log_of({span(2, 400, 520)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(500));
  EXPECT_EQ(p.changes_to_send, 20u);
}

// --- full copies ---------------------------------------------------------------------------

TEST(ResyncPlan, StandbyWithNoStateIsCopiedInFull) {
  ResyncPlan p = plan_resync(LogSummary{}, log_of({span(2, 1, 10)}), false);
  EXPECT_EQ(p.kind, ResyncKind::kFull);
  EXPECT_TRUE(contains(p.reason, "no data")) << p.reason;
}

TEST(ResyncPlan, BothEmptyIsAnEmptyDeltaNotACopy) {
  ResyncPlan p = plan_resync(LogSummary{}, LogSummary{}, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.changes_to_send, 0u);
}

TEST(ResyncPlan, InterruptedFullCopyIsRedoneInFull) {
  LogSummary both = log_of({span(1, 1, 10)});
  ResyncPlan p = plan_resync(both, both, true);
  EXPECT_EQ(p.kind, ResyncKind::kFull);
  EXPECT_TRUE(contains(p.reason, "did not finish")) << p.reason;
}

TEST(ResyncPlan, CommonPointTrimmedFromTheActiveLogForcesAFullCopy) {
  // Shared up to 100 at epoch 1, but the active region's log now starts at 5000.
  LogSummary standby = log_of({span(1, 1, 120)});
  LogSummary active = log_of({span(2, 5000, 9000)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kFull);
  EXPECT_TRUE(contains(p.reason, "no common entry")) << p.reason;
}

TEST(ResyncPlan, StandbyKnowingOnlyADivergentCursorIsCopiedInFull) {
  // After a full copy the standby wrote seq 120 at epoch 1 as active (its log holds nothing
  // older); the active region has seq 120 at epoch 2: nothing to roll back to.
  LogSummary standby;
  standby.last = Seq(120);
  standby.last_epoch = Epoch(1);
  standby.first_retained = Seq(121);
  LogSummary active = log_of({span(1, 95, 119), span(2, 120, 300)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kFull) << p.reason;
}

TEST(ResyncPlan, OverlapInsideTrimmedLogsStillFindsTheCommonPoint) {
  LogSummary standby = log_of({span(1, 90, 120)});
  LogSummary active = log_of({span(1, 95, 100), span(2, 101, 300)});
  ResyncPlan p = plan_resync(standby, active, false);
  EXPECT_EQ(p.kind, ResyncKind::kDelta);
  EXPECT_EQ(p.common, Seq(100));
  EXPECT_EQ(p.rollback_entries, 20u);
}

TEST(ResyncPlan, NeitherLogFromTheStartAndNoOverlapIsFull) {
  LogSummary standby = log_of({span(1, 10, 20)});
  LogSummary active = log_of({span(2, 10, 30)});
  EXPECT_EQ(plan_resync(standby, active, false).kind, ResyncKind::kFull);
}

// --- epoch_at and validation ---------------------------------------------------------------

TEST(ResyncPlan, EpochAtReadsSpansAndTheCursor) {
  LogSummary s = log_of({span(1, 1, 5), span(4, 6, 9)});
  EXPECT_EQ(epoch_at(s, Seq(3)).epoch, Epoch(1));
  EXPECT_EQ(epoch_at(s, Seq(9)).epoch, Epoch(4));
  EXPECT_TRUE(epoch_at(s, Seq(0)).found);
  EXPECT_FALSE(epoch_at(s, Seq(10)).found);
}

TEST(ResyncPlan, ValidationRefusesMalformedSummaries) {
  EXPECT_TRUE(validate_log_summary("s", log_of({span(1, 1, 5), span(2, 6, 9)}), 8).is_ok());
  EXPECT_TRUE(validate_log_summary("s", LogSummary{}, 8).is_ok());
  struct Case {
    const char* what;
    LogSummary s;
  };
  LogSummary gap = log_of({span(1, 1, 5), span(2, 7, 9)});
  LogSummary descending = log_of({span(3, 1, 5), span(2, 6, 9)});
  LogSummary zero_epoch = log_of({span(0, 1, 5)});
  LogSummary wrong_end = log_of({span(1, 1, 5)});
  wrong_end.last = Seq(6);
  LogSummary bad_first = log_of({span(1, 1, 5)});
  bad_first.first_retained = Seq(0);
  LogSummary no_spans;
  no_spans.last = Seq(5);
  no_spans.last_epoch = Epoch(1);
  no_spans.first_retained = Seq(2);
  LogSummary epoch_without_seq;
  epoch_without_seq.last_epoch = Epoch(1);
  for (const auto& c : std::vector<Case>{{"gap", gap},
                                         {"descending", descending},
                                         {"zero epoch", zero_epoch},
                                         {"wrong end", wrong_end},
                                         {"bad first", bad_first},
                                         {"no spans", no_spans},
                                         {"epoch without seq", epoch_without_seq}}) {
    Status st = validate_log_summary("hello.resync.logs[0]", c.s, 8);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_TRUE(contains(st.message(), "hello.resync.logs[0]")) << st.message();
  }
  LogSummary many = log_of({span(1, 1, 1), span(2, 2, 2), span(3, 3, 3)});
  EXPECT_EQ(validate_log_summary("s", many, 2).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drsim::model
