#include "common/net/prometheus_text.h"

#include <cmath>
#include <cstdio>

#include "common/core/check.h"

namespace drsim::net {

namespace {

// HELP text escapes only `\` and newline.
std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A bucket bound in its shortest form ("0.001", "2.5", "10"), as Prometheus clients write it.
std::string format_bound(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integers print without a fraction (counters mostly are); others with enough digits.
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

HistogramSeries latency_seconds(const model::LatencyHistogram& h) {
  HistogramSeries series;
  for (double bound : kLatencyBoundsSeconds) {
    series.buckets.emplace_back(bound, h.count_at_most(Duration(std::llround(bound * 1e9))));
  }
  series.sum = std::chrono::duration<double>(h.sum()).count();
  series.count = h.count();
  return series;
}

void PrometheusText::family(const std::string& name, Type type, const std::string& help) {
  DRSIM_CHECK(families_.insert(name).second);
  last_family_ = name;
  last_type_ = type;
  const char* type_name = type == Type::kCounter ? "counter"
                          : type == Type::kGauge ? "gauge"
                                                 : "histogram";
  text_ += "# HELP " + name + " " + escape_help(help) + "\n";
  text_ += "# TYPE " + name + " " + type_name + "\n";
}

void PrometheusText::histogram(const std::string& name, const MetricLabels& labels,
                               const HistogramSeries& series) {
  DRSIM_CHECK(name == last_family_ && last_type_ == Type::kHistogram);
  MetricLabels with_le = labels;
  with_le.emplace_back("le", "");
  uint64_t previous = 0;
  for (const auto& [bound, count] : series.buckets) {
    DRSIM_CHECK(count >= previous && count <= series.count);  // cumulative
    previous = count;
    with_le.back().second = format_bound(bound);
    sample(name + "_bucket", with_le, static_cast<double>(count));
  }
  with_le.back().second = "+Inf";
  sample(name + "_bucket", with_le, static_cast<double>(series.count));
  sample(name + "_sum", labels, series.sum);
  sample(name + "_count", labels, static_cast<double>(series.count));
}

void PrometheusText::sample(const std::string& name, const MetricLabels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
    }
    text_ += '}';
  }
  text_ += ' ' + format_value(value) + '\n';
}

}  // namespace drsim::net
