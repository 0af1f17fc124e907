#include "common/model/trafficmgr/routing.h"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "common/core/check.h"

namespace drsim::model {

namespace {

using EMS = TmEndpointMonitorStatus;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

TmResolution no_data() { return TmResolution{TmResolutionKind::kNoData, {}, false}; }

// Served endpoints of profile p, or when there are none the Degraded ones (fail open).
struct Candidates {
  std::vector<size_t> endpoints;
  bool fail_open = false;
};

Candidates served_or_fail_open(const TmProfileHealth& health) {
  Candidates c;
  const size_t n = health.endpoints.size();
  for (size_t e = 0; e < n; ++e) {
    if (is_served(health.endpoints[e])) c.endpoints.push_back(e);
  }
  if (!c.endpoints.empty()) return c;
  c.fail_open = true;
  for (size_t e = 0; e < n; ++e) {
    if (health.endpoints[e] == EMS::kDegraded) c.endpoints.push_back(e);
  }
  return c;
}

size_t lowest_priority(const TmProfile& profile, const std::vector<size_t>& among) {
  return *std::ranges::min_element(among, {},
                                   [&](size_t e) { return profile.endpoints[e].priority; });
}

class Resolver {
 public:
  Resolver(const TmProfileSet& set, const TmStatusSnapshot& statuses, TmQuery& query)
      : set_(set), statuses_(statuses), query_(query) {
    DRSIM_CHECK(statuses_.size() == set_.profiles().size());
  }

  TmResolution resolve(size_t profile) {
    const TmProfile& p = set_.profiles()[profile];
    switch (p.routing) {
      case TmRoutingMethod::kPriority:
        return priority(profile);
      case TmRoutingMethod::kWeighted:
        return weighted(profile);
      case TmRoutingMethod::kPerformance:
        return performance(profile);
      case TmRoutingMethod::kGeographic:
        return geographic(profile);
      case TmRoutingMethod::kMultiValue:
        return multivalue(profile);
      case TmRoutingMethod::kSubnet:
        return subnet(profile);
    }
    return no_data();
  }

 private:
  const TmProfile& profile(size_t i) const { return set_.profiles()[i]; }
  EMS status(size_t p, size_t e) const { return statuses_.profile(p).endpoints[e]; }

  Candidates candidates(size_t p) const { return served_or_fail_open(statuses_.profile(p)); }

  // The answer for one chosen endpoint: itself, or its child profile's answer.
  TmResolution answer(size_t p, size_t e, bool fail_open) {
    const TmEndpoint& ep = profile(p).endpoints[e];
    fail_open = fail_open || status(p, e) == EMS::kDegraded;
    if (ep.kind == TmEndpointKind::kNested) {
      TmResolution child = resolve(set_.child_index(p, e));
      child.fail_open = child.fail_open || fail_open;
      return child;
    }
    return TmResolution{
        TmResolutionKind::kAnswers, {{profile(p).name, ep.name, ep.target}}, fail_open};
  }

  TmResolution priority(size_t p) {
    Candidates c = candidates(p);
    if (c.endpoints.empty()) return no_data();
    return answer(p, lowest_priority(profile(p), c.endpoints), c.fail_open);
  }

  // Weighted draw over `among` with the profile's weights.
  size_t draw_weighted(size_t p, const std::vector<size_t>& among) {
    uint64_t total = 0;
    for (size_t e : among) total += profile(p).endpoints[e].weight;
    uint64_t r = query_.rng.below(total);
    for (size_t e : among) {
      const uint64_t w = profile(p).endpoints[e].weight;
      if (r < w) return e;
      r -= w;
    }
    DRSIM_CHECK(false);  // r < total
    return among.back();
  }

  TmResolution weighted(size_t p) {
    Candidates c = candidates(p);
    if (c.endpoints.empty()) return no_data();
    return answer(p, draw_weighted(p, c.endpoints), c.fail_open);
  }

  // First enabled endpoint whose ranges hold the client's address.
  std::optional<size_t> subnet_match(size_t p) const {
    if (!query_.client_ip) return std::nullopt;
    const auto& endpoints = profile(p).endpoints;
    for (size_t e = 0; e < endpoints.size(); ++e) {
      if (endpoints[e].enabled == TmEnabled::kDisabled) continue;
      for (const TmIpRange& r : endpoints[e].subnets) {
        if (r.contains(*query_.client_ip)) return e;
      }
    }
    return std::nullopt;
  }

  TmResolution performance(size_t p) {
    // Azure subnet override on a performance profile: used only while the endpoint is healthy.
    if (auto e = subnet_match(p); e && is_served(status(p, *e))) return answer(p, *e, false);
    Candidates c = candidates(p);
    if (c.endpoints.empty()) return no_data();
    auto latency = [&](size_t e) {
      std::optional<Duration> d;
      if (query_.latency) {
        d = query_.latency->get(query_.client_region, profile(p).endpoints[e].location);
      }
      return d.value_or(Duration::max());
    };
    Duration best = Duration::max();
    for (size_t e : c.endpoints) best = std::min(best, latency(e));
    std::vector<size_t> closest;
    for (size_t e : c.endpoints) {
      if (latency(e) == best) closest.push_back(e);
    }
    // No draw for a single choice, so adding a far endpoint does not shift later draws.
    const size_t pick = closest.size() == 1 ? 0 : query_.rng.below(closest.size());
    return answer(p, closest[pick], c.fail_open);
  }

