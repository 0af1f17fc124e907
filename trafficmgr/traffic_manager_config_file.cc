#include "trafficmgr/traffic_manager_config_file.h"

#include <yaml-cpp/yaml.h>

#include "common/config/yaml_fields.h"

namespace drsim::trafficmgr {

namespace {

using config::check_keys;
using config::ConfigError;
using config::read_bool;
using config::read_uint;

constexpr size_t kMaxRegionBytes = 64;
constexpr uint64_t kMaxMs = 3'600'000;          // probe timing: an hour is plenty
constexpr uint64_t kMaxTtlMs = 2'147'483'647'000;  // Azure's TTL bound, in ms
constexpr uint64_t kMaxLatencyMs = 60'000;

std::string at_index(const std::string& field, size_t i) {
  return field + "[" + std::to_string(i) + "]";
}

Status read_string(const ConfigError& err, const std::string& field, const YAML::Node& node,
                   std::string* out) {
  if (!node) return Status::ok();
  if (!node.IsScalar() || node.Scalar().empty()) {
    return err.at(field, node, "must be a non-empty string");
  }
  *out = node.Scalar();
  return Status::ok();
}

Status read_ms(const ConfigError& err, const std::string& field, const YAML::Node& node,
               uint64_t max, Duration* out) {
  uint64_t ms = 0;
  if (!node) return Status::ok();
  if (Status s = read_uint(err, field, node, 0, max, &ms); !s.is_ok()) return s;
  *out = std::chrono::milliseconds(ms);
  return Status::ok();
}

// A scalar or a list of scalars.
Status read_string_list(const ConfigError& err, const std::string& field, const YAML::Node& node,
                        std::vector<std::string>* out) {
  if (!node) return Status::ok();
  if (node.IsScalar()) {
    out->push_back(node.Scalar());
    return Status::ok();
  }
  if (!node.IsSequence()) return err.at(field, node, "must be a string or a list of strings");
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsScalar()) return err.at(at_index(field, i), node[i], "must be a string");
    out->push_back(node[i].Scalar());
  }
  return Status::ok();
}

// A string or list of strings, each parsed by `parse` (a flag parser: its message is replaced by
// `expected`, which names the format).
template <typename T>
Status read_parsed_list(const ConfigError& err, const std::string& field, const YAML::Node& node,
                        Result<T> (*parse)(const std::string&), const char* expected,
                        std::vector<T>* out) {
  std::vector<std::string> texts;
  if (Status s = read_string_list(err, field, node, &texts); !s.is_ok()) return s;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto parsed = parse(texts[i]);
    if (!parsed.is_ok()) return err.at(at_index(field, i), node, "'" + texts[i] + "': " + expected);
    out->push_back(*parsed);
  }
  return Status::ok();
}

Result<model::TmRoutingMethod> parse_routing(const std::string& text) {
  for (auto m : {model::TmRoutingMethod::kPriority, model::TmRoutingMethod::kWeighted,
                 model::TmRoutingMethod::kPerformance, model::TmRoutingMethod::kGeographic,
                 model::TmRoutingMethod::kMultiValue, model::TmRoutingMethod::kSubnet}) {
    if (text == model::tm_routing_method_name(m)) return m;
  }
  return invalid_argument("'" + text +
                          "' is not priority, weighted, performance, geographic, multivalue or "
                          "subnet");
}

// monitor.protocol, then the path its probes use by default: drsim's regions answer /health;
// Azure's default "/" would only find a 404 there.
Status read_probe_protocol(const ConfigError& err, const std::string& f, const YAML::Node& node,
                           model::TmMonitorConfig* m) {
  if (auto p = node["protocol"]) {
    auto protocol = parse_probe_protocol_flag(p.IsScalar() ? p.Scalar() : "");
    if (!protocol.is_ok()) return err.at(f + ".protocol", p, "must be grpc, http, https or tcp");
    m->protocol = *protocol;
  }
  const bool http =
      m->protocol == model::TmProbeProtocol::kHttp || m->protocol == model::TmProbeProtocol::kHttps;
  m->path = http ? "/health" : "";
  return Status::ok();
}

// Where and what the probes ask: path, port (also the profile's probe port), headers and the
// status codes that count as success.
Status read_probe_request(const ConfigError& err, const std::string& f, const YAML::Node& node,
                          ProfileSpec* spec) {
  model::TmMonitorConfig& m = spec->profile.monitor;
  if (Status s = read_string(err, f + ".path", node["path"], &m.path); !s.is_ok()) return s;
  if (auto p = node["port"]) {
    uint16_t port = 0;
    if (Status s = read_uint(err, f + ".port", p, 1, 65535, &port); !s.is_ok()) return s;
    m.port = port;
    spec->probe_port = port;
  }
  if (Status s = read_parsed_list(err, f + ".headers", node["headers"], parse_probe_header_flag,
                                  "expected NAME:VALUE", &m.custom_headers);
      !s.is_ok()) {
    return s;
  }
  return read_parsed_list(err, f + ".expected_status", node["expected_status"],
                          parse_expected_status_flag, "expected CODE or LOW-HIGH, e.g. 200-299",
                          &m.expected_status_codes);
}

