// ReplicationSource: seq assignment, send window, resume on reconnect, acks and write-to-ack lag.
#include "common/model/replication/source.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/ids.h"
#include "common/core/rng.h"
#include "common/core/status.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kNoLimit = UINT64_MAX;

Time at(Duration d) { return kTimeZero + d; }

// Writes `n` changes at `now`.
void write(ReplicationSource& s, int n, Time now = kTimeZero) {
  for (int i = 0; i < n; ++i) s.assign(now);
}

// Sends everything the window allows, returning the ranges sent.
std::vector<SeqRange> send_all(ReplicationSource& s, uint64_t max_changes, uint64_t max_unacked) {
  std::vector<SeqRange> sent;
  while (auto r = s.next_range(max_changes, max_unacked)) {
    s.on_sent(*r);
    sent.push_back(*r);
  }
  return sent;
}

void expect_range(const std::optional<SeqRange>& r, uint64_t first, uint64_t last) {
  ASSERT_TRUE(r.has_value()) << "expected range " << first << ".." << last;
  EXPECT_EQ(r->first.value(), first);
  EXPECT_EQ(r->last.value(), last);
}

// Within the histogram's resolution (one sub-bucket: at most 1/16 above the sample).
void expect_near_ms(Duration got, double want_ms) {
  EXPECT_NEAR(to_ms(got), want_ms, want_ms * 0.07) << "got " << to_ms(got) << " ms";
}

// --- seq assignment -------------------------------------------------------------------------

TEST(ReplicationSource, FreshSourceAssignsDenseSeqsFromOne) {
  ReplicationSource s;
  EXPECT_EQ(s.last_written().value(), 0u);
  for (uint64_t want = 1; want <= 100; ++want) EXPECT_EQ(s.assign(kTimeZero).value(), want);
  EXPECT_EQ(s.last_written().value(), 100u);
}

TEST(ReplicationSource, AssignContinuesDenselyFromTheRestoredSeq) {
  ReplicationSource s(Seq(41));
  EXPECT_EQ(s.last_written().value(), 41u);
  EXPECT_EQ(s.assign(kTimeZero).value(), 42u);
  EXPECT_EQ(s.assign(at(1ms)).value(), 43u);
  EXPECT_EQ(s.assign(at(1ms)).value(), 44u);
  EXPECT_EQ(s.last_written().value(), 44u);
}

// A store that refused a group commit (disk full): its seqs are handed out again, so the log
// has no gap, and the lag of what is left is measured from the writes' own times.
TEST(ReplicationSource, SeqsTakenBackAreAssignedAgainWithoutAGap) {
  ReplicationSource s;
  write(s, 3, at(0ms));
  ASSERT_TRUE(s.on_connected(Seq(0), at(0ms)).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  write(s, 4, at(1ms));  // 4..7, refused by the store
  s.take_back(Seq(3));
  EXPECT_EQ(s.last_written().value(), 3u);
  EXPECT_EQ(s.lag_writes(), 3u);
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
  EXPECT_EQ(s.assign(at(2ms)).value(), 4u);
  expect_range(s.next_range(kNoLimit, kNoLimit), 4, 4);
  ASSERT_TRUE(s.on_ack(Seq(4), at(7ms)).is_ok());
  // 1..3 written at 0 ms, 4 at 2 ms: nothing measured from the 1 ms of the writes taken back.
  EXPECT_EQ(s.lag_histogram().count(), 4u);
  EXPECT_EQ(s.lag_histogram().max(), 7ms);
  expect_near_ms(s.lag_histogram().quantile(0.0), 5);
}

TEST(ReplicationSourceDeathTest, OnlyUnsentSeqsCanBeTakenBack) {
  ReplicationSource s;
  write(s, 3);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  EXPECT_DEATH(s.take_back(Seq(2)), "");
}

TEST(ReplicationSource, RestoredSourceStartsDisconnectedWithNothingAcked) {
  ReplicationSource s(Seq(41));
  EXPECT_FALSE(s.connected());
  EXPECT_EQ(s.acked().value(), 0u);
  EXPECT_EQ(s.sent().value(), 0u);
  EXPECT_EQ(s.lag_writes(), 41u);
}

// --- send window ----------------------------------------------------------------------------

TEST(ReplicationSource, NothingToSendBeforeTheFirstConnect) {
  ReplicationSource s;
  write(s, 5);
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
}

TEST(ReplicationSource, NothingToSendWhileDisconnected) {
  ReplicationSource s;
  write(s, 5);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  s.on_disconnected();
  EXPECT_FALSE(s.connected());
  write(s, 5);
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
}

TEST(ReplicationSource, NothingToSendWhenEverythingWrittenWasSent) {
  ReplicationSource s;
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
  write(s, 3);
  s.on_sent(*s.next_range(kNoLimit, kNoLimit));
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
}

TEST(ReplicationSource, NextRangeStartsAfterSentAndCoversAllWrites) {
  ReplicationSource s;
  write(s, 5);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  expect_range(s.next_range(kNoLimit, kNoLimit), 1, 5);
}

TEST(ReplicationSource, NextRangeDoesNotMoveTheCursorUntilOnSent) {
  ReplicationSource s;
  write(s, 5);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  expect_range(s.next_range(2, kNoLimit), 1, 2);
  expect_range(s.next_range(2, kNoLimit), 1, 2);
  EXPECT_EQ(s.sent().value(), 0u);
  s.on_sent(*s.next_range(2, kNoLimit));
  EXPECT_EQ(s.sent().value(), 2u);
  expect_range(s.next_range(2, kNoLimit), 3, 4);
}

TEST(ReplicationSource, NextRangeIsCappedByMaxChanges) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  auto ranges = send_all(s, 4, kNoLimit);
  ASSERT_EQ(ranges.size(), 3u);
  expect_range(ranges[0], 1, 4);
  expect_range(ranges[1], 5, 8);
  expect_range(ranges[2], 9, 10);
}

