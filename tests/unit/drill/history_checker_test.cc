// History checker: lost acknowledged writes, recovered indeterminate writes, stale reads
// (sound under concurrency), RTO parts and gaps, RPO per workload and availability buckets.
#include "common/model/drill/history_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/core/rng.h"
#include "common/model/drill/history.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // a wall-clock instant
constexpr char kWorkload[] = "orders";
constexpr char kKey[] = "k1";

int64_t at_ms(int64_t ms) { return kT0 + ms * kMs; }

// Builds a history with ids in order of appending; times in ms after kT0.
class HistoryBuilder {
 public:
  HistoryBuilder& put(std::string value, int64_t invoke_ms, int64_t complete_ms,
                      Outcome outcome = Outcome::kOk, std::string region = "east",
                      std::string key = kKey) {
    OpRecord op = base(OpKind::kPut, std::move(key), invoke_ms, complete_ms, outcome, region);
    op.value = std::move(value);
    op.seq = ++seq_;
    ops_.push_back(op);
    return *this;
  }
  HistoryBuilder& del(int64_t invoke_ms, int64_t complete_ms, Outcome outcome = Outcome::kOk,
                      std::string region = "east", std::string key = kKey) {
    OpRecord op = base(OpKind::kDelete, std::move(key), invoke_ms, complete_ms, outcome, region);
    op.seq = ++seq_;
    ops_.push_back(op);
    return *this;
  }
  // `seen` empty means not found.
  HistoryBuilder& get(std::string seen, int64_t invoke_ms, int64_t complete_ms,
                      Outcome outcome = Outcome::kOk, std::string region = "east",
                      std::string key = kKey) {
    OpRecord op = base(OpKind::kGet, std::move(key), invoke_ms, complete_ms, outcome, region);
    op.found = !seen.empty();
    op.value = std::move(seen);
    ops_.push_back(op);
    return *this;
  }
  const std::vector<OpRecord>& ops() const { return ops_; }

 private:
  OpRecord base(OpKind kind, std::string key, int64_t invoke_ms, int64_t complete_ms,
                Outcome outcome, const std::string& region) {
    OpRecord op;
    op.id = ops_.size() + 1;
    op.kind = kind;
    op.workload = kWorkload;
    op.key = std::move(key);
    op.invoke_ns = at_ms(invoke_ms);
    op.complete_ns = at_ms(complete_ms);
    op.outcome = outcome;
    op.region = outcome == Outcome::kOk ? region : "";
    op.epoch = 1;
    return op;
  }

  std::vector<OpRecord> ops_;
  uint64_t seq_ = 0;
};

FinalState final_with(const std::string& value, const std::string& key = kKey) {
  return FinalState{{WorkloadKey(kWorkload, key), value}};
}

// ---- Lost writes --------------------------------------------------------------------------

TEST(HistoryChecker, AckedWriteMissingFromFinalStateIsLost) {
  HistoryBuilder h;
  h.put("v1", 0, 10);
  CheckResult r = check_history(h.ops(), FinalState{});
  ASSERT_EQ(r.lost_count, 1u);
  ASSERT_EQ(r.lost.size(), 1u);
  EXPECT_EQ(r.lost[0].id, 1u);
  EXPECT_EQ(r.lost[0].kind, OpKind::kPut);
  EXPECT_EQ(r.lost[0].key, kKey);
  EXPECT_EQ(r.lost[0].value, "v1");
  EXPECT_EQ(r.lost[0].region, "east");
  EXPECT_EQ(r.lost[0].complete_ns, at_ms(10));
  EXPECT_FALSE(r.lost[0].final_value.has_value());
  EXPECT_FALSE(r.valid());
}

TEST(HistoryChecker, AckedWriteReplacedByAnOlderValueIsLost) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 30);
  CheckResult r = check_history(h.ops(), final_with("v1"));
  ASSERT_EQ(r.lost_count, 1u);
  EXPECT_EQ(r.lost[0].value, "v2");
  EXPECT_EQ(r.lost[0].final_value, "v1");
}

TEST(HistoryChecker, WriteOverwrittenLaterIsNotLost) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 30);
  CheckResult r = check_history(h.ops(), final_with("v2"));
  EXPECT_EQ(r.lost_count, 0u);
  EXPECT_TRUE(r.valid());
}

TEST(HistoryChecker, ConcurrentOverwriteIsNotLost) {
  // v2 finished first but the two overlap, so v1 may be linearized before v2: either final
  // value is fine.
  HistoryBuilder h;
  h.put("v1", 0, 30).put("v2", 5, 20);
  EXPECT_EQ(check_history(h.ops(), final_with("v2")).lost_count, 0u);
  EXPECT_EQ(check_history(h.ops(), final_with("v1")).lost_count, 0u);
}

TEST(HistoryChecker, OverwriteByIndeterminatePutIsNotLost) {
  // The timed-out put may have been applied after it completed, even after v2.
  HistoryBuilder h;
  h.put("v1", 0, 10, Outcome::kIndeterminate).put("v2", 20, 30);
  CheckResult r = check_history(h.ops(), final_with("v1"));
  EXPECT_EQ(r.lost_count, 0u);
  EXPECT_EQ(r.recovered_count, 1u);
}

