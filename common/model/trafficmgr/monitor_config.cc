#include "common/model/trafficmgr/monitor_config.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace drsim::model {

namespace {

using std::chrono::seconds;

bool is_http(TmProbeProtocol p) {
  return p == TmProbeProtocol::kHttp || p == TmProbeProtocol::kHttps;
}

// RFC 9110 5.6.2 token characters.
bool is_tchar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Field values: visible ASCII, space, tab and obs-text; never CR, LF or other controls, which
// would let a header smuggle a second one into the probe request.
bool is_field_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(
      a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

std::string range_text(uint32_t lo, uint32_t hi) {
  return std::to_string(lo) + ".." + std::to_string(hi);
}

Status validate_path(const TmMonitorConfig& c) {
  if (!is_http(c.protocol)) {
    if (c.path.empty()) return Status::ok();
    return invalid_argument("path: \"" + c.path + "\" is not allowed for " +
                            tm_probe_protocol_name(c.protocol) + " probes");
  }
  if (c.path.empty() || c.path.front() != '/') {
    return invalid_argument("path: \"" + c.path + "\" must start with '/' for " +
                            tm_probe_protocol_name(c.protocol) + " probes");
  }
  for (unsigned char ch : c.path) {
    if (ch <= 0x20 || ch == 0x7f) {
      return invalid_argument("path: \"" + c.path + "\" has a space or control character");
    }
  }
  return Status::ok();
}

Status validate_headers(const TmMonitorConfig& c) {
  if (c.custom_headers.empty()) return Status::ok();
  if (!is_http(c.protocol)) {
    return invalid_argument(
        std::string("custom_headers: only HTTP and HTTPS probes send them, not ") +
        tm_probe_protocol_name(c.protocol));
  }
  if (c.custom_headers.size() > kTmMaxCustomHeaders) {
    return invalid_argument("custom_headers: " + std::to_string(c.custom_headers.size()) +
                            " headers, at most " + std::to_string(kTmMaxCustomHeaders));
  }
  for (size_t i = 0; i < c.custom_headers.size(); ++i) {
    const TmHttpHeader& h = c.custom_headers[i];
    const std::string field = "custom_headers[" + std::to_string(i) + "]";
    if (h.name.empty() || !std::ranges::all_of(h.name, is_tchar)) {
      return invalid_argument(field + ".name: \"" + h.name + "\" is not an HTTP header name");
    }
    if (!std::ranges::all_of(h.value, is_field_value_char)) {
      return invalid_argument(field + ".value: has a control character");
    }
    if (iequals(h.name, "host") && h.value.find('*') != std::string::npos) {
      return invalid_argument(field + ".value: \"" + h.value +
                              "\": '*' is not supported in a custom Host header");
    }
  }
  return Status::ok();
}

Status validate_status_codes(const TmMonitorConfig& c) {
  if (c.expected_status_codes.empty()) return Status::ok();
  if (!is_http(c.protocol)) {
    return invalid_argument(
        std::string("expected_status_codes: only HTTP and HTTPS probes have them, not ") +
        tm_probe_protocol_name(c.protocol));
  }
  if (c.expected_status_codes.size() > kTmMaxStatusCodeRanges) {
    return invalid_argument(
        "expected_status_codes: " + std::to_string(c.expected_status_codes.size()) +
        " ranges, at most " + std::to_string(kTmMaxStatusCodeRanges));
  }
  for (size_t i = 0; i < c.expected_status_codes.size(); ++i) {
    const TmStatusCodeRange& r = c.expected_status_codes[i];
    const std::string field = "expected_status_codes[" + std::to_string(i) +
                              "]: " + std::to_string(r.lo) + "-" + std::to_string(r.hi);
    if (r.lo < kTmMinStatusCode || r.hi > kTmMaxStatusCode) {
      return invalid_argument(field + " is outside " +
                              range_text(kTmMinStatusCode, kTmMaxStatusCode));
    }
    if (r.lo > r.hi) return invalid_argument(field + " starts after it ends");
  }
  return Status::ok();
}

Status validate_azure_timing(const TmMonitorConfig& c) {
  if (c.interval != seconds(30) && c.interval != seconds(10)) {
    return invalid_argument("interval: " + tm_format_ms(c.interval) +
                            " must be 10s or 30s (scaled timing rules allow others)");
  }
  // 5-10 s at a 30 s interval, 5-9 s at 10 s, in whole seconds.
  const seconds max_timeout = c.interval == seconds(30) ? seconds(10) : seconds(9);
  if (c.timeout % seconds(1) != Duration::zero() || c.timeout < seconds(5) ||
      c.timeout > max_timeout) {
    return invalid_argument("timeout: " + tm_format_ms(c.timeout) +
                            " must be whole seconds in 5s.." + std::to_string(max_timeout.count()) +
                            "s at interval " + tm_format_ms(c.interval));
  }
  return Status::ok();
}

Status validate_scaled_timing(const TmMonitorConfig& c) {
  if (c.interval <= Duration::zero()) {
    return invalid_argument("interval: " + tm_format_ms(c.interval) + " must be positive");
  }
  if (c.timeout <= Duration::zero()) {
    return invalid_argument("timeout: " + tm_format_ms(c.timeout) + " must be positive");
  }
  if (c.timeout > c.interval) {
    return invalid_argument("timeout: " + tm_format_ms(c.timeout) + " must not exceed interval " +
                            tm_format_ms(c.interval));
  }
  return Status::ok();
}

}  // namespace

const char* tm_probe_protocol_name(TmProbeProtocol protocol) {
  switch (protocol) {
    case TmProbeProtocol::kGrpcHealth:
      return "gRPC health";
    case TmProbeProtocol::kHttp:
      return "HTTP";
    case TmProbeProtocol::kHttps:
      return "HTTPS";
    case TmProbeProtocol::kTcp:
      return "TCP";
  }
  return "unknown";
}

std::string tm_format_ms(Duration d) {
  if (d % std::chrono::milliseconds(1) == Duration::zero()) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
  }
  std::string s = std::to_string(to_ms(d));
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s + "ms";
}

