// LinkFault on plain Time values: what drsim-faultproxy's links do to each chunk under
// latency, jitter, bandwidth caps, partitions, stalls and heal.
#include "common/model/faults/link_fault.h"

#include <gtest/gtest.h>

#include <vector>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using Kind = ChunkDecision::Kind;

constexpr Time kStart = kTimeZero + 1h;

TEST(LinkFault, NoFaultForwardsAtOnce) {
  LinkFault fault(1);
  auto d = fault.decide(100, kStart, kTimeZero);
  EXPECT_EQ(d.kind, Kind::kForward);
  EXPECT_EQ(d.release_at, kStart);
  EXPECT_TRUE(fault.faults().empty());
}

TEST(LinkFault, LatencyDelaysEveryChunk) {
  LinkFault fault(1);
  fault.set_latency({100ms, 0ms});
  auto d = fault.decide(10, kStart, kTimeZero);
  EXPECT_EQ(d.kind, Kind::kForward);
  EXPECT_EQ(d.release_at, kStart + 100ms);
}

TEST(LinkFault, JitterNeverReordersAConnection) {
  LinkFault fault(42);
  fault.set_latency({50ms, 50ms});
  Time last = kTimeZero;
  bool saw_spread = false;
  Duration first_delay{-1};
  for (int i = 0; i < 2000; ++i) {
    Time now = kStart + i * 100us;
    auto d = fault.decide(100, now, last);
    ASSERT_EQ(d.kind, Kind::kForward);
    ASSERT_GE(d.release_at, last) << "chunk " << i;
    ASSERT_GE(d.release_at, now);
    ASSERT_LE(d.release_at, now + 100ms);
    if (first_delay < Duration::zero()) first_delay = d.release_at - now;
    if (d.release_at - now != first_delay) saw_spread = true;
    last = d.release_at;
  }
  EXPECT_TRUE(saw_spread);
}

TEST(LinkFault, JitterIsDeterministicPerSeed) {
  LinkFault a(7), b(7), c(8);
  for (auto* f : {&a, &b, &c}) f->set_latency({20ms, 10ms});
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    Time now = kStart + i * 1s;
    auto da = a.decide(1, now, kTimeZero);
    auto db = b.decide(1, now, kTimeZero);
    auto dc = c.decide(1, now, kTimeZero);
    EXPECT_EQ(da.release_at, db.release_at);
    if (da.release_at != dc.release_at) ++differ;
  }
  EXPECT_GT(differ, 50);
}

TEST(LinkFault, BandwidthCapHoldsOverManyChunks) {
  LinkFault fault(1);
  const uint64_t rate = 100'000;
  fault.set_bandwidth({rate, default_burst_bytes(rate)}, kStart);
  // The sender offers far more than the cap: 1000 chunks of 16 KiB all at once.
  const size_t chunk = 16 * 1024;
  Time last = kTimeZero;
  for (int i = 0; i < 1000; ++i) {
    auto d = fault.decide(chunk, kStart, last);
    ASSERT_EQ(d.kind, Kind::kForward);
    ASSERT_GE(d.release_at, last);
    last = d.release_at;
  }
  double seconds = std::chrono::duration<double>(last - kStart).count();
  double achieved = 1000.0 * chunk / seconds;
  EXPECT_NEAR(achieved, rate, rate * 0.03) << "seconds " << seconds;
}

TEST(LinkFault, BandwidthBurstGoesOutAtOnceThenPaces) {
  LinkFault fault(1);
  fault.set_bandwidth({1000, 500}, kStart);
  EXPECT_EQ(fault.decide(500, kStart, kTimeZero).release_at, kStart);
  // The bucket is empty: 100 more bytes take 100 ms.
  EXPECT_EQ(fault.decide(100, kStart, kTimeZero).release_at, kStart + 100ms);
  // After a long idle the bucket refills only up to the burst.
  Time later = kStart + 10s;
  EXPECT_EQ(fault.decide(500, later, kTimeZero).release_at, later);
  EXPECT_EQ(fault.decide(500, later, kTimeZero).release_at, later + 500ms);
}

TEST(LinkFault, BandwidthIsSharedAcrossConnections) {
  LinkFault fault(1);
  fault.set_bandwidth({1000, 1}, kStart);
  // Two connections each send 1000 bytes at the same time: the second waits for the first.
  auto a = fault.decide(1000, kStart, kTimeZero);
  auto b = fault.decide(1000, kStart, kTimeZero);
  EXPECT_NEAR(to_ms(a.release_at - kStart), 999, 1);
  EXPECT_NEAR(to_ms(b.release_at - kStart), 1999, 1);
}

TEST(LinkFault, BlackholePartitionHoldsUntilHeal) {
  LinkFault fault(1);
  fault.set_latency({10ms, 0ms});
  fault.set_partition(PartitionMode::kBlackhole);
  EXPECT_TRUE(fault.holding());
  EXPECT_FALSE(fault.refuses_new_connections());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(fault.decide(10, kStart + i * 1s, kTimeZero).kind, Kind::kHold);
  }
  fault.heal();
  EXPECT_FALSE(fault.holding());
  EXPECT_TRUE(fault.faults().empty());
  // Held chunks decided again after heal go out at once: heal cleared the latency too.
  auto d = fault.decide(10, kStart + 20s, kTimeZero);
  EXPECT_EQ(d.kind, Kind::kForward);
  EXPECT_EQ(d.release_at, kStart + 20s);
}

