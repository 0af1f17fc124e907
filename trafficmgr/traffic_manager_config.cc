#include "trafficmgr/traffic_manager_config.h"

#include <cctype>
#include <map>
#include <set>

#include "common/config/listen_address.h"
#include "common/core/names.h"
#include "common/model/trafficmgr/ip_range.h"

#include "common/model/dns/message.h"
#include "common/model/trafficmgr/router.h"

namespace drsim::trafficmgr {

namespace {

constexpr size_t kMaxLabelBytes = 63;  // a profile or endpoint name is a DNS label

// The one name rule (common/core/names.h), and a DNS label's length.
Status validate_name(const std::string& what, const std::string& name) {
  if (Status s = drsim::validate_name(what, name); !s.is_ok()) return s;
  if (name.size() > kMaxLabelBytes) {
    return invalid_argument(what + ": '" + name + "' is longer than " +
                            std::to_string(kMaxLabelBytes) + " bytes (a DNS label)");
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

// A bare IP or host name, to which the monitor's port is added; else HOST:PORT.
bool is_bare_host(const std::string& target) {
  return model::parse_ip_address(target).is_ok() || target.find(':') == std::string::npos;
}

}  // namespace

std::string host_of_target(const std::string& target) {
  if (is_bare_host(target)) return target;
  auto at = config::parse_host_port("target", target);
  return at.is_ok() ? at->host : target;  // validate() refuses a target that does not parse
}

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
  if (auto at = config::parse_host_port("--endpoint " + spec.name, spec.address,
                                        config::PortZero::kRefused);
      !at.is_ok()) {
    return at.status();
  }
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
  if (auto at =
          config::parse_host_port("--probe-address " + name, address, config::PortZero::kRefused);
      !at.is_ok()) {
    return at.status();
  }
  for (auto& e : *endpoints) {
    if (e.name == name) {
      e.probe_address = address;
      return Status::ok();
    }
  }
  return bad("no --endpoint is named '" + name + "'");
}

Status FlagProfileConfig::validate() const {
  if (Status s = validate_name("--profile", profile); !s.is_ok()) return s;
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

model::TmMonitorConfig FlagProfileConfig::probe_config() const {
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

ProfileSpec FlagProfileConfig::to_profile_spec() const {
  ProfileSpec spec;
  spec.profile.name = profile;
  spec.profile.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
  spec.profile.routing = model::TmRoutingMethod::kPriority;
  spec.profile.monitor = probe_config();
  spec.health_service = health_service;
  for (const auto& e : endpoints) {
    model::TmEndpoint endpoint;
    endpoint.name = e.name;
    endpoint.kind = model::TmEndpointKind::kRegion;
    endpoint.target = e.address;
    endpoint.priority = e.priority;
    spec.profile.endpoints.push_back(std::move(endpoint));
    spec.io.push_back(EndpointIo{e.probe_address, ""});
  }
  return spec;
}

Status apply_dns_flags(const std::string& dns_name,
                       const std::vector<std::string>& dns_address_flags, ProfileSpec* spec) {
  if (!dns_name.empty()) {
    if (auto parsed = model::parse_dns_name_text(dns_name); !parsed.is_ok()) {
      return invalid_argument("--dns-name: " + parsed.status().message());
    }
  }
  spec->dns_name = dns_name;
  std::set<std::string> seen;
  for (const auto& flag : dns_address_flags) {
    auto eq = flag.find('=');
    if (eq == std::string::npos) {
      return invalid_argument("--dns-address: '" + flag + "': expected NAME=IP");
    }
    std::string endpoint = flag.substr(0, eq);
    auto index = spec->profile.endpoint_index(endpoint);
    if (!index) {
      return invalid_argument("--dns-address: '" + flag + "': no --endpoint named '" + endpoint +
                              "'");
    }
    if (!seen.insert(endpoint).second) {
      return invalid_argument("--dns-address: endpoint '" + endpoint + "' is given twice");
    }
    std::string ip = flag.substr(eq + 1);
    if (!model::parse_ip_address(ip).is_ok()) {
      return invalid_argument("--dns-address: " + endpoint + ": '" + ip +
                              "' is not an IP address");
    }
    spec->io[*index].dns_address = ip;
  }
  return Status::ok();
}

std::string ProfileSpec::probe_target(size_t endpoint) const {
  const model::TmEndpoint& e = profile.endpoints.at(endpoint);
  if (e.kind == model::TmEndpointKind::kNested) return "";
  if (!io.at(endpoint).probe_address.empty()) return io[endpoint].probe_address;
  if (probe_port) return config::join_host_port(host_of_target(e.target), *probe_port);
  if (!is_bare_host(e.target)) return e.target;  // HOST:PORT already
  return config::join_host_port(e.target, profile.monitor.port);
}

std::string ProfileSpec::answered_dns_name() const {
  return dns_name.empty() ? profile.name + "." + kDefaultDnsSuffix : dns_name;
}

std::string ProfileSpec::dns_answer(size_t endpoint) const {
  const model::TmEndpoint& e = profile.endpoints.at(endpoint);
  if (e.kind == model::TmEndpointKind::kNested) return "";
  if (!io.at(endpoint).dns_address.empty()) return io[endpoint].dns_address;
  std::string host = host_of_target(e.target);
  return model::parse_ip_address(host).is_ok() ? host : "";
}

std::vector<size_t> ProfileSpec::probed_endpoints() const {
  std::vector<size_t> out;
  if (profile.enabled == model::TmEnabled::kDisabled) return out;
  for (size_t i = 0; i < profile.endpoints.size(); ++i) {
    const model::TmEndpoint& e = profile.endpoints[i];
    if (e.kind != model::TmEndpointKind::kNested && e.enabled == model::TmEnabled::kEnabled &&
        e.serve == model::TmServeMode::kMonitored) {
      out.push_back(i);
    }
  }
  return out;
}

Result<model::TmProfileSet> TrafficManagerConfig::profile_set() const {
  std::vector<model::TmProfile> models;
  for (const auto& p : profiles) models.push_back(p.profile);
  auto set = model::TmProfileSet::create(std::move(models), model::TmTimingRules::kScaled);
  if (!set.is_ok()) return invalid_argument(source + ": " + set.status().message());
  return set;
}

Status TrafficManagerConfig::validate() const {
  auto fail = [&](const std::string& why) { return invalid_argument(source + ": " + why); };
  if (profiles.empty()) return fail("profiles: at least one profile is required");
  if (auto set = profile_set(); !set.is_ok()) return set.status();
  std::map<std::string, std::string> dns_names;  // lower-case name → profile
  for (const ProfileSpec& p : profiles) {
    const std::string where = "profile \"" + p.profile.name + "\": ";
    if (p.io.size() != p.profile.endpoints.size()) {
      return fail(where + "endpoints: internal error, I/O settings do not match");
    }
    std::string dns = p.answered_dns_name();
    if (auto name = model::parse_dns_name_text(dns); !name.is_ok()) {
      return fail(where + "dns_name: " + name.status().message());
    }
    std::string lower = dns;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!lower.empty() && lower.back() == '.') lower.pop_back();
    if (auto [it, fresh] = dns_names.emplace(lower, p.profile.name); !fresh) {
      return fail(where + "dns_name: \"" + dns + "\" is already the name of profile \"" +
                  it->second + "\"");
    }
    for (size_t i = 0; i < p.io.size(); ++i) {
      const std::string field = where + "endpoints[" + p.profile.endpoints[i].name + "]";
      const bool nested = p.profile.endpoints[i].kind == model::TmEndpointKind::kNested;
      if (!p.io[i].probe_address.empty()) {
        if (nested) return fail(field + ".probe_address: nested endpoints are not probed");
        if (auto at = config::parse_host_port(field + ".probe_address", p.io[i].probe_address,
                                              config::PortZero::kRefused);
            !at.is_ok()) {
          return fail(at.status().message());
        }
      }
      if (!p.io[i].dns_address.empty()) {
        if (nested) return fail(field + ".dns_address: nested endpoints answer their child's");
        if (!model::parse_ip_address(p.io[i].dns_address).is_ok()) {
          return fail(field + ".dns_address: '" + p.io[i].dns_address + "' is not an IP address");
        }
      }
      if (!nested) {
        std::string target = p.probe_target(i);
        if (auto at = config::parse_host_port(field + ".target: probes would go to", target,
                                              config::PortZero::kRefused);
            !at.is_ok()) {
          return fail(at.status().message() + " (give probe_address or monitor.port)");
        }
      }
    }
  }
  for (size_t i = 0; i < client_locations.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (client_locations[i].range.overlaps(client_locations[j].range)) {
        return fail("client_locations[" + std::to_string(i) + "].range: " +
                    client_locations[i].range.to_string() + " overlaps client_locations[" +
                    std::to_string(j) + "] " + client_locations[j].range.to_string());
      }
    }
  }
  return Status::ok();
}

model::TmLatencyTable TrafficManagerConfig::latency_table() const {
  model::TmLatencyTable table;
  for (const auto& l : latency) table.set(l.client_region, l.location, l.latency);
  return table;
}

std::string TrafficManagerConfig::client_region_of(const model::TmIpAddress& ip) const {
  for (const auto& l : client_locations) {
    if (l.range.contains(ip)) return l.region;
  }
  return "";
}

}  // namespace drsim::trafficmgr