TEST(HistoryChecker, OverwriteByFailedPutDoesNotExcuseLoss) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 30, Outcome::kFail);
  CheckResult r = check_history(h.ops(), final_with("v2"));
  EXPECT_EQ(r.lost_count, 1u);
}

TEST(HistoryChecker, IndeterminateWritePresentIsRecovered) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 1000, Outcome::kIndeterminate);
  CheckResult r = check_history(h.ops(), final_with("v2"));
  EXPECT_EQ(r.lost_count, 0u);
  ASSERT_EQ(r.recovered_count, 1u);
  EXPECT_EQ(r.recovered[0].id, 2u);
  EXPECT_EQ(r.recovered[0].value, "v2");
  EXPECT_EQ(r.writes.indeterminate, 1u);
}

TEST(HistoryChecker, IndeterminateWriteAbsentIsNotLost) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 1000, Outcome::kIndeterminate);
  CheckResult r = check_history(h.ops(), final_with("v1"));
  EXPECT_EQ(r.lost_count, 0u);
  EXPECT_EQ(r.recovered_count, 0u);
  EXPECT_TRUE(r.valid());
}

TEST(HistoryChecker, OkDeleteRespected) {
  HistoryBuilder h;
  h.put("v1", 0, 10).del(20, 30);
  EXPECT_EQ(check_history(h.ops(), FinalState{}).lost_count, 0u);
}

TEST(HistoryChecker, DeletedKeyReappearingLosesTheDelete) {
  HistoryBuilder h;
  h.put("v1", 0, 10).del(20, 30);
  CheckResult r = check_history(h.ops(), final_with("v1"));
  ASSERT_EQ(r.lost_count, 1u);
  EXPECT_EQ(r.lost[0].kind, OpKind::kDelete);
  EXPECT_EQ(r.lost[0].id, 2u);
  EXPECT_EQ(r.lost[0].final_value, "v1");
}

TEST(HistoryChecker, DeleteConcurrentWithPutIsNotLost) {
  HistoryBuilder h;
  h.put("v1", 0, 25).del(20, 30);
  EXPECT_EQ(check_history(h.ops(), final_with("v1")).lost_count, 0u);
  EXPECT_EQ(check_history(h.ops(), FinalState{}).lost_count, 0u);
}

TEST(HistoryChecker, KeyAbsentAfterOkPutWithLaterIndeterminateDeleteIsNotLost) {
  HistoryBuilder h;
  h.put("v1", 0, 10).del(20, 1000, Outcome::kIndeterminate);
  CheckResult r = check_history(h.ops(), FinalState{});
  EXPECT_EQ(r.lost_count, 0u);
}

TEST(HistoryChecker, KeyAbsentAfterOkPutWithEarlierDeleteIsLost) {
  HistoryBuilder h;
  h.del(0, 5).put("v1", 10, 20);
  EXPECT_EQ(check_history(h.ops(), FinalState{}).lost_count, 1u);
}

TEST(HistoryChecker, DuplicateValuesDoNotCrashAndCountOnce) {
  HistoryBuilder h;
  h.put("same", 0, 10).put("same", 20, 30).put("other", 40, 50);
  CheckResult r = check_history(h.ops(), final_with("same"));
  // Both puts of "same" match the final value; "other" came strictly after both, so it is
  // the one lost.
  EXPECT_EQ(r.lost_count, 1u);
  EXPECT_EQ(r.lost[0].value, "other");
}

TEST(HistoryChecker, KeysAndWorkloadsAreJudgedSeparately) {
  HistoryBuilder h;
  h.put("a", 0, 10, Outcome::kOk, "east", "ka").put("b", 0, 10, Outcome::kOk, "east", "kb");
  FinalState fs{{WorkloadKey(kWorkload, "ka"), "a"}, {WorkloadKey("other", "kb"), "b"}};
  CheckResult r = check_history(h.ops(), fs);
  ASSERT_EQ(r.lost_count, 1u);
  EXPECT_EQ(r.lost[0].key, "kb");
}