TEST(ReplicationSource, NextRangeWithZeroMaxChangesSendsNothing) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  EXPECT_FALSE(s.next_range(0, kNoLimit).has_value());
}

TEST(ReplicationSource, NextRangeIsCappedByRoomInTheUnackedWindow) {
  ReplicationSource s;
  write(s, 20);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  s.on_sent(*s.next_range(8, 10));  // 1..8 outstanding
  expect_range(s.next_range(8, 10), 9, 10);
}

TEST(ReplicationSource, NothingToSendWhenTheUnackedWindowIsFull) {
  ReplicationSource s;
  write(s, 20);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  auto ranges = send_all(s, 3, 10);
  ASSERT_EQ(ranges.size(), 4u);
  expect_range(ranges.back(), 10, 10);
  EXPECT_EQ(s.sent().value(), 10u);
  EXPECT_FALSE(s.next_range(3, 10).has_value());
  EXPECT_FALSE(s.next_range(kNoLimit, 0).has_value());
}

TEST(ReplicationSource, AckReopensTheUnackedWindow) {
  ReplicationSource s;
  write(s, 20);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, 10);
  ASSERT_TRUE(s.on_ack(Seq(4), at(1ms)).is_ok());
  expect_range(s.next_range(kNoLimit, 10), 11, 14);
}

TEST(ReplicationSource, WindowOfOneSendsOneChangeAtATime) {
  ReplicationSource s;
  write(s, 3);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    auto r = s.next_range(kNoLimit, 1);
    expect_range(r, seq, seq);
    s.on_sent(*r);
    EXPECT_FALSE(s.next_range(kNoLimit, 1).has_value());
    ASSERT_TRUE(s.on_ack(Seq(seq), kTimeZero).is_ok());
  }
}

TEST(ReplicationSource, SeqRangeCountIsInclusive) {
  EXPECT_EQ((SeqRange{Seq(1), Seq(1)}.count()), 1u);
  EXPECT_EQ((SeqRange{Seq(5), Seq(14)}.count()), 10u);
}

// --- connect / disconnect -------------------------------------------------------------------

TEST(ReplicationSource, OnConnectedToAnEmptyStandbyResumesAtSeqOne) {
  ReplicationSource s;
  write(s, 3);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  EXPECT_TRUE(s.connected());
  EXPECT_EQ(s.sent().value(), 0u);
  EXPECT_EQ(s.acked().value(), 0u);
  expect_range(s.next_range(kNoLimit, kNoLimit), 1, 3);
}

TEST(ReplicationSource, OnConnectedResumesAtStandbyDurablePlusOneAfterAGap) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(3), at(1ms)).is_ok());
  s.on_disconnected();
  // The standby made 4..6 durable but its acks were lost; 7..10 were lost in flight.
  ASSERT_TRUE(s.on_connected(Seq(6), at(2ms)).is_ok());
  EXPECT_EQ(s.sent().value(), 6u);
  EXPECT_EQ(s.acked().value(), 6u);
  expect_range(s.next_range(kNoLimit, kNoLimit), 7, 10);
}