  TmResolution geographic(size_t p) {
    const auto& endpoints = profile(p).endpoints;
    std::optional<size_t> match = subnet_match(p);
    // Most specific first: "US-CA", "US", then the catch-all.
    std::string code = upper(query_.client_region);
    while (!match) {
      for (size_t e = 0; e < endpoints.size() && !match && !code.empty(); ++e) {
        if (endpoints[e].enabled == TmEnabled::kDisabled) continue;
        for (const std::string& mapped : endpoints[e].geo_codes) {
          if (upper(mapped) == code) match = e;
        }
      }
      if (match || code == kTmGeoWorld) break;
      const size_t dash = code.rfind('-');
      code = dash == std::string::npos ? std::string(kTmGeoWorld) : code.substr(0, dash);
    }
    if (!match) return no_data();
    // Azure: a Stopped match is NODATA, without looking higher up the hierarchy.
    if (status(p, *match) == EMS::kStopped) return no_data();
    return answer(p, *match, false);
  }

  TmResolution multivalue(size_t p) {
    Candidates c = candidates(p);
    if (c.endpoints.empty()) return no_data();
    TmResolution r{TmResolutionKind::kAnswers, {}, c.fail_open};
    // Validation keeps nested endpoints out of multivalue profiles, so each answer is direct.
    for (size_t i = 0; i < c.endpoints.size() && i < profile(p).max_return; ++i) {
      const TmEndpoint& e = profile(p).endpoints[c.endpoints[i]];
      r.answers.push_back({profile(p).name, e.name, e.target});
    }
    return r;
  }

  TmResolution subnet(size_t p) {
    std::optional<size_t> match = subnet_match(p);
    if (!match) {
      const auto& endpoints = profile(p).endpoints;
      for (size_t e = 0; e < endpoints.size() && !match; ++e) {
        if (endpoints[e].enabled == TmEnabled::kEnabled && endpoints[e].subnets.empty()) match = e;
      }
    }
    if (!match || !is_served(status(p, *match))) return no_data();
    return answer(p, *match, false);
  }

  const TmProfileSet& set_;
  const TmStatusSnapshot& statuses_;
  TmQuery& query_;
};

}  // namespace

void TmLatencyTable::set(std::string_view client_region, std::string_view location,
                         Duration latency) {
  latency_[{std::string(client_region), std::string(location)}] = latency;
}

std::optional<Duration> TmLatencyTable::get(std::string_view client_region,
                                            std::string_view location) const {
  auto it = latency_.find(std::pair<std::string, std::string>(client_region, location));
  if (it == latency_.end()) return std::nullopt;
  return it->second;
}

const char* tm_resolution_kind_name(TmResolutionKind kind) {
  switch (kind) {
    case TmResolutionKind::kAnswers:
      return "ANSWERS";
    case TmResolutionKind::kNoData:
      return "NODATA";
    case TmResolutionKind::kNxDomain:
      return "NXDOMAIN";
  }
  return "UNKNOWN";
}

TmResolution resolve(const TmProfileSet& set, const TmStatusSnapshot& statuses,
                     std::string_view profile_name, TmQuery& query) {
  std::optional<size_t> p = set.index_of(profile_name);
  if (!p) return TmResolution{TmResolutionKind::kNxDomain, {}, false};
  const TmProfileMonitorStatus status = statuses.profile(*p).status;
  if (status == TmProfileMonitorStatus::kDisabled || status == TmProfileMonitorStatus::kInactive) {
    return TmResolution{TmResolutionKind::kNxDomain, {}, false};
  }
  return Resolver(set, statuses, query).resolve(*p);
}

TmRouteSummary route_summary(const TmProfileSet& set, const TmStatusSnapshot& statuses,
                             size_t profile) {
  const TmProfile& p = set.profiles()[profile];
  const TmProfileHealth& health = statuses.profile(profile);
  TmRouteSummary summary;
  if (health.status == TmProfileMonitorStatus::kDisabled ||
      health.status == TmProfileMonitorStatus::kInactive) {
    return summary;
  }
  Candidates c = served_or_fail_open(health);
  switch (p.routing) {
    case TmRoutingMethod::kPriority:
      if (!c.endpoints.empty()) summary.endpoints = {lowest_priority(p, c.endpoints)};
      summary.fail_open = c.fail_open && !c.endpoints.empty();
      break;
    case TmRoutingMethod::kWeighted:
    case TmRoutingMethod::kPerformance:
      summary.endpoints = c.endpoints;
      summary.fail_open = c.fail_open && !c.endpoints.empty();
      break;
    case TmRoutingMethod::kMultiValue:
      summary.endpoints = c.endpoints;
      if (summary.endpoints.size() > p.max_return) summary.endpoints.resize(p.max_return);
      summary.fail_open = c.fail_open && !c.endpoints.empty();
      break;
    case TmRoutingMethod::kGeographic:
      for (size_t e = 0; e < health.endpoints.size(); ++e) {
        if (is_served(health.endpoints[e]) || health.endpoints[e] == EMS::kDegraded) {
          summary.endpoints.push_back(e);
        }
      }
      break;
    case TmRoutingMethod::kSubnet:
      for (size_t e = 0; e < health.endpoints.size(); ++e) {
        if (is_served(health.endpoints[e])) summary.endpoints.push_back(e);
      }
      break;
  }
  return summary;
}

}  // namespace drsim::model
