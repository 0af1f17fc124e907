// ReplicationSink: in-order apply, idempotent duplicates, gap and stale-epoch refusals, and a
// seeded property test over a link that duplicates, reorders and reconnects.
#include "common/model/replication/sink.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/rng.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/replication/source.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

// Classifies and, when the sink says so, applies; returns the decision.
ApplyDecision offer(ReplicationSink& sink, Epoch e, Seq s) {
  ApplyDecision d = sink.classify(e, s);
  if (d == ApplyDecision::kApply) sink.on_applied(e, s);
  return d;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ReplicationSink, FreshSinkHasAppliedNothing) {
  ReplicationSink sink;
  EXPECT_EQ(sink.applied().value(), 0u);
  EXPECT_EQ(sink.applied_epoch().value(), 0u);
  EXPECT_EQ(sink.classify(Epoch(1), Seq(1)), ApplyDecision::kApply);
}

TEST(ReplicationSink, AppliesChangesInOrder) {
  ReplicationSink sink;
  for (uint64_t q = 1; q <= 100; ++q) {
    ASSERT_EQ(offer(sink, Epoch(1), Seq(q)), ApplyDecision::kApply) << "seq " << q;
    EXPECT_EQ(sink.applied().value(), q);
  }
  EXPECT_EQ(sink.applied_epoch().value(), 1u);
}

TEST(ReplicationSink, RestoredSinkExpectsTheSeqAfterItsDurableOne) {
  ReplicationSink sink(Seq(41), Epoch(3));
  EXPECT_EQ(sink.classify(Epoch(3), Seq(42)), ApplyDecision::kApply);
  EXPECT_EQ(sink.classify(Epoch(3), Seq(41)), ApplyDecision::kDuplicate);
  EXPECT_EQ(sink.classify(Epoch(3), Seq(43)), ApplyDecision::kGap);
}

TEST(ReplicationSink, ClassifyDoesNotChangeState) {
  ReplicationSink sink(Seq(5), Epoch(2));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.classify(Epoch(2), Seq(6)), ApplyDecision::kApply);
    EXPECT_EQ(sink.classify(Epoch(2), Seq(9)), ApplyDecision::kGap);
  }
  EXPECT_EQ(sink.applied().value(), 5u);
}

TEST(ReplicationSink, DuplicatesAreSkippedIdempotently) {
  ReplicationSink sink;
  for (uint64_t q = 1; q <= 5; ++q) offer(sink, Epoch(1), Seq(q));
  for (uint64_t q = 1; q <= 5; ++q) {
    for (int again = 0; again < 3; ++again) {
      EXPECT_EQ(offer(sink, Epoch(1), Seq(q)), ApplyDecision::kDuplicate) << "seq " << q;
    }
  }
  EXPECT_EQ(sink.applied().value(), 5u);
  EXPECT_TRUE(sink.refusal(ApplyDecision::kDuplicate, Epoch(1), Seq(3)).is_ok());
  EXPECT_EQ(offer(sink, Epoch(1), Seq(6)), ApplyDecision::kApply);
}

TEST(ReplicationSink, SeqZeroIsADuplicateOfTheEmptyState) {
  ReplicationSink sink;
  EXPECT_EQ(sink.classify(Epoch(1), Seq(0)), ApplyDecision::kDuplicate);
}

TEST(ReplicationSink, DuplicateFromAnOlderEpochIsSkippedNotRefused) {
  ReplicationSink sink;
  offer(sink, Epoch(1), Seq(1));
  offer(sink, Epoch(2), Seq(2));
  EXPECT_EQ(sink.classify(Epoch(1), Seq(1)), ApplyDecision::kDuplicate);
  EXPECT_EQ(sink.classify(Epoch(1), Seq(2)), ApplyDecision::kDuplicate);
}

TEST(ReplicationSink, GapIsRefusedWithOutOfRangeNamingTheSeqToResumeFrom) {
  ReplicationSink sink;
  for (uint64_t q = 1; q <= 5; ++q) offer(sink, Epoch(1), Seq(q));
  EXPECT_EQ(sink.classify(Epoch(1), Seq(7)), ApplyDecision::kGap);
  Status st = sink.refusal(ApplyDecision::kGap, Epoch(1), Seq(7));
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(contains(st.message(), "resume from 6")) << st.message();
  EXPECT_TRUE(contains(st.message(), "7")) << st.message();
  EXPECT_EQ(sink.applied().value(), 5u);
}