// How often probes go, how long they may take, and how many failures / successes in a row
// change an endpoint's status.
Status read_probe_timing(const ConfigError& err, const std::string& f, const YAML::Node& node,
                         model::TmMonitorConfig* m) {
  if (Status s = read_ms(err, f + ".interval_ms", node["interval_ms"], kMaxMs, &m->interval);
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_ms(err, f + ".timeout_ms", node["timeout_ms"], kMaxMs, &m->timeout);
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_uint(err, f + ".tolerated_failures", node["tolerated_failures"], 0,
                           model::kMaxToleratedFailures, &m->tolerated_failures);
      !s.is_ok()) {
    return s;
  }
  return read_uint(err, f + ".success_threshold", node["success_threshold"], 1,
                   model::kTmMaxSuccessThreshold, &m->success_threshold);
}

Status parse_monitor(const ConfigError& err, const YAML::Node& node, ProfileSpec* spec) {
  const std::string f = "monitor";
  if (Status s =
          check_keys(err, f, node,
                     {"protocol", "port", "path", "headers", "expected_status", "interval_ms",
                      "timeout_ms", "tolerated_failures", "success_threshold", "health_service"});
      !s.is_ok()) {
    return s;
  }
  model::TmMonitorConfig& m = spec->profile.monitor;
  if (Status s = read_probe_protocol(err, f, node, &m); !s.is_ok()) return s;
  if (Status s = read_probe_request(err, f, node, spec); !s.is_ok()) return s;
  if (Status s = read_probe_timing(err, f, node, &m); !s.is_ok()) return s;
  if (Status s = read_string(err, f + ".health_service", node["health_service"],
                             &spec->health_service);
      !s.is_ok()) {
    return s;
  }
  // The model's own rules (path per protocol, header names, timeout within interval, …).
  if (Status s = m.validate(model::TmTimingRules::kScaled); !s.is_ok()) {
    std::string message = s.message();
    std::string field = message.substr(0, message.find(':'));
    return err.at(f + "." + field, node, message.substr(message.find(':') + 2));
  }
  return Status::ok();
}

// An endpoint's name, type (region, external or nested) and target, and where its probes and
// DNS answers go when that is not the target.
Status read_endpoint_identity(const ConfigError& err, const YAML::Node& node, model::TmEndpoint* e,
                              EndpointIo* io) {
  if (!node["name"]) return err.at("name", node, "is required");
  if (Status s = read_string(err, "name", node["name"], &e->name); !s.is_ok()) return s;
  if (auto t = node["type"]) {
    const std::string type = t.IsScalar() ? t.Scalar() : "";
    if (type == "region") {
      e->kind = model::TmEndpointKind::kRegion;
    } else if (type == "external") {
      e->kind = model::TmEndpointKind::kExternal;
    } else if (type == "nested") {
      e->kind = model::TmEndpointKind::kNested;
    } else {
      return err.at("type", t, "must be region, external or nested");
    }
  }
  if (!node["target"]) {
    return err.at("target", node,
                  "is required (HOST:PORT of a region, an IP or name, or a child profile)");
  }
  if (Status s = read_string(err, "target", node["target"], &e->target); !s.is_ok()) return s;
  if (Status s = read_string(err, "probe_address", node["probe_address"], &io->probe_address);
      !s.is_ok()) {
    return s;
  }
  return read_string(err, "dns_address", node["dns_address"], &io->dns_address);
}

// What the routing methods read: priority (by default the endpoint's place in the list),
// weight, location, geographic codes and client subnets.
Status read_endpoint_routing(const ConfigError& err, const YAML::Node& node, size_t index,
                             model::TmEndpoint* e) {
  if (Status s = read_uint(err, "priority", node["priority"], model::kTmMinPriority,
                           model::kTmMaxPriority, &e->priority);
      !s.is_ok()) {
    return s;
  }
  if (!node["priority"]) e->priority = static_cast<uint32_t>(index + 1);
  if (Status s = read_uint(err, "weight", node["weight"], model::kTmMinWeight, model::kTmMaxWeight,
                           &e->weight);
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_string(err, "location", node["location"], &e->location); !s.is_ok()) {
    return s;
  }
  if (Status s = read_string_list(err, "geo_codes", node["geo_codes"], &e->geo_codes); !s.is_ok()) {
    return s;
  }
  std::vector<std::string> subnets;
  if (Status s = read_string_list(err, "subnets", node["subnets"], &subnets); !s.is_ok()) {
    return s;
  }
  for (size_t i = 0; i < subnets.size(); ++i) {
    auto range = model::parse_ip_range(subnets[i]);
    if (!range.is_ok()) {
      return err.at(at_index("subnets", i), node["subnets"], range.status().message());
    }
    e->subnets.push_back(*range);
  }
  return Status::ok();
}

