#include "trafficmgr/traffic_manager_config.h"

#include <set>

#include "common/model/router.h"

namespace drsim::trafficmgr {

namespace {

constexpr size_t kMaxNameBytes = 63;  // a DNS label

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Status validate_name(const std::string& what, const std::string& name) {
  if (name.empty()) return invalid_argument(what + " must not be empty");
  if (name.size() > kMaxNameBytes) {
    return invalid_argument(what + " '" + name + "' is longer than " +
                            std::to_string(kMaxNameBytes) + " bytes");
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      return invalid_argument(what + " '" + name + "' may use only letters, digits, '-', '_', '.'");
    }
  }
  return Status::ok();
}

// Digits only, no sign, value <= max; returns false otherwise.
bool parse_bounded_uint(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

// MonitorConfig and TmMonitorConfig name their fields; a person typed flags.
std::string flag_for_monitor_field(const std::string& message) {
  if (message.rfind("probe_interval", 0) == 0) return "--probe-interval-ms";
  if (message.rfind("probe_timeout", 0) == 0) return "--probe-timeout-ms";
  if (message.rfind("interval", 0) == 0) return "--probe-interval-ms";
  if (message.rfind("timeout", 0) == 0) return "--probe-timeout-ms";
  if (message.rfind("tolerated_failures", 0) == 0) return "--tolerated-failures";
  if (message.rfind("path", 0) == 0) return "--probe-path";
  if (message.rfind("custom_headers", 0) == 0) return "--probe-header";
  if (message.rfind("expected_status_codes", 0) == 0) return "--expected-status";
  return "--probe-*";
}

}  // namespace

namespace {

// "" when `address` is HOST:PORT with a port in 1..65535, else why not.
std::string host_port_problem(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return "address is not HOST:PORT";
  std::string port = address.substr(colon + 1);
  uint64_t port_number = 0;
  if (!parse_bounded_uint(port, 65535, &port_number) || port_number == 0) {
    return "port '" + port + "' is not a number in 1..65535";
  }
  return "";
}

}  // namespace

Result<EndpointSpec> parse_endpoint_flag(const std::string& value, uint32_t default_priority) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("--endpoint: '" + value + "': " + why);
  };
  auto eq = value.find('=');
  if (eq == std::string::npos) return bad("expected NAME=HOST:PORT[@PRIORITY]");
  EndpointSpec spec{value.substr(0, eq), value.substr(eq + 1), default_priority, ""};
  if (Status s = validate_name("name", spec.name); !s.is_ok()) return bad(s.message());

  if (auto at = spec.address.rfind('@'); at != std::string::npos) {
    std::string priority = spec.address.substr(at + 1);
    spec.address.resize(at);
    uint64_t p = 0;
    if (!parse_bounded_uint(priority, model::kMaxPriority, &p) || p < model::kMinPriority) {
      return bad("priority '" + priority + "' is not a number in 1..1000");
    }
    spec.priority = static_cast<uint32_t>(p);
  }
  if (std::string why = host_port_problem(spec.address); !why.empty()) return bad(why);
  if (Status s = model::validate_priority(spec.priority); !s.is_ok()) return bad(s.message());
  return spec;
}

Status apply_probe_address_flag(const std::string& value, std::vector<EndpointSpec>* endpoints) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("--probe-address: '" + value + "': " + why);
  };
  auto eq = value.find('=');
  if (eq == std::string::npos) return bad("expected NAME=HOST:PORT");
  std::string name = value.substr(0, eq);
  std::string address = value.substr(eq + 1);
  if (std::string why = host_port_problem(address); !why.empty()) return bad(why);
  for (auto& e : *endpoints) {
    if (e.name == name) {
      e.probe_address = address;
      return Status::ok();
    }
  }
  return bad("no --endpoint is named '" + name + "'");
}

Status TrafficManagerConfig::validate() const {
  if (Status s = validate_name("--profile: profile", profile); !s.is_ok()) return s;
  if (endpoints.empty()) {
    return invalid_argument("--endpoint: at least one NAME=HOST:PORT is required");
  }
  if (endpoints.size() > kMaxEndpoints) {
    return invalid_argument("--endpoint: " + std::to_string(endpoints.size()) +
                            " endpoints; a profile has at most " + std::to_string(kMaxEndpoints));
  }
  std::set<std::string> names;
  for (const auto& e : endpoints) {
    if (Status s = validate_name("--endpoint: name", e.name); !s.is_ok()) return s;
    if (Status s = model::validate_priority(e.priority); !s.is_ok()) {
      return invalid_argument("--endpoint: " + e.name + ": " + s.message());
    }
    if (!names.insert(e.name).second) {
      return invalid_argument("--endpoint: name '" + e.name + "' is given twice");
    }
  }
  if (Status s = monitor.validate(); !s.is_ok()) {
    return invalid_argument(flag_for_monitor_field(s.message()) + ": " + s.message());
  }
  if (Status s = probe_config().validate(model::TmTimingRules::kScaled); !s.is_ok()) {
    return invalid_argument(flag_for_monitor_field(s.message()) + ": " + s.message());
  }
  // Azure's DNS TTL range is 0..2,147,483,647 s.
  constexpr auto kMaxTtl = std::chrono::seconds(2147483647);
  if (ttl < Duration::zero() || ttl > kMaxTtl) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
    return invalid_argument("--ttl-ms: " + std::to_string(ms) +
                            " is out of range 0..2147483647000");
  }
  return Status::ok();
}

model::TmMonitorConfig TrafficManagerConfig::probe_config() const {
  model::TmMonitorConfig c = probe;
  c.interval = monitor.probe_interval;
  c.timeout = monitor.probe_timeout;
  c.tolerated_failures = monitor.tolerated_failures;
  return c;
}

Result<model::TmProbeProtocol> parse_probe_protocol_flag(const std::string& value) {
  if (value == "grpc") return model::TmProbeProtocol::kGrpcHealth;
  if (value == "http") return model::TmProbeProtocol::kHttp;
  if (value == "https") return model::TmProbeProtocol::kHttps;
  if (value == "tcp") return model::TmProbeProtocol::kTcp;
  return invalid_argument("--probe-protocol: '" + value + "' is not grpc, http, https or tcp");
}

Result<model::TmHttpHeader> parse_probe_header_flag(const std::string& value) {
  auto colon = value.find(':');
  if (colon == std::string::npos || colon == 0) {
    return invalid_argument("--probe-header: '" + value + "': expected NAME:VALUE");
  }
  model::TmHttpHeader header{value.substr(0, colon), value.substr(colon + 1)};
  size_t start = header.value.find_first_not_of(" \t");
  header.value = start == std::string::npos ? "" : header.value.substr(start);
  return header;
}

Result<model::TmStatusCodeRange> parse_expected_status_flag(const std::string& value) {
  auto bad = [&] {
    return invalid_argument("--expected-status: '" + value +
                            "': expected CODE or LOW-HIGH with codes in 100..999, e.g. 200-299");
  };
  auto dash = value.find('-');
  std::string lo = value.substr(0, dash);
  std::string hi = dash == std::string::npos ? lo : value.substr(dash + 1);
  uint64_t l = 0, h = 0;
  if (!parse_bounded_uint(lo, model::kTmMaxStatusCode, &l) ||
      !parse_bounded_uint(hi, model::kTmMaxStatusCode, &h)) {
    return bad();
  }
  // The range itself (100..999, low <= high) is checked by validate(), naming the flag.
  return model::TmStatusCodeRange{static_cast<uint16_t>(l), static_cast<uint16_t>(h)};
}

}  // namespace drsim::trafficmgr