TEST(ReplicationSink, GapOnAFreshSinkNamesSeqOne) {
  ReplicationSink sink;
  EXPECT_EQ(sink.classify(Epoch(1), Seq(2)), ApplyDecision::kGap);
  Status st = sink.refusal(ApplyDecision::kGap, Epoch(1), Seq(2));
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(contains(st.message(), "resume from 1")) << st.message();
}

TEST(ReplicationSink, FarGapIsStillAGap) {
  ReplicationSink sink(Seq(10), Epoch(1));
  EXPECT_EQ(sink.classify(Epoch(1), Seq(UINT64_MAX)), ApplyDecision::kGap);
}

TEST(ReplicationSink, OlderEpochThanTheLastAppliedIsRefusedAsFailedPrecondition) {
  ReplicationSink sink;
  offer(sink, Epoch(3), Seq(1));
  EXPECT_EQ(sink.classify(Epoch(2), Seq(2)), ApplyDecision::kStaleEpoch);
  Status st = sink.refusal(ApplyDecision::kStaleEpoch, Epoch(2), Seq(2));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "epoch 2")) << st.message();
  EXPECT_TRUE(contains(st.message(), "applied epoch 3")) << st.message();
  EXPECT_EQ(sink.applied().value(), 1u);
  EXPECT_EQ(sink.applied_epoch().value(), 3u);
}

TEST(ReplicationSink, RestoredEpochFencesOlderChanges) {
  ReplicationSink sink(Seq(10), Epoch(5));
  EXPECT_EQ(sink.classify(Epoch(4), Seq(11)), ApplyDecision::kStaleEpoch);
  EXPECT_EQ(sink.classify(Epoch(5), Seq(11)), ApplyDecision::kApply);
}

TEST(ReplicationSink, SameEpochIsApplied) {
  ReplicationSink sink;
  offer(sink, Epoch(2), Seq(1));
  EXPECT_EQ(offer(sink, Epoch(2), Seq(2)), ApplyDecision::kApply);
}

TEST(ReplicationSink, EpochMayIncreaseAndThenFencesTheOldOne) {
  ReplicationSink sink;
  offer(sink, Epoch(1), Seq(1));
  EXPECT_EQ(offer(sink, Epoch(2), Seq(2)), ApplyDecision::kApply);
  EXPECT_EQ(sink.applied_epoch().value(), 2u);
  EXPECT_EQ(offer(sink, Epoch(7), Seq(3)), ApplyDecision::kApply);
  EXPECT_EQ(sink.applied_epoch().value(), 7u);
  EXPECT_EQ(sink.classify(Epoch(2), Seq(4)), ApplyDecision::kStaleEpoch);
}

TEST(ReplicationSink, RefusalOfAnApplyIsOk) {
  ReplicationSink sink;
  EXPECT_TRUE(sink.refusal(ApplyDecision::kApply, Epoch(1), Seq(1)).is_ok());
}

TEST(ReplicationSink, DecisionNamesAreStable) {
  EXPECT_STREQ(apply_decision_name(ApplyDecision::kApply), "apply");
  EXPECT_STREQ(apply_decision_name(ApplyDecision::kDuplicate), "duplicate");
  EXPECT_STREQ(apply_decision_name(ApplyDecision::kGap), "gap");
  EXPECT_STREQ(apply_decision_name(ApplyDecision::kStaleEpoch), "stale-epoch");
}

// --- property: a hostile link, exactly-once in-order apply ----------------------------------

struct Change {
  Epoch epoch;
  Seq seq;
};

class ReplicationSinkProperty : public ::testing::TestWithParam<uint64_t> {};

