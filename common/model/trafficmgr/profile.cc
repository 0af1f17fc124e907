#include "common/model/trafficmgr/profile.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "common/core/check.h"

namespace drsim::model {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_ldh(unsigned char c) { return std::isalnum(c) || c == '-'; }

std::string range_text(uint32_t lo, uint32_t hi) {
  return std::to_string(lo) + ".." + std::to_string(hi);
}

Status out_of_range_field(const std::string& field, uint64_t value, uint32_t lo, uint32_t hi) {
  return invalid_argument(field + ": " + std::to_string(value) + " is out of range " +
                          range_text(lo, hi));
}

// Letters, digits and '-', not at either end: "WORLD", "DE", "US-CA", "GEO-EU".
bool is_geo_code(std::string_view code) {
  return !code.empty() && code.size() <= 32 && std::ranges::all_of(code, is_ldh) &&
         code.front() != '-' && code.back() != '-';
}

bool uses_subnets(TmRoutingMethod m) {
  return m == TmRoutingMethod::kSubnet || m == TmRoutingMethod::kGeographic ||
         m == TmRoutingMethod::kPerformance;
}

// Checks one endpoint alone; `field` is "endpoints[name]".
Status validate_endpoint(const TmProfile& profile, const TmEndpoint& e, const std::string& field) {
  if (e.target.empty()) return invalid_argument(field + ".target: must not be empty");
  if (std::ranges::any_of(e.target, [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    return invalid_argument(field + ".target: \"" + e.target +
                            "\" has a space or control character");
  }
  if (e.kind == TmEndpointKind::kNested) {
    if (Status s = validate_tm_profile_name(e.target); !s.is_ok()) {
      return invalid_argument(field + ".target: " + s.message());
    }
    if (e.min_child_endpoints < 1 || e.min_child_endpoints > kTmMaxEndpoints) {
      return out_of_range_field(field + ".min_child_endpoints", e.min_child_endpoints, 1,
                                kTmMaxEndpoints);
    }
    if (e.min_child_ipv4 > kTmMaxEndpoints) {
      return out_of_range_field(field + ".min_child_ipv4", e.min_child_ipv4, 0, kTmMaxEndpoints);
    }
    if (e.min_child_ipv6 > kTmMaxEndpoints) {
      return out_of_range_field(field + ".min_child_ipv6", e.min_child_ipv6, 0, kTmMaxEndpoints);
    }
  } else if (e.min_child_endpoints != 1 || e.min_child_ipv4 != 0 || e.min_child_ipv6 != 0) {
    return invalid_argument(field + ".min_child_endpoints: only nested endpoints have children");
  }
  if (e.priority < kTmMinPriority || e.priority > kTmMaxPriority) {
    return out_of_range_field(field + ".priority", e.priority, kTmMinPriority, kTmMaxPriority);
  }
  if (e.weight < kTmMinWeight || e.weight > kTmMaxWeight) {
    return out_of_range_field(field + ".weight", e.weight, kTmMinWeight, kTmMaxWeight);
  }
  for (const std::string& code : e.geo_codes) {
    if (!is_geo_code(code)) {
      return invalid_argument(field + ".geo_codes: \"" + code +
                              "\" is not a geographic code (letters, digits, inner '-')");
    }
  }
  if (!e.subnets.empty() && !uses_subnets(profile.routing)) {
    return invalid_argument(field + ".subnets: " + tm_routing_method_name(profile.routing) +
                            " routing does not use subnets");
  }
  switch (profile.routing) {
    case TmRoutingMethod::kPerformance:
      if (e.location.empty()) {
        return invalid_argument(field + ".location: performance routing needs the location");
      }
      break;
    case TmRoutingMethod::kGeographic:
      if (e.geo_codes.empty()) {
        return invalid_argument(field + ".geo_codes: geographic routing needs at least one");
      }
      break;
    case TmRoutingMethod::kMultiValue:
      // Azure: "MultiValue routing method works only if all the endpoints of type External
      // and are specified as IPv4 or IPv6 addresses."
      if (e.kind != TmEndpointKind::kExternal || !parse_ip_address(e.target).is_ok()) {
        return invalid_argument(field +
                                ".target: multivalue routing takes only external "
                                "endpoints given as IPv4 or IPv6 addresses");
      }
      break;
    default:
      break;
  }
  return Status::ok();
}

// Rules across the endpoints of one profile.
Status validate_endpoint_set(const TmProfile& p, const std::vector<std::string>& fields) {
  std::set<std::string> names;
  std::map<uint32_t, size_t> priorities;
  std::map<std::string, size_t> codes;
  size_t fallbacks = 0;
  for (size_t i = 0; i < p.endpoints.size(); ++i) {
    const TmEndpoint& e = p.endpoints[i];
    if (!names.insert(e.name).second) {
      return invalid_argument(fields[i] + ".name: \"" + e.name + "\" is used twice");
    }
    if (p.routing == TmRoutingMethod::kPriority) {
      auto [it, fresh] = priorities.emplace(e.priority, i);
      if (!fresh) {
        return invalid_argument(fields[i] + ".priority: " + std::to_string(e.priority) +
                                " is already " + fields[it->second] + "'s");
      }
    }
    for (const std::string& code : e.geo_codes) {
      auto [it, fresh] = codes.emplace(upper(code), i);
      if (!fresh) {
        return invalid_argument(fields[i] + ".geo_codes: \"" + code + "\" is already mapped to " +
                                fields[it->second]);
      }
    }
    for (size_t j = 0; j < i; ++j) {
      for (const TmIpRange& mine : e.subnets) {
        for (const TmIpRange& theirs : p.endpoints[j].subnets) {
          if (mine.overlaps(theirs)) {
            return invalid_argument(fields[i] + ".subnets: " + mine.to_string() + " overlaps " +
                                    theirs.to_string() + " of " + fields[j]);
          }
        }
      }
    }
    // Azure: an endpoint without ranges is the fallback; two would make the answer a coin toss.
    if (p.routing == TmRoutingMethod::kSubnet && e.subnets.empty() && ++fallbacks > 1) {
      return invalid_argument(fields[i] + ".subnets: a second fallback endpoint (no ranges)");
    }
  }
  return Status::ok();
}

}  // namespace

const char* tm_routing_method_name(TmRoutingMethod method) {
  switch (method) {
    case TmRoutingMethod::kPriority:
      return "priority";
    case TmRoutingMethod::kWeighted:
      return "weighted";
    case TmRoutingMethod::kPerformance:
      return "performance";
    case TmRoutingMethod::kGeographic:
      return "geographic";
    case TmRoutingMethod::kMultiValue:
      return "multivalue";
    case TmRoutingMethod::kSubnet:
      return "subnet";
  }
  return "unknown";
}

Status validate_tm_profile_name(std::string_view name) {
  const std::string quoted = "\"" + std::string(name) + "\"";
  if (name.empty() || name.size() > 253) {
    return invalid_argument(quoted + " must have 1..253 characters");
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = std::min(name.find('.', start), name.size());
    std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || !std::ranges::all_of(label, is_ldh) ||
        label.front() == '-' || label.back() == '-') {
      return invalid_argument(quoted +
                              " is not a DNS name (labels of 1..63 letters, digits "
                              "and inner '-', joined by '.')");
    }
    start = dot + 1;
  }
  return Status::ok();
}

std::optional<size_t> TmProfile::endpoint_index(std::string_view endpoint_name) const {
  for (size_t i = 0; i < endpoints.size(); ++i) {
    if (endpoints[i].name == endpoint_name) return i;
  }
  return std::nullopt;
}

Status TmProfile::validate(TmTimingRules rules) const {
  const std::string where = "profile \"" + name + "\": ";
  auto fail = [&](const Status& s) { return invalid_argument(where + s.message()); };
  if (Status s = validate_tm_profile_name(name); !s.is_ok()) return fail(s);
  if (ttl < std::chrono::milliseconds::zero() || ttl > kTmMaxTtl) {
    return invalid_argument(where + "ttl: " + tm_format_ms(ttl) + " is out of range 0.." +
                            std::to_string(kTmMaxTtl.count()) + "s");
  }
  if (rules == TmTimingRules::kAzure && ttl % std::chrono::seconds(1) != ttl.zero()) {
    return invalid_argument(where + "ttl: " + tm_format_ms(ttl) + " must be whole seconds");
  }
  if (max_return < 1 || max_return > kTmMaxMultiValueReturn) {
    return fail(out_of_range_field("max_return", max_return, 1, kTmMaxMultiValueReturn));
  }
  if (Status s = monitor.validate(rules); !s.is_ok()) {
    return invalid_argument(where + "monitor." + s.message());
  }
  if (endpoints.size() > kTmMaxEndpoints) {
    return invalid_argument(where + "endpoints: " + std::to_string(endpoints.size()) +
                            " endpoints, at most " + std::to_string(kTmMaxEndpoints));
  }
  std::vector<std::string> fields;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const TmEndpoint& e = endpoints[i];
    if (e.name.empty()) {
      return invalid_argument(where + "endpoints[" + std::to_string(i) +
                              "].name: must not be empty");
    }
    fields.push_back("endpoints[" + e.name + "]");
    if (Status s = validate_endpoint(*this, e, fields.back()); !s.is_ok()) return fail(s);
  }
  if (Status s = validate_endpoint_set(*this, fields); !s.is_ok()) return fail(s);
  return Status::ok();
}