// The broken failover the checker exists to catch: the old primary keeps acknowledging after
// the fault (no fencing), the standby was promoted from what it had, and those writes vanish.
TEST(HistoryChecker, OldPrimaryAcksAfterFaultAbsentFromFinalStateAreLostWithRegion) {
  HistoryBuilder h;
  h.put("a1", 0, 10, Outcome::kOk, "east", "a")
      .put("b1", 20, 30, Outcome::kOk, "east", "b")
      // fault at 100 ms; east still answers some clients
      .put("a2", 110, 120, Outcome::kOk, "east", "a")
      .put("b2", 130, 140, Outcome::kOk, "east", "b")
      // west promoted from a replica that stopped at a1/b1
      .put("c1", 400, 410, Outcome::kOk, "west", "c");
  FinalState fs{{WorkloadKey(kWorkload, "a"), "a1"},
                {WorkloadKey(kWorkload, "b"), "b1"},
                {WorkloadKey(kWorkload, "c"), "c1"}};
  CheckResult r = check_history(h.ops(), fs);
  ASSERT_EQ(r.lost_count, 2u);
  EXPECT_EQ(r.lost[0].value, "a2");
  EXPECT_EQ(r.lost[0].region, "east");
  EXPECT_EQ(r.lost[0].complete_ns, at_ms(120));
  EXPECT_EQ(r.lost[0].final_value, "a1");
  EXPECT_EQ(r.lost[1].value, "b2");
  EXPECT_EQ(r.lost[1].region, "east");
  EXPECT_EQ(r.ok_writes_by_region.at("east"), 4u);
  EXPECT_EQ(r.ok_writes_by_region.at("west"), 1u);
  EXPECT_FALSE(r.valid());
}

// ---- Counts -------------------------------------------------------------------------------

TEST(HistoryChecker, CountsWritesAndReadsByOutcome) {
  HistoryBuilder h;
  h.put("v1", 0, 10)
      .put("v2", 10, 20, Outcome::kFail)
      .put("v3", 20, 30, Outcome::kIndeterminate)
      .del(30, 40, Outcome::kOk, "west")
      .get("", 50, 60)
      .get("", 60, 70, Outcome::kFail)
      .get("", 70, 80, Outcome::kIndeterminate);
  CheckResult r = check_history(h.ops(), FinalState{});
  EXPECT_EQ(r.writes.attempted, 4u);
  EXPECT_EQ(r.writes.ok, 2u);
  EXPECT_EQ(r.writes.failed, 1u);
  EXPECT_EQ(r.writes.indeterminate, 1u);
  EXPECT_EQ(r.reads.attempted, 3u);
  EXPECT_EQ(r.reads.ok, 1u);
  EXPECT_EQ(r.reads.failed, 1u);
  EXPECT_EQ(r.reads.indeterminate, 1u);
  EXPECT_EQ(r.ok_writes_by_region.at("east"), 1u);
  EXPECT_EQ(r.ok_writes_by_region.at("west"), 1u);
}

TEST(HistoryChecker, EmptyHistoryIsValidAndZero) {
  CheckResult r = check_history({}, FinalState{});
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(r.writes.attempted, 0u);
  EXPECT_EQ(r.reads.attempted, 0u);
  EXPECT_TRUE(r.lost.empty());
  EXPECT_TRUE(r.recovered.empty());
  EXPECT_EQ(r.stale_read_count, 0u);

  RtoBreakdown rto = measure_rto({}, OutageMarks{});
  EXPECT_FALSE(rto.total.has_value());
  EXPECT_FALSE(rto.longest_write_gap.has_value());
  EXPECT_TRUE(rto.missing.any());
  EXPECT_TRUE(availability({}, kT0, 1000 * kMs).empty());
  EXPECT_EQ(rpo({}, "east", at_ms(100), {}).total_writes, 0u);
}

// ---- Stale reads --------------------------------------------------------------------------

TEST(HistoryChecker, ReadOlderThanAckedWriteIsStale) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 30).get("v1", 40, 50, Outcome::kOk, "west");
  CheckResult r = check_history(h.ops(), final_with("v2"));
  EXPECT_EQ(r.stale_read_count, 1u);
  ASSERT_EQ(r.stale_read_examples.size(), 1u);
  const StaleRead& s = r.stale_read_examples[0];
  EXPECT_EQ(s.read_id, 3u);
  EXPECT_EQ(s.region, "west");
  EXPECT_TRUE(s.seen_found);
  EXPECT_EQ(s.seen_value, "v1");
  EXPECT_EQ(s.newer_write_id, 2u);
  EXPECT_EQ(s.newer_value, "v2");
  EXPECT_FALSE(r.valid());
}

TEST(HistoryChecker, NotFoundAfterAckedWriteIsStale) {
  HistoryBuilder h;
  h.put("v1", 0, 10).get("", 20, 30);
  CheckResult r = check_history(h.ops(), final_with("v1"));
  EXPECT_EQ(r.stale_read_count, 1u);
  EXPECT_FALSE(r.stale_read_examples[0].seen_found);
}

TEST(HistoryChecker, ValueReadAfterAckedDeleteIsStale) {
  HistoryBuilder h;
  h.put("v1", 0, 10).del(20, 30).get("v1", 40, 50);
  CheckResult r = check_history(h.ops(), FinalState{});
  EXPECT_EQ(r.stale_read_count, 1u);
  EXPECT_EQ(r.stale_read_examples[0].newer_write_kind, OpKind::kDelete);
}

TEST(HistoryChecker, ConcurrentReadIsNotStale) {
  HistoryBuilder h;
  // The first read overlaps v2, so seeing v1 is fine; the second overlaps v3 and sees v2.
  h.put("v1", 0, 10).put("v2", 20, 40).get("v1", 30, 50).put("v3", 60, 80).get("v2", 70, 90);
  CheckResult r = check_history(h.ops(), final_with("v3"));
  EXPECT_EQ(r.stale_read_count, 0u);
  EXPECT_TRUE(r.valid());
}

