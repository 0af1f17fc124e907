// PrometheusText: builds a /metrics answer in the Prometheus text exposition format (0.0.4):
// one HELP and TYPE line per family, then its samples, with label values escaped; a histogram
// series as cumulative `_bucket{le=...}` lines ending at `+Inf`, then `_sum` and `_count`. Used by
// the region daemons' and the Traffic Manager's HTTP servers.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/model/metrics/latency_histogram.h"

namespace drsim::net {

// The Content-Type of the format.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// One histogram series: samples <= each upper bound (increasing bounds, non-decreasing counts,
// none above `count`), the sum of the samples and their count (the `+Inf` bucket).
struct HistogramSeries {
  std::vector<std::pair<double, uint64_t>> buckets;  // (le, samples <= le)
  double sum = 0;
  uint64_t count = 0;
};

// The `le` bounds, in seconds, of every latency histogram drsim exports (write-to-ack lag,
// probe durations): 1 ms to 10 s, as Prometheus client libraries default to, plus +Inf.
inline constexpr double kLatencyBoundsSeconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,     10};

// `h` at kLatencyBoundsSeconds, sum in seconds. A bucket may also count samples up to 6.25 %
// above its bound (LatencyHistogram::count_at_most).
HistogramSeries latency_seconds(const model::LatencyHistogram& h);

class PrometheusText {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts a family; its samples follow. A family is declared once (checked).
  void family(const std::string& name, Type type, const std::string& help);
  // A sample of the family declared last. Counters are named with their "_total" suffix.
  void sample(const std::string& name, const MetricLabels& labels, double value);
  void sample(const std::string& name, double value) { sample(name, {}, value); }
  // A series of the histogram family declared last (`name` is the family's, checked):
  // name_bucket{labels,le="..."} for each bound and "+Inf", then name_sum and name_count.
  void histogram(const std::string& name, const MetricLabels& labels,
                 const HistogramSeries& series);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::set<std::string> families_;
  std::string last_family_;
  Type last_type_ = Type::kGauge;
};

// `\`, `"` and newline escaped, as label values need.
std::string escape_label_value(const std::string& value);

}  // namespace drsim::net
