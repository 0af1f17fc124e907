// A drill file's field readers shared by every section (cli/drill_parse.h): durations,
// numbers, choices, and the stale clients of a workload.
#include "cli/drill_parse.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace drsim::cli::drill_parse {

// "2s", "500ms", "1.5s", "1m", or a bare number of seconds.
Result<double> parse_seconds(const ConfigError& err, const std::string& field,
                             const YAML::Node& node) {
  if (!node || !node.IsScalar()) return err.at(field, node, "must be a duration like 2s or 500ms");
  std::string text = node.Scalar();
  double scale = 1;
  std::string number = text;
  if (text.size() > 2 && text.ends_with("ms")) {
    scale = 0.001;
    number = text.substr(0, text.size() - 2);
  } else if (text.size() > 1 && text.ends_with("s")) {
    number = text.substr(0, text.size() - 1);
  } else if (text.size() > 1 && text.ends_with("m")) {
    scale = 60;
    number = text.substr(0, text.size() - 1);
  }
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (number.empty() || end == nullptr || *end != '\0' || !std::isfinite(v) || v < 0) {
    return err.at(field, node, "'" + text + "' is not a duration like 2s or 500ms");
  }
  v *= scale;
  if (v > 3600) return err.at(field, node, "'" + text + "' is longer than an hour");
  return v;
}

Result<double> parse_number(const ConfigError& err, const std::string& field,
                            const YAML::Node& node, double min, double max) {
  if (!node.IsScalar()) return err.at(field, node, "must be a number");
  char* end = nullptr;
  double v = std::strtod(node.Scalar().c_str(), &end);
  if (node.Scalar().empty() || *end != '\0' || !std::isfinite(v)) {
    return err.at(field, node, "'" + node.Scalar() + "' is not a number");
  }
  if (v < min || v > max) {
    return err.at(field, node, fmt::format("{:g} is out of range {:g}..{:g}", v, min, max));
  }
  return v;
}

Result<std::string> parse_choice(const ConfigError& err, const std::string& field,
                                 const YAML::Node& node, const std::set<std::string>& allowed) {
  if (!node || !node.IsScalar()) return err.at(field, node, "is required");
  if (!allowed.count(node.Scalar())) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return err.at(field, node, "'" + node.Scalar() + "' is not one of: " + list);
  }
  return node.Scalar();
}

// stale_clients: {count: 4, in_flight: 8, deadline_ms: 10000, rate: 100,
//                 reresolve_after_failures: 3 | never}
Status parse_stale_clients(const ConfigError& err, const std::string& f, const YAML::Node& node,
                           StaleClientOptions* out) {
  if (Status s = check_keys(err, f, node,
                            {"count", "in_flight", "deadline_ms", "rate",
                             "reresolve_after_failures"});
      !s.is_ok()) {
    return s;
  }
  if (!node["count"]) return err.at(f + ".count", node, "is required (how many stale clients)");
  if (Status s = read_uint(err, f + ".count", node["count"], 1, 256, &out->count); !s.is_ok()) {
    return s;
  }
  if (Status s = read_uint(err, f + ".in_flight", node["in_flight"], 1, 64, &out->in_flight);
      !s.is_ok()) {
    return s;
  }
  uint32_t deadline_ms = static_cast<uint32_t>(out->deadline.count());
  if (Status s = read_uint(err, f + ".deadline_ms", node["deadline_ms"], 1, 600'000, &deadline_ms);
      !s.is_ok()) {
    return s;
  }
  out->deadline = std::chrono::milliseconds(deadline_ms);
  if (node["rate"]) {
    auto v = parse_number(err, f + ".rate", node["rate"], 1, 100000);
    if (!v.is_ok()) return v.status();
    out->rate = *v;
  }
  if (const YAML::Node r = node["reresolve_after_failures"]) {
    if (r.IsScalar() && r.Scalar() == "never") {
      out->reresolve_after_failures.reset();
    } else {
      uint32_t n = 0;
      if (Status s = read_uint(err, f + ".reresolve_after_failures", r, 1, 1000, &n); !s.is_ok()) {
        return err.at(f + ".reresolve_after_failures", r,
                      "must be a number of consecutive failures (1..1000) or never");
      }
      out->reresolve_after_failures = n;
    }
  }
  return Status::ok();
}

}  // namespace drsim::cli::drill_parse