TEST(HistoryChecker, ReadOfValueWrittenConcurrentlyWithNewerWriteIsNotStale) {
  // v1's put overlaps v2's put, so v1 may be linearized after v2.
  HistoryBuilder h;
  h.put("v1", 0, 30).put("v2", 10, 20).get("v1", 40, 50);
  EXPECT_EQ(check_history(h.ops(), final_with("v1")).stale_read_count, 0u);
}

TEST(HistoryChecker, NotFoundExplainedByConcurrentDeleteIsNotStale) {
  HistoryBuilder h;
  h.put("v1", 0, 10).del(5, 1000, Outcome::kIndeterminate).get("", 20, 30);
  EXPECT_EQ(check_history(h.ops(), FinalState{}).stale_read_count, 0u);
}

TEST(HistoryChecker, ReadOfIndeterminateValueIsNotStale) {
  HistoryBuilder h;
  h.put("v1", 0, 10, Outcome::kIndeterminate).put("v2", 20, 30).get("v1", 40, 50);
  EXPECT_EQ(check_history(h.ops(), final_with("v1")).stale_read_count, 0u);
}

TEST(HistoryChecker, ReadOfValueNobodyWroteIsUnexplainedNotStale) {
  HistoryBuilder h;
  h.put("v1", 0, 10).get("ghost", 20, 30);
  CheckResult r = check_history(h.ops(), final_with("v1"));
  EXPECT_EQ(r.stale_read_count, 0u);
  EXPECT_EQ(r.unexplained_read_count, 1u);
}

TEST(HistoryChecker, StaleReadExamplesAreCappedButAllCounted) {
  HistoryBuilder h;
  h.put("v1", 0, 10).put("v2", 20, 30);
  for (int i = 0; i < 5; ++i) h.get("v1", 40 + i, 41 + i);
  CheckResult r =
      check_history(h.ops(), final_with("v2"), CheckOptions{.max_stale_read_examples = 2});
  EXPECT_EQ(r.stale_read_count, 5u);
  EXPECT_EQ(r.stale_read_examples.size(), 2u);
}

// Soundness: histories of a linearizable store (each op takes effect at one instant inside its
// window; an indeterminate op may take effect after it completed, or never) are never
// reported as losing writes or reading stale values.
TEST(HistoryChecker, LinearizableHistoriesHaveNoFalsePositives) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Rng rng(seed);
    struct Planned {
      OpRecord op;
      int64_t effect_ns;
      bool applied;
    };
    std::vector<Planned> plan;
    const int op_count = 40;
    for (int i = 0; i < op_count; ++i) {
      OpRecord op;
      op.id = static_cast<uint64_t>(i) + 1;
      const uint64_t kind = rng.below(10);
      op.kind = kind < 5 ? OpKind::kPut : kind < 6 ? OpKind::kDelete : OpKind::kGet;
      op.workload = kWorkload;
      op.key = "k" + std::to_string(rng.below(3));
      op.value = op.kind == OpKind::kPut ? "v" + std::to_string(i) : "";
      op.invoke_ns = at_ms(static_cast<int64_t>(rng.below(200)));
      op.complete_ns = op.invoke_ns + static_cast<int64_t>(rng.below(30) + 1) * kMs;
      const uint64_t ending = rng.below(10);
      op.outcome = ending < 7   ? Outcome::kOk
                   : ending < 9 ? Outcome::kIndeterminate
                                : Outcome::kFail;
      op.region = op.outcome == Outcome::kOk ? "east" : "";
      int64_t effect =
          op.invoke_ns +
          static_cast<int64_t>(rng.below(static_cast<uint64_t>(op.complete_ns - op.invoke_ns + 1)));
      bool applied = op.outcome == Outcome::kOk;
      if (op.outcome == Outcome::kIndeterminate) {
        applied = op.kind != OpKind::kGet && rng.below(2) == 0;
        effect += static_cast<int64_t>(rng.below(100)) * kMs;  // possibly after completion
      }
      plan.push_back({op, effect, applied});
    }
    std::vector<size_t> order(plan.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return plan[a].effect_ns < plan[b].effect_ns; });
    FinalState state;
    for (size_t i : order) {
      Planned& p = plan[i];
      if (!p.applied) continue;
      const WorkloadKey k(p.op.workload, p.op.key);
      if (p.op.kind == OpKind::kPut) {
        state[k] = p.op.value;
      } else if (p.op.kind == OpKind::kDelete) {
        state.erase(k);
      } else {
        auto it = state.find(k);
        p.op.found = it != state.end();
        p.op.value = p.op.found ? it->second : "";
      }
    }
    std::vector<OpRecord> ops;
    for (const Planned& p : plan) ops.push_back(p.op);
    CheckResult r = check_history(ops, state);
    ASSERT_EQ(r.lost_count, 0u) << "seed " << seed << " op " << r.lost[0].id;
    ASSERT_EQ(r.stale_read_count, 0u)
        << "seed " << seed << " read " << r.stale_read_examples[0].read_id;
    ASSERT_EQ(r.unexplained_read_count, 0u) << "seed " << seed;
  }
}