TEST(ReplicationSource, OnConnectedCountsWhatTheStandbyReportsDurableAsAcked) {
  ReplicationSource s;
  write(s, 10, at(0ms));
  ASSERT_TRUE(s.on_connected(Seq(4), at(5ms)).is_ok());
  EXPECT_EQ(s.acked().value(), 4u);
  EXPECT_EQ(s.lag_writes(), 6u);
  EXPECT_EQ(s.lag_histogram().count(), 4u);
  EXPECT_EQ(s.lag_histogram().max(), 5ms);
}

TEST(ReplicationSource, OnConnectedWithStandbyAtOurLastWriteHasNothingToSend) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(10), kTimeZero).is_ok());
  EXPECT_EQ(s.acked().value(), 10u);
  EXPECT_EQ(s.lag_writes(), 0u);
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
}

TEST(ReplicationSource, OnConnectedWithStandbyAheadOfUsIsRefusedAsDiverged) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(5), kTimeZero).is_ok());
  s.on_disconnected();

  Status st = s.on_connected(Seq(11), at(1ms));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("diverged"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("11"), std::string::npos) << st.message();
  // Nothing changed: still disconnected, cursors where they were.
  EXPECT_FALSE(s.connected());
  EXPECT_EQ(s.acked().value(), 5u);
  EXPECT_EQ(s.sent().value(), 5u);
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
}

TEST(ReplicationSource, RestoredSourceRefusesAStandbyAheadOfItsLastWrite) {
  ReplicationSource s(Seq(100));
  EXPECT_EQ(s.on_connected(Seq(101), kTimeZero).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(s.on_connected(Seq(100), kTimeZero).is_ok());
}

TEST(ReplicationSource, OnDisconnectedRewindsSentToAcked) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(4), kTimeZero).is_ok());
  EXPECT_EQ(s.sent().value(), 10u);
  s.on_disconnected();
  EXPECT_FALSE(s.connected());
  EXPECT_EQ(s.sent().value(), 4u);
  EXPECT_EQ(s.acked().value(), 4u);
  // Reconnecting to a standby at the acked seq resends exactly the unacked ones.
  ASSERT_TRUE(s.on_connected(Seq(4), kTimeZero).is_ok());
  expect_range(s.next_range(kNoLimit, kNoLimit), 5, 10);
}

TEST(ReplicationSource, LateAckAfterDisconnectStillCounts) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  s.on_disconnected();
  auto r = s.on_ack(Seq(6), kTimeZero);
  ASSERT_TRUE(r.is_ok());
  expect_range(*r, 1, 6);
  EXPECT_EQ(s.acked().value(), 6u);
  EXPECT_EQ(s.sent().value(), 6u);  // invariant acked <= sent holds
  EXPECT_FALSE(s.next_range(kNoLimit, kNoLimit).has_value());
}

// --- acks -----------------------------------------------------------------------------------

TEST(ReplicationSource, OnAckReturnsTheNewlyAcknowledgedRange) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  auto first = s.on_ack(Seq(3), kTimeZero);
  ASSERT_TRUE(first.is_ok());
  expect_range(*first, 1, 3);
  auto second = s.on_ack(Seq(10), kTimeZero);
  ASSERT_TRUE(second.is_ok());
  expect_range(*second, 4, 10);
  EXPECT_EQ(s.acked().value(), 10u);
  EXPECT_EQ(s.lag_writes(), 0u);
}

TEST(ReplicationSource, DuplicateAckIsANoOp) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(5), at(1ms)).is_ok());
  auto again = s.on_ack(Seq(5), at(2ms));
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(s.acked().value(), 5u);
  EXPECT_EQ(s.lag_histogram().count(), 5u);
}

TEST(ReplicationSource, OlderAckIsANoOp) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(7), at(1ms)).is_ok());
  for (uint64_t old : {0u, 1u, 6u}) {
    auto r = s.on_ack(Seq(old), at(2ms));
    ASSERT_TRUE(r.is_ok());
    EXPECT_FALSE(r->has_value()) << "ack " << old;
  }
  EXPECT_EQ(s.acked().value(), 7u);
  EXPECT_EQ(s.sent().value(), 10u);
  EXPECT_EQ(s.lag_histogram().count(), 7u);
}

TEST(ReplicationSource, AckOfSeqZeroOnAFreshSourceIsANoOp) {
  ReplicationSource s;
  auto r = s.on_ack(Seq(0), kTimeZero);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->has_value());
}