Result<TmProfileSet> TmProfileSet::create(std::vector<TmProfile> profiles, TmTimingRules rules) {
  TmProfileSet set;
  for (size_t i = 0; i < profiles.size(); ++i) {
    if (Status s = profiles[i].validate(rules); !s.is_ok()) return s;
    if (!set.by_lower_name_.emplace(lower(profiles[i].name), i).second) {
      return invalid_argument("profile \"" + profiles[i].name + "\": name: used twice");
    }
  }
  set.profiles_ = std::move(profiles);
  set.children_.resize(set.profiles_.size());
  for (size_t i = 0; i < set.profiles_.size(); ++i) {
    const TmProfile& p = set.profiles_[i];
    for (const TmEndpoint& e : p.endpoints) {
      std::optional<size_t> child;
      if (e.kind == TmEndpointKind::kNested) {
        child = set.index_of(e.target);
        if (!child) {
          return invalid_argument("profile \"" + p.name + "\": endpoints[" + e.name +
                                  "].target: no profile \"" + e.target + "\" in the set");
        }
      }
      set.children_[i].push_back(child);
    }
  }

  // Depth-first over the nesting graph: a profile met again while on the path is a cycle.
  enum class Mark { kNew, kOnPath, kDone };
  std::vector<Mark> mark(set.profiles_.size(), Mark::kNew);
  std::vector<size_t> path;
  set.depth_.assign(set.profiles_.size(), 1);
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    mark[i] = Mark::kOnPath;
    path.push_back(i);
    for (const std::optional<size_t>& child : set.children_[i]) {
      if (!child) continue;
      if (mark[*child] == Mark::kOnPath) {
        std::string cycle;
        auto from = std::ranges::find(path, *child);
        for (auto it = from; it != path.end(); ++it) cycle += set.profiles_[*it].name + " -> ";
        return invalid_argument("profile \"" + set.profiles_[*child].name + "\": nesting cycle " +
                                cycle + set.profiles_[*child].name);
      }
      if (mark[*child] == Mark::kNew) {
        if (Status s = visit(*child); !s.is_ok()) return s;
      }
      set.depth_[i] = std::max(set.depth_[i], set.depth_[*child] + 1);
    }
    if (set.depth_[i] > kTmMaxNestingDepth) {
      return invalid_argument("profile \"" + set.profiles_[i].name + "\": nesting is " +
                              std::to_string(set.depth_[i]) + " profiles deep, at most " +
                              std::to_string(kTmMaxNestingDepth));
    }
    path.pop_back();
    mark[i] = Mark::kDone;
    return Status::ok();
  };
  for (size_t i = 0; i < set.profiles_.size(); ++i) {
    if (mark[i] != Mark::kNew) continue;
    if (Status s = visit(i); !s.is_ok()) return s;
  }
  return set;
}

std::optional<size_t> TmProfileSet::index_of(std::string_view profile_name) const {
  auto it = by_lower_name_.find(lower(profile_name));
  if (it == by_lower_name_.end()) return std::nullopt;
  return it->second;
}

const TmProfile* TmProfileSet::find(std::string_view profile_name) const {
  std::optional<size_t> i = index_of(profile_name);
  return i ? &profiles_[*i] : nullptr;
}

size_t TmProfileSet::child_index(size_t profile, size_t endpoint) const {
  DRSIM_CHECK(profile < children_.size() && endpoint < children_[profile].size());
  const std::optional<size_t>& child = children_[profile][endpoint];
  DRSIM_CHECK(child.has_value());
  return *child;
}

}  // namespace drsim::model