// ---- RTO ----------------------------------------------------------------------------------

OutageMarks marks_at(int64_t fault, int64_t detected, int64_t promoted, int64_t routed) {
  auto ns = [](int64_t ms) { return ms == 0 ? int64_t{0} : at_ms(ms); };
  return OutageMarks{.fault_ns = ns(fault),
                     .detected_ns = ns(detected),
                     .promoted_ns = ns(promoted),
                     .routed_ns = ns(routed),
                     .new_region = "west"};
}

TEST(HistoryChecker, RtoPartsComputedFromMarksAndFirstAckInNewRegion) {
  HistoryBuilder h;
  h.put("a", 0, 10)
      .put("b", 90, 95)                             // last ok write before the fault
      .put("c", 100, 200, Outcome::kIndeterminate)  // timed out during the outage
      .put("d", 1000, 1400, Outcome::kOk, "west")   // first ack by the new region
      .put("e", 1500, 1510, Outcome::kOk, "west");
  RtoBreakdown rto = measure_rto(h.ops(), marks_at(100, 400, 900, 1100));
  EXPECT_FALSE(rto.missing.any());
  EXPECT_FALSE(rto.clamped);
  ASSERT_TRUE(rto.total.has_value());
  EXPECT_EQ(*rto.total, 1300ms);
  EXPECT_EQ(rto.first_ack_new_id, 4u);
  EXPECT_EQ(rto.first_ack_new_ns, at_ms(1400));
  EXPECT_EQ(rto.detection, 300ms);
  EXPECT_EQ(rto.promotion, 500ms);
  EXPECT_EQ(rto.routing, 200ms);
  EXPECT_EQ(rto.client, 300ms);
  EXPECT_EQ(*rto.detection + *rto.promotion + *rto.routing + *rto.client, *rto.total);
  EXPECT_EQ(rto.last_ok_write_before_fault_ns, at_ms(95));
  ASSERT_TRUE(rto.longest_write_gap.has_value());
  EXPECT_EQ(rto.longest_write_gap->start_ns, at_ms(95));
  EXPECT_EQ(rto.longest_write_gap->end_ns, at_ms(1400));
  EXPECT_EQ(rto.longest_write_gap->length(), 1305ms);
}

// `drsim demo --fault pause`: the client that moves first had a request blocked on the frozen
// primary until it gave up — its keepalive watchdog (about 1 s), or its deadline — well past the
// routing change; that wait is the client's deadline, not its TTL.
TEST(HistoryChecker, RtoClientTimeBlockedOnAFrozenServerIsClientDeadlineNotTtl) {
  for (CallEnd gave_up : {CallEnd::kKeepalive, CallEnd::kDeadline}) {
    SCOPED_TRACE(call_end_name(gave_up));
    HistoryBuilder h;
    h.put("a", 0, 10)
        .put("b", 90, 1090, Outcome::kIndeterminate)  // held by the frozen primary
        .put("c", 1100, 1105, Outcome::kOk, "west");  // then resolved and moved
    std::vector<OpRecord> ops = h.ops();
    ops[1].end = gave_up;
    RtoBreakdown rto = measure_rto(ops, marks_at(50, 350, 400, 450));
    ASSERT_TRUE(rto.client && rto.client_deadline && rto.client_ttl);
    EXPECT_EQ(*rto.client, 655ms);
    EXPECT_EQ(*rto.client_deadline, 640ms);  // routed (450) -> the client gave up (1090)
    EXPECT_EQ(*rto.client_ttl, 15ms);        // then 10 ms to the next call and 5 ms round trip
    EXPECT_EQ(*rto.detection + *rto.promotion + *rto.routing + *rto.client_deadline +
                  *rto.client_ttl,
              *rto.total);
  }
}

// Calls of another client, another lane of the same client or another run did not hold up the
// client that moved first; neither did a call that failed fast (answered, not at a deadline).
TEST(HistoryChecker, RtoClientDeadlineCountsOnlyTheMovingLanesOwnDeadlines) {
  HistoryBuilder h;
  h.put("a", 0, 10)
      .put("b", 90, 1090, Outcome::kIndeterminate)   // client 1: deadline
      .put("c", 100, 1100, Outcome::kIndeterminate)  // client 0, lane 1: deadline
      .put("d", 100, 1100, Outcome::kIndeterminate)  // client 0 of another run: deadline
      .put("e", 460, 470, Outcome::kFail)            // client 0 lane 0: refused fast
      .put("f", 800, 805, Outcome::kOk, "west");     // client 0 lane 0 moves
  std::vector<OpRecord> ops = h.ops();
  for (size_t i : {1, 2, 3}) ops[i].end = CallEnd::kDeadline;
  ops[1].client = 1;
  ops[2].lane = 1;
  ops[3].run = "other-run";
  RtoBreakdown rto = measure_rto(ops, marks_at(50, 350, 400, 450));
  EXPECT_EQ(rto.client, 355ms);
  EXPECT_EQ(rto.client_deadline, 0ms);
  EXPECT_EQ(rto.client_ttl, 355ms);
}