// Whether the endpoint is enabled and probed, and a nested endpoint's child minimums.
Status read_endpoint_serving(const ConfigError& err, const YAML::Node& node, model::TmEndpoint* e) {
  bool enabled = true, always_serve = false;
  if (Status s = read_bool(err, "enabled", node["enabled"], &enabled); !s.is_ok()) return s;
  if (Status s = read_bool(err, "always_serve", node["always_serve"], &always_serve);
      !s.is_ok()) {
    return s;
  }
  e->enabled = enabled ? model::TmEnabled::kEnabled : model::TmEnabled::kDisabled;
  e->serve = always_serve ? model::TmServeMode::kAlwaysServe : model::TmServeMode::kMonitored;
  for (auto [key, out] : {std::pair{"min_child_endpoints", &e->min_child_endpoints},
                          std::pair{"min_child_ipv4", &e->min_child_ipv4},
                          std::pair{"min_child_ipv6", &e->min_child_ipv6}}) {
    if (Status s = read_uint(err, key, node[key], 0, model::kTmMaxEndpoints, out); !s.is_ok()) {
      return s;
    }
  }
  return Status::ok();
}

Status parse_endpoint(const ConfigError& err, const YAML::Node& node, ProfileSpec* spec) {
  if (Status s =
          check_keys(err, "", node,
                     {"name", "type", "target", "probe_address", "dns_address", "priority",
                      "weight", "location", "geo_codes", "subnets", "enabled", "always_serve",
                      "min_child_endpoints", "min_child_ipv4", "min_child_ipv6"});
      !s.is_ok()) {
    return s;
  }
  model::TmEndpoint e;
  EndpointIo io;
  if (Status s = read_endpoint_identity(err, node, &e, &io); !s.is_ok()) return s;
  if (Status s = read_endpoint_routing(err, node, spec->profile.endpoints.size(), &e); !s.is_ok()) {
    return s;
  }
  if (Status s = read_endpoint_serving(err, node, &e); !s.is_ok()) return s;
  spec->profile.endpoints.push_back(std::move(e));
  spec->io.push_back(std::move(io));
  return Status::ok();
}

Status parse_profile(const ConfigError& err, const YAML::Node& node, ProfileSpec* spec) {
  if (Status s = check_keys(err, "", node,
                            {"name", "dns_name", "enabled", "routing", "ttl_ms", "max_return",
                             "monitor", "endpoints"});
      !s.is_ok()) {
    return s;
  }
  model::TmProfile& p = spec->profile;
  if (!node["name"]) return err.at("name", node, "is required");
  if (Status s = read_string(err, "name", node["name"], &p.name); !s.is_ok()) return s;
  if (Status s = model::validate_tm_profile_name(p.name); !s.is_ok()) {
    return err.at("name", node["name"], s.message());
  }
  if (Status s = read_string(err, "dns_name", node["dns_name"], &spec->dns_name); !s.is_ok()) {
    return s;
  }
  bool enabled = true;
  if (Status s = read_bool(err, "enabled", node["enabled"], &enabled); !s.is_ok()) return s;
  p.enabled = enabled ? model::TmEnabled::kEnabled : model::TmEnabled::kDisabled;
  if (auto r = node["routing"]) {
    auto method = parse_routing(r.IsScalar() ? r.Scalar() : "");
    if (!method.is_ok()) return err.at("routing", r, method.status().message());
    p.routing = *method;
  }
  // drsim's scale (docs/trafficmgr.md): the defaults match `drsim up`'s profile.
  p.ttl = std::chrono::milliseconds(500);
  p.monitor.protocol = model::TmProbeProtocol::kGrpcHealth;
  p.monitor.path.clear();
  p.monitor.interval = std::chrono::milliseconds(100);
  p.monitor.timeout = std::chrono::milliseconds(50);
  p.monitor.tolerated_failures = 2;
  uint64_t ttl_ms = static_cast<uint64_t>(p.ttl.count());
  if (Status s = read_uint(err, "ttl_ms", node["ttl_ms"], 0, kMaxTtlMs, &ttl_ms); !s.is_ok()) {
    return s;
  }
  p.ttl = std::chrono::milliseconds(ttl_ms);
  if (Status s = read_uint(err, "max_return", node["max_return"], 1,
                           model::kTmMaxMultiValueReturn, &p.max_return);
      !s.is_ok()) {
    return s;
  }
  if (auto m = node["monitor"]) {
    if (Status s = parse_monitor(err, m, spec); !s.is_ok()) return s;
  }
  auto endpoints = node["endpoints"];
  if (!endpoints || !endpoints.IsSequence() || endpoints.size() == 0) {
    return err.at("endpoints", endpoints ? endpoints : node, "must be a non-empty list");
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    if (Status s = parse_endpoint(err.nested(at_index("endpoints", i)), endpoints[i], spec);
        !s.is_ok()) {
      return s;
    }
  }
  return Status::ok();
}