// A ReplicationSource streams single changes over a link that duplicates and reorders them;
// the sink refuses gaps, which breaks the stream, and the source reconnects from the sink's
// durable seq. Acks are delayed and can arrive stale. The epoch rises twice mid-stream.
TEST_P(ReplicationSinkProperty, AppliesEverySeqExactlyOnceInOrder) {
  const uint64_t seed = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed));
  constexpr uint64_t kWrites = 2'000;
  Rng rng(seed);
  Time now = kTimeZero;
  ReplicationSource source;
  ReplicationSink sink;
  std::vector<Epoch> epoch_of(kWrites + 1);
  Epoch epoch(1);
  std::deque<Change> link;
  std::vector<Change> delivered;  // history, for replaying duplicates
  std::vector<Seq> acks;          // acks in flight
  std::vector<uint64_t> applied_order;
  int gaps = 0, duplicates = 0, reconnects = 0;

  ASSERT_TRUE(source.on_connected(sink.applied(), now).is_ok());
  for (int step = 0; step < 200'000 && sink.applied().value() < kWrites; ++step) {
    now += 1ms;
    for (uint64_t n = rng.below(5); n > 0 && source.last_written().value() < kWrites; --n) {
      Seq q = source.assign(now);
      if (q.value() == kWrites / 3 || q.value() == 2 * kWrites / 3) epoch = epoch.next();
      epoch_of[q.value()] = epoch;
    }
    while (auto r = source.next_range(1 + rng.below(8), 64)) {
      source.on_sent(*r);
      for (uint64_t q = r->first.value(); q <= r->last.value(); ++q) {
        link.push_back({epoch_of[q], Seq(q)});
      }
    }
    // The hostile link: sometimes swap two changes, sometimes replay an old one.
    if (link.size() >= 2 && rng.below(20) == 0) {
      size_t i = rng.below(link.size() - 1);
      std::swap(link[i], link[i + 1 + rng.below(link.size() - i - 1)]);
    }
    if (!delivered.empty() && rng.below(5) == 0) {
      link.push_front(delivered[rng.below(delivered.size())]);
    }

    bool broken = false;
    for (uint64_t n = 1 + rng.below(6); n > 0 && !link.empty() && !broken; --n) {
      Change c = link.front();
      link.pop_front();
      delivered.push_back(c);
      ApplyDecision d = sink.classify(c.epoch, c.seq);
      switch (d) {
        case ApplyDecision::kApply:
          sink.on_applied(c.epoch, c.seq);
          applied_order.push_back(c.seq.value());
          break;
        case ApplyDecision::kDuplicate:
          ++duplicates;
          ASSERT_TRUE(sink.refusal(d, c.epoch, c.seq).is_ok());
          break;
        case ApplyDecision::kGap: {
          ++gaps;
          Status st = sink.refusal(d, c.epoch, c.seq);
          ASSERT_EQ(st.code(), StatusCode::kOutOfRange);
          ASSERT_TRUE(
              contains(st.message(), "resume from " + std::to_string(sink.applied().value() + 1)))
              << st.message();
          broken = true;
          break;
        }
        case ApplyDecision::kStaleEpoch:
          FAIL() << "one source with a rising epoch never sends a stale one: seq " << c.seq.value();
      }
    }
    if (rng.below(3) == 0) acks.push_back(sink.applied());
    if (!acks.empty() && rng.below(2) == 0) {  // acks arrive out of order too
      size_t i = rng.below(acks.size());
      ASSERT_TRUE(source.on_ack(acks[i], now).is_ok());
      acks.erase(acks.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (broken || rng.below(40) == 0) {
      link.clear();
      acks.clear();
      source.on_disconnected();
      ASSERT_TRUE(source.on_connected(sink.applied(), now).is_ok());
      ++reconnects;
    }
  }

  ASSERT_EQ(applied_order.size(), kWrites);
  for (uint64_t i = 0; i < kWrites; ++i) ASSERT_EQ(applied_order[i], i + 1);
  EXPECT_EQ(sink.applied_epoch().value(), 3u);
  EXPECT_GT(gaps, 0);
  EXPECT_GT(duplicates, 0);
  EXPECT_GT(reconnects, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReplicationSinkProperty, ::testing::Range<uint64_t>(1, 21));

}  // namespace
}  // namespace drsim::model
