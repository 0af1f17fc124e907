// PrometheusText: builds a /metrics answer in the Prometheus text exposition format (0.0.4):
// one HELP and TYPE line per family, then its samples, with label values escaped. Used by the
// region daemons' and the Traffic Manager's HTTP servers.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace drsim::net {

// The Content-Type of the format.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  enum class Type { kCounter, kGauge };

  // Starts a family; its samples follow. A family is declared once (checked).
  void family(const std::string& name, Type type, const std::string& help);
  // A sample of the family declared last. Counters are named with their "_total" suffix.
  void sample(const std::string& name, const MetricLabels& labels, double value);
  void sample(const std::string& name, double value) { sample(name, {}, value); }

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::set<std::string> families_;
};

// `\`, `"` and newline escaped, as label values need.
std::string escape_label_value(const std::string& value);

}  // namespace drsim::net
