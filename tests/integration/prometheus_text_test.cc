// net::PrometheusText: the exact text of counters, gauges and histograms (text format 0.0.4),
// and a LatencyHistogram exported at the fixed latency bounds. Pure; no process is started.
#include "common/net/prometheus_text.h"

#include <gtest/gtest.h>

namespace drsim::net {
namespace {

using namespace std::chrono_literals;

TEST(PrometheusText, CountersAndGaugesHaveHelpTypeAndEscapedLabels) {
  PrometheusText m;
  m.family("x_total", PrometheusText::Type::kCounter, "Things.\nMore");
  m.sample("x_total", {{"a", "q\"u\\o\nte"}}, 3);
  m.family("y_seconds", PrometheusText::Type::kGauge, "Y.");
  m.sample("y_seconds", 0.25);
  EXPECT_EQ(m.text(),
            "# HELP x_total Things.\\nMore\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"q\\\"u\\\\o\\nte\"} 3\n"
            "# HELP y_seconds Y.\n"
            "# TYPE y_seconds gauge\n"
            "y_seconds 0.25\n");
}

TEST(PrometheusText, HistogramIsCumulativeBucketsThenInfSumAndCount) {
  PrometheusText m;
  m.family("lat_seconds", PrometheusText::Type::kHistogram, "Latency.");
  m.histogram("lat_seconds", {{"endpoint", "primary"}},
              HistogramSeries{{{0.001, 1}, {0.0025, 3}, {1, 3}, {10, 4}}, 7.5, 5});
  m.histogram("lat_seconds", {}, HistogramSeries{{{0.5, 0}}, 0, 0});
  EXPECT_EQ(m.text(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{endpoint=\"primary\",le=\"0.001\"} 1\n"
            "lat_seconds_bucket{endpoint=\"primary\",le=\"0.0025\"} 3\n"
            "lat_seconds_bucket{endpoint=\"primary\",le=\"1\"} 3\n"
            "lat_seconds_bucket{endpoint=\"primary\",le=\"10\"} 4\n"
            "lat_seconds_bucket{endpoint=\"primary\",le=\"+Inf\"} 5\n"
            "lat_seconds_sum{endpoint=\"primary\"} 7.5\n"
            "lat_seconds_count{endpoint=\"primary\"} 5\n"
            "lat_seconds_bucket{le=\"0.5\"} 0\n"
            "lat_seconds_bucket{le=\"+Inf\"} 0\n"
            "lat_seconds_sum 0\n"
            "lat_seconds_count 0\n");
}

TEST(PrometheusText, LatencyHistogramExportsAtTheFixedBoundsInSeconds) {
  model::LatencyHistogram h;
  for (Duration d : {Duration(500us), Duration(2ms), Duration(2ms), Duration(40ms), Duration(3s),
                     Duration(20s)}) {
    h.record(d);
  }
  HistogramSeries s = latency_seconds(h);
  ASSERT_EQ(s.buckets.size(), std::size(kLatencyBoundsSeconds));
  const std::vector<std::pair<double, uint64_t>> expected = {
      {0.001, 1}, {0.0025, 3}, {0.005, 3}, {0.01, 3}, {0.025, 3}, {0.05, 4}, {0.1, 4},
      {0.25, 4},  {0.5, 4},    {1, 4},     {2.5, 4},  {5, 5},     {10, 5}};
  EXPECT_EQ(s.buckets, expected);
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 23.0445);

  PrometheusText m;
  m.family("w_seconds", PrometheusText::Type::kHistogram, "W.");
  m.histogram("w_seconds", {}, s);
  EXPECT_NE(m.text().find("w_seconds_bucket{le=\"0.0025\"} 3\nw_seconds_bucket{le=\"0.005\"} 3\n"),
            std::string::npos)
      << m.text();
  EXPECT_NE(m.text().find("w_seconds_bucket{le=\"10\"} 5\nw_seconds_bucket{le=\"+Inf\"} 6\n"
                          "w_seconds_sum 23.0445\nw_seconds_count 6\n"),
            std::string::npos)
      << m.text();
}

TEST(PrometheusTextDeathTest, HistogramSeriesOfAnotherFamilyOrNotCumulativeIsABug) {
  EXPECT_DEATH(
      {
        PrometheusText m;
        m.family("g", PrometheusText::Type::kGauge, "G.");
        m.histogram("g", {}, HistogramSeries{});
      },
      "DRSIM_CHECK");
  EXPECT_DEATH(
      {
        PrometheusText m;
        m.family("h", PrometheusText::Type::kHistogram, "H.");
        m.histogram("h", {}, HistogramSeries{{{1, 2}, {2, 1}}, 0, 2});
      },
      "DRSIM_CHECK");
}

}  // namespace
}  // namespace drsim::net