TEST(ReplicationSource, AckBeyondLastWrittenIsRefusedAsOutOfRange) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(2), kTimeZero).is_ok());
  auto r = s.on_ack(Seq(11), kTimeZero);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("11"), std::string::npos) << r.status().message();
  EXPECT_EQ(s.acked().value(), 2u);
  EXPECT_EQ(s.sent().value(), 10u);
  EXPECT_EQ(s.lag_histogram().count(), 2u);
}

TEST(ReplicationSource, AckOnAFreshSourceIsRefusedAsOutOfRange) {
  ReplicationSource s;
  EXPECT_EQ(s.on_ack(Seq(1), kTimeZero).status().code(), StatusCode::kOutOfRange);
}

// --- lag ------------------------------------------------------------------------------------

TEST(ReplicationSource, LagHistogramRecordsWriteToAckTimes) {
  ReplicationSource s;
  s.assign(at(0ms));
  s.assign(at(1ms));
  s.assign(at(2ms));
  ASSERT_TRUE(s.on_connected(Seq(0), at(0ms)).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(3), at(10ms)).is_ok());

  const LatencyHistogram& h = s.lag_histogram();
  EXPECT_EQ(h.count(), 3u);  // samples 10, 9, 8 ms
  EXPECT_EQ(h.max(), 10ms);
  EXPECT_EQ(h.quantile(1.0), 10ms);
  expect_near_ms(h.quantile(0.0), 8.0);
  expect_near_ms(h.quantile(1.0 / 3), 8.0);
  expect_near_ms(h.quantile(2.0 / 3), 9.0);
}

TEST(ReplicationSource, LagHistogramSamplesEachWriteOnceAcrossPartialAcks) {
  ReplicationSource s;
  for (int i = 0; i < 5; ++i) s.assign(at(std::chrono::milliseconds(i)));  // seq i+1 at i ms
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(2), at(10ms)).is_ok());  // 10, 9
  EXPECT_EQ(s.lag_histogram().count(), 2u);
  EXPECT_EQ(s.lag_histogram().max(), 10ms);
  ASSERT_TRUE(s.on_ack(Seq(2), at(15ms)).is_ok());  // duplicate: no sample
  ASSERT_TRUE(s.on_ack(Seq(5), at(20ms)).is_ok());  // 18, 17, 16
  EXPECT_EQ(s.lag_histogram().count(), 5u);
  EXPECT_EQ(s.lag_histogram().max(), 18ms);
  expect_near_ms(s.lag_histogram().quantile(0.0), 9.0);
}