TEST(HistoryChecker, RtoPartsClampedAtZeroWhenMarksOutOfOrder) {
  // Traffic Manager started answering west before the promotion finished.
  HistoryBuilder h;
  h.put("a", 0, 10).put("d", 1000, 1400, Outcome::kOk, "west");
  RtoBreakdown rto = measure_rto(h.ops(), marks_at(100, 400, 900, 800));
  EXPECT_TRUE(rto.clamped);
  EXPECT_EQ(rto.routing, 0ms);
  EXPECT_EQ(rto.client, 600ms);
  EXPECT_EQ(rto.total, 1300ms);
}

TEST(HistoryChecker, RtoFlagsMissingMarksAndOmitsTheirParts) {
  HistoryBuilder h;
  h.put("a", 0, 10).put("d", 1000, 1400, Outcome::kOk, "west");
  RtoBreakdown rto = measure_rto(h.ops(), marks_at(100, 0, 900, 1100));
  EXPECT_TRUE(rto.missing.detected);
  EXPECT_FALSE(rto.missing.promoted);
  EXPECT_FALSE(rto.detection.has_value());
  EXPECT_FALSE(rto.promotion.has_value());
  EXPECT_EQ(rto.routing, 200ms);
  EXPECT_EQ(rto.client, 300ms);
  EXPECT_EQ(rto.total, 1300ms);
}

TEST(HistoryChecker, NoWriteInNewRegionMeansNoRto) {
  HistoryBuilder h;
  h.put("a", 0, 10)
      .put("b", 200, 210)  // old region, after the fault
      .put("c", 300, 310, Outcome::kFail)
      .put("d", 400, 410, Outcome::kIndeterminate)
      .get("", 500, 510, Outcome::kOk, "west");  // a read is not a write
  RtoBreakdown rto = measure_rto(h.ops(), marks_at(100, 400, 900, 1100));
  EXPECT_FALSE(rto.total.has_value());
  EXPECT_FALSE(rto.first_ack_new_ns.has_value());
  EXPECT_FALSE(rto.client.has_value());
  EXPECT_EQ(rto.detection, 300ms);
}

TEST(HistoryChecker, RtoIgnoresNewRegionWritesBeforeTheFault) {
  HistoryBuilder h;
  h.put("a", 0, 10, Outcome::kOk, "west").put("b", 500, 600, Outcome::kOk, "west");
  RtoBreakdown rto = measure_rto(h.ops(), marks_at(100, 200, 300, 400));
  EXPECT_EQ(rto.first_ack_new_id, 2u);
  EXPECT_EQ(rto.total, 500ms);
}

TEST(HistoryChecker, LongestWriteGapRunsToTheEndWhenWritesNeverResume) {
  HistoryBuilder h;
  h.put("a", 0, 10).put("b", 20, 5000, Outcome::kIndeterminate);
  RtoBreakdown rto = measure_rto(h.ops(), marks_at(100, 0, 0, 0));
  ASSERT_TRUE(rto.longest_write_gap.has_value());
  EXPECT_EQ(rto.longest_write_gap->start_ns, at_ms(10));
  EXPECT_EQ(rto.longest_write_gap->end_ns, at_ms(5000));
}

// ---- RPO ----------------------------------------------------------------------------------

TEST(HistoryChecker, RpoCountsWritesAndTimeBetweenRecoveredAndLastAcked) {
  HistoryBuilder h;  // seqs 1..4 on east
  h.put("a", 0, 10).put("b", 20, 30).put("c", 40, 50).put("d", 60, 70);
  std::vector<WorkloadRecoveryPoint> points{
      {.workload = kWorkload, .acked_seq_at_old = 4, .recovered_seq = 2},
      {.workload = "idle", .acked_seq_at_old = 7, .recovered_seq = 7}};
  RpoEstimate e = rpo(h.ops(), "east", at_ms(100), points);
  ASSERT_EQ(e.workloads.size(), 2u);
  EXPECT_EQ(e.workloads[0].writes, 2u);
  EXPECT_EQ(e.workloads[0].time, 40ms);  // seq 4 acked at 70, seq 2 at 30
  EXPECT_EQ(e.workloads[1].writes, 0u);
  EXPECT_EQ(e.workloads[1].time, 0ms);
  EXPECT_EQ(e.total_writes, 2u);
  EXPECT_EQ(e.max_time, 40ms);
}

