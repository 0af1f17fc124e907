// LatencyHistogram: quantile accuracy on uniform and skewed data, exact max, empty and reset, and
// the figures a Prometheus histogram is made of (count at most d, sum).
#include "common/model/metrics/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/core/rng.h"
#include "common/core/time.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr double kTolerance = 0.07;
constexpr double kQuantiles[] = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};

// The exact q-quantile with the histogram's rank rule: the ceil(q * n)-th smallest, at least 1st.
Duration exact_quantile(std::vector<Duration> sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::max<size_t>(rank, 1);
  return sorted[rank - 1];
}

TEST(LatencyHistogram, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), Duration(0));
  for (double q : kQuantiles) EXPECT_EQ(h.quantile(q), Duration(0)) << "q " << q;
}

TEST(LatencyHistogram, SingleSampleIsReportedExactlyAtEveryQuantile) {
  LatencyHistogram h;
  h.record(1234567ns);
  EXPECT_EQ(h.count(), 1u);
  for (double q : kQuantiles) EXPECT_EQ(h.quantile(q), 1234567ns) << "q " << q;
}

TEST(LatencyHistogram, ValuesBelowSixteenNanosecondsAreExact) {
  LatencyHistogram h;
  for (int64_t ns = 0; ns < 16; ++ns) h.record(Duration(ns));
  for (int64_t ns = 0; ns < 16; ++ns) {
    EXPECT_EQ(h.quantile(static_cast<double>(ns + 1) / 16), Duration(ns)) << ns;
  }
}

TEST(LatencyHistogram, MaxIsExact) {
  LatencyHistogram h;
  Rng rng(7);
  Duration want{0};
  for (int i = 0; i < 10'000; ++i) {
    Duration d(static_cast<int64_t>(rng.below(3'000'000'000)));
    want = std::max(want, d);
    h.record(d);
    ASSERT_EQ(h.max(), want);
  }
  EXPECT_EQ(h.quantile(1.0), want);
}

TEST(LatencyHistogram, NegativeDurationIsRecordedAsZero) {
  LatencyHistogram h;
  h.record(-5ms);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), Duration(0));
  EXPECT_EQ(h.quantile(0.5), Duration(0));
}

TEST(LatencyHistogram, QuantileOutsideZeroToOneIsClamped) {
  LatencyHistogram h;
  h.record(1ms);
  h.record(100ms);
  EXPECT_EQ(h.quantile(-1.0), h.quantile(0.0));
  EXPECT_EQ(h.quantile(2.0), 100ms);
}

TEST(LatencyHistogram, QuantileIsMonotoneInQ) {
  LatencyHistogram h;
  Rng rng(11);
  for (int i = 0; i < 5'000; ++i) h.record(Duration(static_cast<int64_t>(rng.below(1'000'000))));
  Duration prev{0};
  for (int i = 0; i <= 1000; ++i) {
    Duration d = h.quantile(i / 1000.0);
    ASSERT_GE(d, prev) << "q " << i / 1000.0;
    prev = d;
  }
}

TEST(LatencyHistogram, ResetForgetsEverything) {
  LatencyHistogram h;
  for (int i = 1; i <= 100; ++i) h.record(std::chrono::milliseconds(i));
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), Duration(0));
  EXPECT_EQ(h.quantile(0.5), Duration(0));
  h.record(3ms);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), 3ms);
  EXPECT_EQ(h.quantile(0.0), 3ms);
}

TEST(LatencyHistogram, SamplesBeyondTheTopBucketDoNotReportLessThanTheyAre) {
  LatencyHistogram h;
  for (int i = 0; i < 10; ++i) h.record(5h);
  EXPECT_EQ(h.max(), 5h);
  EXPECT_EQ(h.quantile(0.5), 5h);
}

TEST(LatencyHistogram, CountAtMostCountsSamplesAtOrBelowTheBoundAtTheBucketResolution) {
  LatencyHistogram h;
  EXPECT_EQ(h.count_at_most(1s), 0u);
  for (auto d : {1ms, 2ms, 2ms, 5ms, 10ms}) h.record(d);
  EXPECT_EQ(h.count_at_most(-1ns), 0u);
  EXPECT_EQ(h.count_at_most(0ns), 0u);
  EXPECT_EQ(h.count_at_most(900us), 0u);
  EXPECT_EQ(h.count_at_most(1ms), 1u);
  // 999 us shares 1 ms's bucket (6.25 % wide): the 1 ms sample counts as at most 999 us.
  EXPECT_EQ(h.count_at_most(999us), 1u);
  EXPECT_EQ(h.count_at_most(2ms), 3u);
  EXPECT_EQ(h.count_at_most(4ms), 3u);
  EXPECT_EQ(h.count_at_most(10ms), 5u);
  EXPECT_EQ(h.count_at_most(10h), 5u);
}