TEST(ReplicationSource, RestoredWritesHaveNoWriteTimeAndAreNotSampled) {
  ReplicationSource s(Seq(5));
  s.assign(at(0ms));  // seq 6
  ASSERT_TRUE(s.on_connected(Seq(0), at(0ms)).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  auto r = s.on_ack(Seq(6), at(10ms));
  ASSERT_TRUE(r.is_ok());
  expect_range(*r, 1, 6);
  EXPECT_EQ(s.lag_histogram().count(), 1u);
  EXPECT_EQ(s.lag_histogram().max(), 10ms);
}

TEST(ReplicationSource, LagAgeIsZeroWithNothingUnacked) {
  ReplicationSource s;
  EXPECT_EQ(s.lag_age(at(1s)), Duration(0));
  write(s, 3, at(0ms));
  ASSERT_TRUE(s.on_connected(Seq(3), at(1ms)).is_ok());
  EXPECT_EQ(s.lag_age(at(1s)), Duration(0));
}

TEST(ReplicationSource, LagAgeIsTheAgeOfTheOldestUnackedWrite) {
  ReplicationSource s;
  s.assign(at(0ms));
  s.assign(at(5ms));
  s.assign(at(9ms));
  EXPECT_EQ(s.lag_age(at(20ms)), 20ms);  // nothing sent yet: lag does not depend on sending
  ASSERT_TRUE(s.on_connected(Seq(0), at(0ms)).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  EXPECT_EQ(s.lag_age(at(20ms)), 20ms);
  ASSERT_TRUE(s.on_ack(Seq(1), at(20ms)).is_ok());
  EXPECT_EQ(s.lag_age(at(20ms)), 15ms);
  ASSERT_TRUE(s.on_ack(Seq(2), at(20ms)).is_ok());
  EXPECT_EQ(s.lag_age(at(30ms)), 21ms);
  ASSERT_TRUE(s.on_ack(Seq(3), at(30ms)).is_ok());
  EXPECT_EQ(s.lag_age(at(30ms)), Duration(0));
}

TEST(ReplicationSource, LagAgeGrowsWithTheClockWhileTheStandbyIsAway) {
  ManualClock clock;
  ReplicationSource s;
  s.assign(clock.now());
  for (int i = 1; i <= 5; ++i) {
    clock.advance(1s);
    EXPECT_EQ(s.lag_age(clock.now()), std::chrono::seconds(i));
  }
}

TEST(ReplicationSource, LagWritesCountsWrittenButNotAcked) {
  ReplicationSource s(Seq(3));
  EXPECT_EQ(s.lag_writes(), 3u);
  write(s, 7);
  EXPECT_EQ(s.lag_writes(), 10u);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  EXPECT_EQ(s.lag_writes(), 10u);  // sent is not durable
  ASSERT_TRUE(s.on_ack(Seq(4), kTimeZero).is_ok());
  EXPECT_EQ(s.lag_writes(), 6u);
  ASSERT_TRUE(s.on_ack(Seq(10), kTimeZero).is_ok());
  EXPECT_EQ(s.lag_writes(), 0u);
}

// --- a standby that lost its disk -----------------------------------------------------------

TEST(ReplicationSource, StandbyThatLostItsDiskGetsEverythingResent) {
  ReplicationSource s;
  write(s, 10, at(0ms));
  ASSERT_TRUE(s.on_connected(Seq(0), at(0ms)).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(10), at(1ms)).is_ok());
  s.on_disconnected();

  ASSERT_TRUE(s.on_connected(Seq(0), at(2ms)).is_ok());
  EXPECT_EQ(s.acked().value(), 0u);
  EXPECT_EQ(s.sent().value(), 0u);
  EXPECT_EQ(s.lag_writes(), 10u);
  expect_range(s.next_range(kNoLimit, kNoLimit), 1, 10);

  send_all(s, kNoLimit, kNoLimit);
  auto r = s.on_ack(Seq(10), at(3ms));
  ASSERT_TRUE(r.is_ok());
  expect_range(*r, 1, 10);
  EXPECT_EQ(s.lag_histogram().count(), 10u);  // each write sampled once, at its first ack
}

TEST(ReplicationSource, StandbyThatLostPartOfItsDiskGetsTheRestResent) {
  ReplicationSource s;
  write(s, 10);
  ASSERT_TRUE(s.on_connected(Seq(0), kTimeZero).is_ok());
  send_all(s, kNoLimit, kNoLimit);
  ASSERT_TRUE(s.on_ack(Seq(8), kTimeZero).is_ok());
  s.on_disconnected();

  ASSERT_TRUE(s.on_connected(Seq(4), kTimeZero).is_ok());
  EXPECT_EQ(s.acked().value(), 4u);
  EXPECT_EQ(s.lag_writes(), 6u);
  expect_range(s.next_range(kNoLimit, kNoLimit), 5, 10);
}

// --- every seq delivered exactly once across reconnects -------------------------------------

struct StreamParams {
  uint64_t max_changes;
  uint64_t max_unacked;
  uint64_t seed;
};

std::string stream_name(const ::testing::TestParamInfo<StreamParams>& info) {
  auto limit = [](uint64_t v) { return v == kNoLimit ? std::string("inf") : std::to_string(v); };
  return "batch" + std::to_string(info.param.max_changes) + "_window" +
         limit(info.param.max_unacked) + "_seed" + std::to_string(info.param.seed);
}

class ReplicationSourceStream : public ::testing::TestWithParam<StreamParams> {};

// 10,000 writes over a link that loses in-flight frames and acks on reconnect. The standby
// applies frames in order; every seq must reach it exactly once, and a seq is resent only
// when a frame carrying it was lost.
TEST_P(ReplicationSourceStream, EverySeqReachesTheStandbyExactlyOnceAcrossReconnects) {
  const StreamParams p = GetParam();
  constexpr uint64_t kWrites = 10'000;
  Rng rng(p.seed);
  ManualClock clock;
  ReplicationSource s;
  uint64_t standby = 0;  // standby's durable seq
  std::deque<SeqRange> in_flight;
  std::vector<int> sent_count(kWrites + 1, 0), lost_count(kWrites + 1, 0),
      applied_count(kWrites + 1, 0);
  int reconnects = 0;

  ASSERT_TRUE(s.on_connected(Seq(standby), clock.now()).is_ok());
  for (int step = 0; step < 1'000'000 && standby < kWrites; ++step) {
    clock.advance(1ms);
    for (uint64_t n = rng.below(40); n > 0 && s.last_written().value() < kWrites; --n) {
      s.assign(clock.now());
    }
    while (auto r = s.next_range(p.max_changes, p.max_unacked)) {
      ASSERT_LE(r->count(), p.max_changes);
      ASSERT_LE(r->last.value() - s.acked().value(), p.max_unacked);
      for (uint64_t q = r->first.value(); q <= r->last.value(); ++q) ++sent_count[q];
      s.on_sent(*r);
      in_flight.push_back(*r);
    }
    // Deliver some frames in order; the standby applies them.
    for (uint64_t n = rng.below(4); n > 0 && !in_flight.empty(); --n) {
      SeqRange f = in_flight.front();
      in_flight.pop_front();
      ASSERT_EQ(f.first.value(), standby + 1) << "gap or duplicate at step " << step;
      for (uint64_t q = f.first.value(); q <= f.last.value(); ++q) ++applied_count[q];
      standby = f.last.value();
    }
    if (rng.below(3) == 0) {  // an ack arrives
      auto acked = s.on_ack(Seq(standby), clock.now());
      ASSERT_TRUE(acked.is_ok());
    }
    if (rng.below(50) == 0) {  // the stream breaks: frames in flight and unsent acks are lost
      for (const SeqRange& f : in_flight) {
        for (uint64_t q = f.first.value(); q <= f.last.value(); ++q) ++lost_count[q];
      }
      in_flight.clear();
      s.on_disconnected();
      ASSERT_EQ(s.sent(), s.acked());
      ASSERT_FALSE(s.next_range(p.max_changes, p.max_unacked).has_value());
      ASSERT_TRUE(s.on_connected(Seq(standby), clock.now()).is_ok());
      ASSERT_EQ(s.sent().value(), standby);
      ++reconnects;
    }
    ASSERT_LE(s.acked(), s.sent());
    ASSERT_LE(s.sent(), s.last_written());
  }
  ASSERT_TRUE(s.on_ack(Seq(standby), clock.now()).is_ok());

  EXPECT_EQ(standby, kWrites);
  EXPECT_EQ(s.acked().value(), kWrites);
  EXPECT_EQ(s.lag_writes(), 0u);
  EXPECT_EQ(s.lag_histogram().count(), kWrites);
  EXPECT_GT(reconnects, 0);
  for (uint64_t q = 1; q <= kWrites; ++q) {
    ASSERT_EQ(applied_count[q], 1) << "seq " << q;
    ASSERT_EQ(sent_count[q], 1 + lost_count[q]) << "seq " << q;
  }
}

std::vector<StreamParams> stream_grid() {
  std::vector<StreamParams> grid;
  for (uint64_t batch : {1u, 7u, 1024u}) {
    for (uint64_t window : {uint64_t{1}, uint64_t{64}, kNoLimit}) {
      for (uint64_t seed : {1u, 2u}) grid.push_back({batch, window, seed});
    }
  }
  return grid;
}

INSTANTIATE_TEST_SUITE_P(BatchWindowSeed, ReplicationSourceStream,
                         ::testing::ValuesIn(stream_grid()), stream_name);

}  // namespace
}  // namespace drsim::model

namespace drsim::model {
namespace {

TEST(FrameTakes, AFrameTakesItsFirstChangeWhateverItsSize) {
  EXPECT_TRUE(frame_takes(0, 9u << 20, 4u << 20));
}

TEST(FrameTakes, LaterChangesOnlyWhileTheFrameStaysWithinItsBound) {
  constexpr uint64_t kMax = 4u << 20;
  EXPECT_TRUE(frame_takes(1, kMax - 1, kMax));
  EXPECT_FALSE(frame_takes(1, kMax, kMax));
  EXPECT_FALSE(frame_takes(3u << 20, 1u << 20 | 1, kMax));
  EXPECT_TRUE(frame_takes(3u << 20, 1u << 20, kMax));
  // So a frame of 1 MiB changes holds at most four of them.
  uint64_t bytes = 0;
  int taken = 0;
  for (int i = 0; i < 1024 && frame_takes(bytes, 1u << 20, kMax); ++i, ++taken) bytes += 1u << 20;
  EXPECT_EQ(taken, 4);
}

}  // namespace
}  // namespace drsim::model