TEST(LinkFault, DropPartitionDropsAndRefusesConnections) {
  LinkFault fault(1);
  fault.set_partition(PartitionMode::kDrop);
  EXPECT_TRUE(fault.drops());
  EXPECT_FALSE(fault.holding());
  EXPECT_TRUE(fault.refuses_new_connections());
  EXPECT_EQ(fault.decide(10, kStart, kTimeZero).kind, Kind::kDrop);
  fault.heal();
  EXPECT_EQ(fault.decide(10, kStart, kTimeZero).kind, Kind::kForward);
}

TEST(LinkFault, KeptResetRefusesNewConnectionsUntilHeal) {
  LinkFault fault(1);
  fault.set_reset(ResetMode::kOnce);
  EXPECT_FALSE(fault.refuses_new_connections());
  EXPECT_TRUE(fault.faults().empty());
  fault.set_reset(ResetMode::kKeep);
  EXPECT_TRUE(fault.refuses_new_connections());
  fault.heal();
  EXPECT_FALSE(fault.refuses_new_connections());
}

TEST(LinkFault, FaultsComposeAndReplaceTheirOwnKind) {
  LinkFault fault(1);
  fault.set_latency({100ms, 0ms});
  fault.set_bandwidth({1000, 1000}, kStart);
  fault.set_latency({30ms, 0ms});
  ASSERT_TRUE(fault.faults().latency.has_value());
  EXPECT_EQ(fault.faults().latency->latency, 30ms);
  EXPECT_TRUE(fault.faults().bandwidth.has_value());
  EXPECT_EQ(fault.decide(10, kStart, kTimeZero).release_at, kStart + 30ms);
  fault.set_latency({0ms, 0ms});
  EXPECT_FALSE(fault.faults().latency.has_value());
}

std::vector<LinkFault::StallWindow> windows(uint64_t seed, int count) {
  LinkFault fault(seed);
  fault.set_stall({50ms, 1s}, kStart);
  std::vector<LinkFault::StallWindow> out;
  Time t = kStart;
  for (int i = 0; i < count; ++i) {
    auto w = fault.stall_window_at_or_after(t);
    out.push_back(*w);
    t = w->end;
  }
  return out;
}

TEST(LinkFault, StallWindowsAreDeterministicPerSeed) {
  auto a = windows(5, 50), b = windows(5, 50), c = windows(6, 50);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].begin, b[i].begin);
    EXPECT_EQ(a[i].end - a[i].begin, 50ms);
    if (i > 0) {
      Duration gap = a[i].begin - a[i - 1].end;
      EXPECT_GE(gap, 500ms);
      EXPECT_LE(gap, 1500ms);
    }
    if (a[i].begin != c[i].begin) ++differ;
  }
  EXPECT_GT(differ, 40);
}

TEST(LinkFault, StallWindowsDoNotDependOnTraffic) {
  LinkFault quiet(9), busy(9);
  quiet.set_stall({50ms, 200ms}, kStart);
  busy.set_stall({50ms, 200ms}, kStart);
  busy.set_latency({1ms, 1ms});  // draws jitter: must not move the stall windows
  for (int i = 0; i < 1000; ++i) (void)busy.decide(1, kStart + i * 3ms, kTimeZero);
  Time probe = kStart + 5s;
  EXPECT_EQ(quiet.stall_window_at_or_after(probe)->begin,
            busy.stall_window_at_or_after(probe)->begin);
}

TEST(LinkFault, ChunkInAStallWindowWaitsForItsEnd) {
  LinkFault fault(3);
  fault.set_stall({50ms, 1s}, kStart);
  auto w = *fault.stall_window_at_or_after(kStart);
  EXPECT_EQ(fault.decide(1, w.begin - 1ms, kTimeZero).release_at, w.begin - 1ms);
  EXPECT_EQ(fault.decide(1, w.begin, kTimeZero).release_at, w.end);
  EXPECT_EQ(fault.decide(1, w.begin + 30ms, kTimeZero).release_at, w.end);
  EXPECT_EQ(fault.decide(1, w.end, kTimeZero).release_at, w.end);
  fault.heal();
  EXPECT_FALSE(fault.stall_window_at_or_after(kStart).has_value());
}

TEST(LinkFault, ValidationNamesTheField) {
  EXPECT_EQ(validate(LatencyFault{10ms, 20ms}, "fault.latency").message(),
            "fault.latency.jitter_ms: 20 is out of range 0..latency_ms (10)");
  EXPECT_FALSE(validate(LatencyFault{kMaxLatency + 1ms, 0ms}, "f").is_ok());
  EXPECT_TRUE(validate(LatencyFault{0ms, 0ms}, "f").is_ok());
  auto s = validate(BandwidthFault{0, 1}, "fault.bandwidth");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fault.bandwidth.bytes_per_second"), std::string::npos);
  EXPECT_FALSE(validate(StallFault{0ms, 1s}, "f").is_ok());
  EXPECT_FALSE(validate(StallFault{10ms, 1ms}, "f").is_ok());
  EXPECT_TRUE(validate(StallFault{10ms, 10ms}, "f").is_ok());
  EXPECT_EQ(default_burst_bytes(10), 1u);
  EXPECT_EQ(default_burst_bytes(100'000), 2000u);
}

}  // namespace
}  // namespace drsim::model