TEST(LatencyHistogram, SumIsExactAndNegativeSamplesAddNothing) {
  LatencyHistogram h;
  EXPECT_EQ(h.sum(), Duration(0));
  h.record(1500us);
  h.record(-3ms);
  h.record(2h);
  EXPECT_EQ(h.sum(), 2h + 1500us);
  EXPECT_EQ(h.count_at_most(0ns), 1u);  // the negative one, recorded as 0
  h.reset();
  EXPECT_EQ(h.sum(), Duration(0));
  EXPECT_EQ(h.count_at_most(10h), 0u);
}

TEST(LatencyHistogram, CountAtMostBeyondTheTopBucketIsExactAtTheMax) {
  LatencyHistogram h;
  h.record(3h);
  h.record(5h);
  EXPECT_EQ(h.count_at_most(5h), 2u);
  EXPECT_EQ(h.count_at_most(1s), 0u);
}

// --- accuracy against exact quantiles -------------------------------------------------------

struct Distribution {
  std::string name;
  std::function<Duration(Rng&)> draw;
};

class LatencyHistogramAccuracy : public ::testing::TestWithParam<Distribution> {};

TEST_P(LatencyHistogramAccuracy, QuantilesAreWithinSevenPercentOfExact) {
  Rng rng(42);
  LatencyHistogram h;
  std::vector<Duration> samples;
  for (int i = 0; i < 100'000; ++i) {
    Duration d = GetParam().draw(rng);
    samples.push_back(d);
    h.record(d);
  }
  std::sort(samples.begin(), samples.end());
  EXPECT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.max(), samples.back());
  for (double q : kQuantiles) {
    double exact = static_cast<double>(exact_quantile(samples, q).count());
    double got = static_cast<double>(h.quantile(q).count());
    EXPECT_NEAR(got, exact, exact * kTolerance) << "q " << q;
    // Reported as the bucket's upper bound: never below the exact value.
    EXPECT_GE(got, exact) << "q " << q;
  }
}

// Between the exact count at d and the exact count at d + 6.25 %, monotone in d; sum exact.
TEST_P(LatencyHistogramAccuracy, CountAtMostIsWithinOneBucketOfExact) {
  Rng rng(7);
  LatencyHistogram h;
  std::vector<Duration> samples;
  Duration sum{0};
  for (int i = 0; i < 20'000; ++i) {
    Duration d = GetParam().draw(rng);
    samples.push_back(d);
    sum += d;
    h.record(d);
  }
  std::sort(samples.begin(), samples.end());
  EXPECT_EQ(h.sum(), sum);
  auto exact_at_most = [&](Duration d) {
    return static_cast<uint64_t>(std::upper_bound(samples.begin(), samples.end(), d) -
                                 samples.begin());
  };
  uint64_t previous = 0;
  for (double q : kQuantiles) {
    const Duration d = exact_quantile(samples, q);
    for (Duration bound : {d, d - d / 20, d + d / 20}) {
      const uint64_t got = h.count_at_most(bound);
      EXPECT_GE(got, exact_at_most(bound)) << "bound " << bound.count() << " ns";
      EXPECT_LE(got, exact_at_most(bound + bound / 16 + Duration(1))) << bound.count() << " ns";
    }
    EXPECT_GE(h.count_at_most(d), previous);
    previous = h.count_at_most(d);
  }
}

Duration from_seconds(double s) { return Duration(static_cast<int64_t>(s * 1e9)); }

INSTANTIATE_TEST_SUITE_P(
    Shapes, LatencyHistogramAccuracy,
    ::testing::Values(
        Distribution{"UniformOneToOneThousandMs",
                     [](Rng& r) { return from_seconds(0.001 + 0.999 * r.unit()); }},
        Distribution{"UniformSmallNanoseconds",
                     [](Rng& r) { return Duration(static_cast<int64_t>(r.below(5'000))); }},
        Distribution{"ExponentialMean5Ms",
                     [](Rng& r) { return from_seconds(-0.005 * std::log1p(-r.unit())); }},
        Distribution{"LogUniformMicrosecondToMinute",
                     [](Rng& r) { return from_seconds(1e-6 * std::pow(6e7, r.unit())); }},
        Distribution{"ParetoTail",
                     [](Rng& r) { return from_seconds(0.001 / std::pow(1 - r.unit(), 1 / 1.2)); }},
        Distribution{"BimodalFastPathAndTimeouts",
                     [](Rng& r) {
                       return r.below(100) < 95 ? from_seconds(0.002 + 0.001 * r.unit())
                                                : from_seconds(30 + r.unit());
                     }}),
    [](const ::testing::TestParamInfo<Distribution>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace drsim::model