TEST(HistoryChecker, RpoTimeUnknownWhenNothingRecovered) {
  HistoryBuilder h;
  h.put("a", 0, 10).put("b", 20, 30);
  RpoEstimate e = rpo(h.ops(), "east", at_ms(100),
                      {{.workload = kWorkload, .acked_seq_at_old = 2, .recovered_seq = 0}});
  EXPECT_EQ(e.workloads[0].writes, 2u);
  EXPECT_FALSE(e.workloads[0].time.has_value());
  EXPECT_FALSE(e.max_time.has_value());
}

// ---- Availability -------------------------------------------------------------------------

TEST(HistoryChecker, AvailabilityBucketsCountOutcomesPerRegion) {
  HistoryBuilder h;
  h.put("a", 0, 10)                                   // bucket 0, east ok
      .get("a", 20, 900, Outcome::kOk, "east")        // bucket 0, east ok
      .put("b", 1000, 1500, Outcome::kIndeterminate)  // bucket 1, "" indeterminate
      .put("c", 1600, 1700, Outcome::kFail)           // bucket 1, "" fail
      // bucket 2 empty
      .put("d", 3000, 3100, Outcome::kOk, "west");  // bucket 3, west ok
  OpRecord early = h.ops()[0];
  std::vector<OpRecord> ops = h.ops();
  early.complete_ns = kT0 - 1;  // before start: skipped
  ops.push_back(early);

  std::vector<Bucket> b = availability(ops, kT0, 1000 * kMs);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].start_ns, kT0);
  EXPECT_EQ(b[3].start_ns, at_ms(3000));
  EXPECT_EQ(b[0].by_region.at("east").ok, 2u);
  EXPECT_EQ(b[0].total().ok, 2u);
  EXPECT_EQ(b[1].by_region.at("").indeterminate, 1u);
  EXPECT_EQ(b[1].by_region.at("").fail, 1u);
  EXPECT_EQ(b[1].total().ok, 0u);
  EXPECT_TRUE(b[2].by_region.empty());
  EXPECT_EQ(b[3].by_region.at("west").ok, 1u);
  EXPECT_EQ(b[3].by_region.count("east"), 0u);
}


// ---- clients following routing, writes after fencing --------------------------------------

OpRecord client_op(uint32_t client, int64_t invoke_ms, int64_t complete_ms, Outcome outcome,
                   std::string region, uint64_t epoch = 1) {
  OpRecord op;
  op.id = (uint64_t{client} << 40) | static_cast<uint64_t>(invoke_ms);
  op.kind = OpKind::kPut;
  op.workload = kWorkload;
  op.key = kKey;
  op.invoke_ns = at_ms(invoke_ms);
  op.complete_ns = at_ms(complete_ms);
  op.outcome = outcome;
  op.region = std::move(region);
  op.epoch = epoch;
  op.client = client;
  return op;
}

TEST(ClientSwitch, FirstAndLastClientToReachTheNewRegion) {
  std::vector<OpRecord> ops = {
      client_op(0, 0, 5, Outcome::kOk, "east"),        // before the fault: not judged
      client_op(0, 110, 120, Outcome::kOk, "west"),    // client 0 moves at 120
      client_op(1, 105, 1105, Outcome::kIndeterminate, "east"),
      client_op(1, 1200, 1210, Outcome::kOk, "west"),  // client 1 moves at 1210
      client_op(1, 1300, 1310, Outcome::kOk, "west"),
  };
  ClientSwitch s = measure_client_switch(ops, "west", at_ms(100));
  EXPECT_EQ(s.clients, 2u);
  EXPECT_EQ(s.moved, 2u);
  ASSERT_TRUE(s.first && s.last);
  EXPECT_EQ(*s.first, 20ms);
  EXPECT_EQ(*s.last, 1110ms);
}

// Stale clients keep their address on purpose: they do not hold back "all clients moved". Two
// runs' clients 0 are two clients.
TEST(ClientSwitch, StaleClientsAreNotJudgedAndRunsAreDistinctClients) {
  std::vector<OpRecord> ops = {
      client_op(0, 110, 120, Outcome::kOk, "west"),
      client_op(0, 110, 1110, Outcome::kFail, "east"),  // client 0 of run b: never moved
      client_op(1, 110, 1110, Outcome::kFail, "east"),  // stale: never moved, not judged
  };
  ops[1].run = "b";
  ops[2].client_kind = ClientKind::kStale;
  ClientSwitch s = measure_client_switch(ops, "west", at_ms(100));
  EXPECT_EQ(s.clients, 2u);
  EXPECT_EQ(s.moved, 1u);
  EXPECT_FALSE(s.last.has_value());
  ops.erase(ops.begin() + 1);
  s = measure_client_switch(ops, "west", at_ms(100));
  EXPECT_EQ(s.clients, 1u);
  EXPECT_EQ(s.last, 20ms);
}

TEST(ClientSwitch, NoLastWhileSomeClientNeverMoved) {
  std::vector<OpRecord> ops = {
      client_op(0, 110, 120, Outcome::kOk, "west"),
      client_op(1, 110, 1110, Outcome::kFail, "east"),
  };
  ClientSwitch s = measure_client_switch(ops, "west", at_ms(100));
  EXPECT_EQ(s.clients, 2u);
  EXPECT_EQ(s.moved, 1u);
  EXPECT_TRUE(s.first.has_value());
  EXPECT_FALSE(s.last.has_value());
}