Status TmMonitorConfig::validate(TmTimingRules rules) const {
  if (port == 0) return invalid_argument("port: 0 is out of range 1..65535");
  if (Status s = validate_path(*this); !s.is_ok()) return s;
  if (Status s = validate_headers(*this); !s.is_ok()) return s;
  if (Status s = validate_status_codes(*this); !s.is_ok()) return s;
  Status timing =
      rules == TmTimingRules::kAzure ? validate_azure_timing(*this) : validate_scaled_timing(*this);
  if (!timing.is_ok()) return timing;
  if (tolerated_failures > kMaxToleratedFailures) {
    return invalid_argument("tolerated_failures: " + std::to_string(tolerated_failures) +
                            " is out of range " + range_text(0, kMaxToleratedFailures));
  }
  if (success_threshold < 1 || success_threshold > kTmMaxSuccessThreshold) {
    return invalid_argument("success_threshold: " + std::to_string(success_threshold) +
                            " is out of range " + range_text(1, kTmMaxSuccessThreshold));
  }
  return Status::ok();
}

bool is_expected_status_code(const TmMonitorConfig& config, int status_code) {
  if (config.expected_status_codes.empty()) return status_code == 200;
  return std::ranges::any_of(config.expected_status_codes, [&](const TmStatusCodeRange& r) {
    return status_code >= r.lo && status_code <= r.hi;
  });
}

MonitorConfig to_monitor_config(const TmMonitorConfig& config) {
  return MonitorConfig{.probe_interval = config.interval,
                       .probe_timeout = config.timeout,
                       .tolerated_failures = config.tolerated_failures};
}

TmFailoverEstimate estimate_failover(const TmMonitorConfig& config, Duration ttl) {
  const auto tolerated = static_cast<int64_t>(config.tolerated_failures);
  return TmFailoverEstimate{
      .documented = ttl + tolerated * config.interval,
      .worst_case = (config.interval + config.timeout) * (tolerated + 1) + ttl,
  };
}

}  // namespace drsim::model