Status parse_client_locations(const ConfigError& err, const YAML::Node& node,
                              TrafficManagerConfig* config) {
  if (!node) return Status::ok();
  if (!node.IsSequence()) return err.at("client_locations", node, "must be a list");
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string f = at_index("client_locations", i);
    if (Status s = check_keys(err, f, node[i], {"range", "region"}); !s.is_ok()) return s;
    ClientLocation location;
    std::string range;
    if (!node[i]["range"] || !node[i]["region"]) {
      return err.at(f, node[i], "needs range (CIDR or FIRST-LAST) and region");
    }
    if (Status s = read_string(err, f + ".range", node[i]["range"], &range); !s.is_ok()) return s;
    auto parsed = model::parse_ip_range(range);
    if (!parsed.is_ok()) return err.at(f + ".range", node[i]["range"], parsed.status().message());
    location.range = *parsed;
    if (Status s = read_string(err, f + ".region", node[i]["region"], &location.region);
        !s.is_ok()) {
      return s;
    }
    if (location.region.size() > kMaxRegionBytes) {
      return err.at(f + ".region", node[i]["region"], "longer than 64 bytes");
    }
    config->client_locations.push_back(std::move(location));
  }
  return Status::ok();
}

Status parse_latency(const ConfigError& err, const YAML::Node& node,
                     TrafficManagerConfig* config) {
  if (!node) return Status::ok();
  if (!node.IsSequence()) return err.at("latency", node, "must be a list");
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string f = at_index("latency", i);
    if (Status s = check_keys(err, f, node[i], {"from", "to", "ms"}); !s.is_ok()) return s;
    if (!node[i]["from"] || !node[i]["to"] || !node[i]["ms"]) {
      return err.at(f, node[i], "needs from (client region), to (location) and ms");
    }
    LatencyEntry entry;
    if (Status s = read_string(err, f + ".from", node[i]["from"], &entry.client_region);
        !s.is_ok()) {
      return s;
    }
    if (Status s = read_string(err, f + ".to", node[i]["to"], &entry.location); !s.is_ok()) {
      return s;
    }
    if (Status s = read_ms(err, f + ".ms", node[i]["ms"], kMaxLatencyMs, &entry.latency);
        !s.is_ok()) {
      return s;
    }
    config->latency.push_back(std::move(entry));
  }
  return Status::ok();
}

}  // namespace

Result<TrafficManagerConfig> parse_traffic_manager_config(const std::string& text,
                                                          const std::string& source) {
  auto root = config::load_yaml(text, source);
  if (!root.is_ok()) return root.status();
  ConfigError err(source);
  if (!root->IsMap()) return err.at("", *root, "must be a mapping with a profiles: list");
  if (Status s = check_keys(err, "", *root, {"profiles", "client_locations", "latency", "seed"});
      !s.is_ok()) {
    return s;
  }
  TrafficManagerConfig config;
  config.source = source;
  if (Status s = read_uint(err, "seed", (*root)["seed"], 0, UINT64_MAX, &config.seed);
      !s.is_ok()) {
    return s;
  }
  auto profiles = (*root)["profiles"];
  if (!profiles || !profiles.IsSequence() || profiles.size() == 0) {
    return err.at("profiles", profiles ? profiles : *root, "must be a non-empty list");
  }
  for (size_t i = 0; i < profiles.size(); ++i) {
    ProfileSpec spec;
    if (Status s = parse_profile(err.nested(at_index("profiles", i)), profiles[i], &spec);
        !s.is_ok()) {
      return s;
    }
    config.profiles.push_back(std::move(spec));
  }
  if (Status s = parse_client_locations(err, (*root)["client_locations"], &config); !s.is_ok()) {
    return s;
  }
  if (Status s = parse_latency(err, (*root)["latency"], &config); !s.is_ok()) return s;
  if (Status s = config.validate(); !s.is_ok()) return s;
  return config;
}

Result<TrafficManagerConfig> load_traffic_manager_config(const std::string& path) {
  auto text = config::read_text_file(path, "Traffic Manager config");
  if (!text.is_ok()) return text.status();
  return parse_traffic_manager_config(*text, path);
}

}  // namespace drsim::trafficmgr