TEST(FencedWrites, WriteAtOldEpochAcknowledgedAfterPromotionIsReported) {
  std::vector<OpRecord> ops = {
      client_op(0, 50, 60, Outcome::kOk, "east", 1),     // before the promotion: fine
      client_op(1, 190, 199, Outcome::kOk, "east", 1),   // acked before it completed: fine
      client_op(2, 250, 255, Outcome::kOk, "east", 1),   // old epoch after promotion: split brain
      client_op(3, 250, 255, Outcome::kFail, "east", 1), // refused: fine
      client_op(4, 260, 270, Outcome::kOk, "west", 2),   // new epoch: fine
  };
  auto fenced = writes_acked_after_fencing(ops, {{2, at_ms(200), {}, "secondary"}});
  ASSERT_EQ(fenced.count(), 1u);
  EXPECT_EQ(fenced.ids[0], ops[2].id);
  EXPECT_EQ(fenced.invoked_after_promotion, 1u);
  EXPECT_EQ(fenced.in_flight_across, 0u);
  EXPECT_EQ(writes_acked_after_fencing(ops, {}).count(), 0u);
}

// A stale client's requests queued at a frozen primary before the failover and acknowledged at
// the old epoch when it resumes: the superseded region acknowledged them after the promotion
// (their seqs lie past what the promoted region continued from). A write in flight across the
// promotion at or below that seq was applied and acknowledged before it (the drained cursor of
// a planned failover): the client heard of it late, the region was not superseded yet.
TEST(FencedWrites, WriteInFlightAcrossThePromotionAndAckedByTheOldEpochIsReported) {
  std::vector<OpRecord> ops = {
      client_op(0, 100, 1900, Outcome::kOk, "east", 1),  // sent while frozen, acked on resume
      client_op(1, 150, 1910, Outcome::kOk, "east", 1),
      client_op(2, 150, 1910, Outcome::kIndeterminate, "east", 1),  // never acked: not judged
      client_op(3, 1499, 1501, Outcome::kOk, "east", 1),  // drained: in the promoted region
  };
  ops[0].seq = 121;
  ops[1].seq = 122;
  ops[3].seq = 120;
  Promotion promotion{2, at_ms(1500), {{kWorkload, 120}}, "secondary"};
  auto fenced = writes_acked_after_fencing(ops, {promotion});
  ASSERT_EQ(fenced.count(), 2u);
  EXPECT_EQ(fenced.ids[0], ops[0].id);
  EXPECT_EQ(fenced.ids[1], ops[1].id);
  EXPECT_EQ(fenced.in_flight_across, 2u);
  EXPECT_EQ(fenced.invoked_after_promotion, 0u);
  // Without the promoted region's cursor for the workload, every such ack counts.
  promotion.continued_from.clear();
  EXPECT_EQ(writes_acked_after_fencing(ops, {promotion}).count(), 3u);
}


OpRecord sequenced(uint32_t client, int64_t at, Outcome outcome, std::string region,
                   uint64_t epoch, uint64_t seq, std::string workload = kWorkload) {
  OpRecord op = client_op(client, at, at + 1, outcome, std::move(region), epoch);
  op.seq = seq;
  op.workload = std::move(workload);
  return op;
}

TEST(PlannedFailoverDrain, NothingBeyondTheDrainedCursorIsNothingGivenUp) {
  std::vector<OpRecord> ops = {
      sequenced(0, 10, Outcome::kOk, "east", 1, 41),
      sequenced(1, 20, Outcome::kOk, "east", 1, 42),
      sequenced(0, 30, Outcome::kFail, "east", 1, 0),  // refused while draining: fine
      sequenced(1, 40, Outcome::kOk, "west", 2, 43),   // the new active region: not judged
  };
  EXPECT_TRUE(acked_beyond_drain(ops, "east", 2, {{kWorkload, 42}}).empty());
}

TEST(PlannedFailoverDrain, AckedWritesPastTheCursorAreGivenUp) {
  std::vector<OpRecord> ops = {
      sequenced(0, 10, Outcome::kOk, "east", 1, 42),
      sequenced(1, 20, Outcome::kOk, "east", 1, 43),          // past the cursor: given up
      sequenced(2, 30, Outcome::kOk, "east", 1, 5, "other"),  // workload without a cursor
      sequenced(3, 40, Outcome::kIndeterminate, "east", 1, 44),
      sequenced(0, 50, Outcome::kOk, "east", 3, 99),  // a later epoch (after failback): not judged
  };
  auto given_up = acked_beyond_drain(ops, "east", 2, {{kWorkload, 42}});
  ASSERT_EQ(given_up.size(), 2u);
  EXPECT_EQ(given_up[0], ops[1].id);
  EXPECT_EQ(given_up[1], ops[2].id);
}

}  // namespace
}  // namespace drsim::model
