// Routing methods over a profile set and a status snapshot: priority, weighted (proportions
// with a seeded Rng), performance, geographic, multivalue, subnet; fail open; NODATA and
// NXDOMAIN; nested profiles with min_child_endpoints; failover driven on the manual clock.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/rng.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/health_tracker.h"
#include "common/model/trafficmgr/routing.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr auto kOnline = EndpointStatus::kOnline;
constexpr auto kDegraded = EndpointStatus::kDegraded;
constexpr auto kChecking = EndpointStatus::kCheckingEndpoint;
constexpr auto kAnswers = TmResolutionKind::kAnswers;
constexpr auto kNoData = TmResolutionKind::kNoData;
constexpr auto kNxDomain = TmResolutionKind::kNxDomain;

TmEndpoint region(std::string name, uint32_t priority = 1, uint32_t weight = 1) {
  TmEndpoint e;
  e.name = name;
  e.target = name + ".drsim.test:7000";
  e.location = name;
  e.priority = priority;
  e.weight = weight;
  return e;
}

TmEndpoint with_codes(TmEndpoint e, std::vector<std::string> codes) {
  e.geo_codes = std::move(codes);
  return e;
}

TmEndpoint with_subnets(TmEndpoint e, std::vector<const char*> ranges) {
  for (const char* r : ranges) e.subnets.push_back(parse_ip_range(r).value());
  return e;
}

TmEndpoint at_location(TmEndpoint e, std::string location) {
  e.location = std::move(location);
  return e;
}

TmEndpoint ip_endpoint(std::string name, std::string ip) {
  TmEndpoint e;
  e.name = std::move(name);
  e.kind = TmEndpointKind::kExternal;
  e.target = std::move(ip);
  return e;
}

TmEndpoint nested(std::string name, std::string child, uint32_t priority = 1,
                  uint32_t min_children = 1) {
  TmEndpoint e;
  e.name = std::move(name);
  e.kind = TmEndpointKind::kNested;
  e.target = std::move(child);
  e.priority = priority;
  e.min_child_endpoints = min_children;
  return e;
}

TmProfile profile(std::string name, TmRoutingMethod routing, std::vector<TmEndpoint> endpoints) {
  TmProfile p;
  p.name = std::move(name);
  p.routing = routing;
  p.endpoints = std::move(endpoints);
  return p;
}

TmIpAddress ip(const char* text) { return parse_ip_address(text).value(); }

// A profile set with observations, resolved with one seeded Rng.
class Tm {
 public:
  explicit Tm(std::vector<TmProfile> profiles, uint64_t seed = 42) : rng_(seed) {
    auto set = TmProfileSet::create(std::move(profiles), TmTimingRules::kAzure);
    EXPECT_TRUE(set.is_ok()) << set.status().to_string();
    if (set.is_ok()) set_ = std::move(set).value();
  }

  Tm& observe(const std::string& profile, const std::string& endpoint, EndpointStatus probe) {
    TmObservation o = obs_.get(profile, endpoint);
    o.probe = probe;
    obs_.set(profile, endpoint, o);
    return *this;
  }
  Tm& stop(const std::string& profile, const std::string& endpoint) {
    TmObservation o = obs_.get(profile, endpoint);
    o.target = TmTargetState::kStopped;
    obs_.set(profile, endpoint, o);
    return *this;
  }
  // Every region / external endpoint of every profile Online.
  Tm& all_online() {
    for (const TmProfile& p : set_.profiles()) {
      for (const TmEndpoint& e : p.endpoints) {
        if (e.kind != TmEndpointKind::kNested) observe(p.name, e.name, kOnline);
      }
    }
    return *this;
  }

  TmResolution resolve(std::string_view name, std::string client_region = "",
                       std::optional<TmIpAddress> client_ip = std::nullopt) {
    TmStatusSnapshot snap = TmStatusSnapshot::compute(set_, obs_);
    TmQuery q{std::move(client_region), client_ip, rng_, &latency};
    return model::resolve(set_, snap, name, q);
  }

  // "endpoint" for a single answer, "a,b" for several, else "NODATA" / "NXDOMAIN".
  std::string answer(std::string_view name, std::string client_region = "",
                     std::optional<TmIpAddress> client_ip = std::nullopt) {
    TmResolution r = resolve(name, std::move(client_region), client_ip);
    if (r.kind != kAnswers) return tm_resolution_kind_name(r.kind);
    std::string out;
    for (const TmAnswer& a : r.answers) out += (out.empty() ? "" : ",") + a.endpoint;
    return out;
  }

  // How often each endpoint answers over n single-answer resolves.
  std::map<std::string, int> tally(std::string_view name, int n, std::string client_region = "") {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) ++counts[answer(name, client_region)];
    return counts;
  }

  // route_summary of the profile: "a,b", "(none)", with " (fail open)" when so.
  std::string route(std::string_view name) {
    TmStatusSnapshot snap = TmStatusSnapshot::compute(set_, obs_);
    TmRouteSummary r = route_summary(set_, snap, set_.index_of(name).value());
    std::string out;
    for (size_t e : r.endpoints) {
      out += (out.empty() ? "" : ",") + set_.find(name)->endpoints[e].name;
    }
    if (out.empty()) out = "(none)";
    return r.fail_open ? out + " (fail open)" : out;
  }

  TmLatencyTable latency;
  const TmProfileSet& set() const { return set_; }

 private:
  TmProfileSet set_;
  TmObservations obs_;
  Rng rng_;
};

// --- NXDOMAIN ---

TEST(TmRouting, UnknownProfileIsNxDomain) {
  Tm tm({profile("app", TmRoutingMethod::kPriority, {region("east")})});
  EXPECT_EQ(tm.answer("nope"), "NXDOMAIN");
}

TEST(TmRouting, DisabledProfileIsNxDomain) {
  TmProfile p = profile("app", TmRoutingMethod::kPriority, {region("east")});
  p.enabled = TmEnabled::kDisabled;
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app"), "NXDOMAIN");
}

TEST(TmRouting, ProfileWithEveryEndpointDisabledIsNxDomain) {
  TmProfile p = profile("app", TmRoutingMethod::kPriority, {region("east", 1), region("west", 2)});
  for (auto& e : p.endpoints) e.enabled = TmEnabled::kDisabled;
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app"), "NXDOMAIN");
}

TEST(TmRouting, ProfileWithEveryTargetStoppedIsNxDomain) {
  Tm tm({profile("app", TmRoutingMethod::kPriority, {region("east", 1), region("west", 2)})});
  tm.all_online().stop("app", "east").stop("app", "west");
  EXPECT_EQ(tm.answer("app"), "NXDOMAIN");
}

TEST(TmRouting, ProfileNamesResolveCaseInsensitively) {
  Tm tm({profile("App.TrafficManager.test", TmRoutingMethod::kPriority, {region("east")})});
  EXPECT_EQ(tm.answer("app.trafficmanager.TEST"), "east");
}

// --- priority ---

TEST(TmRouting, PriorityAnswersTheLowestPriorityNumberNotTheFirstListed) {
  Tm tm({profile("app", TmRoutingMethod::kPriority,
                 {region("c", 30), region("a", 10), region("b", 20)})});
  tm.all_online();
  TmResolution r = tm.resolve("app");
  ASSERT_EQ(r.kind, kAnswers);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0], (TmAnswer{"app", "a", "a.drsim.test:7000"}));
  EXPECT_FALSE(r.fail_open);
}

TEST(TmRouting, PriorityFailsOverPastDegradedStoppedAndDisabledEndpoints) {
  TmProfile p = profile("app", TmRoutingMethod::kPriority,
                        {region("a", 1), region("b", 2), region("c", 3), region("d", 4)});
  p.endpoints[2].enabled = TmEnabled::kDisabled;
  Tm tm({p});
  tm.all_online().observe("app", "a", kDegraded);
  EXPECT_EQ(tm.answer("app"), "b");
  tm.stop("app", "b");
  EXPECT_EQ(tm.answer("app"), "d");
  tm.observe("app", "a", kOnline);
  EXPECT_EQ(tm.answer("app"), "a");  // failback as soon as the primary is Online
}

TEST(TmRouting, PriorityServesAnEndpointStillBeingChecked) {
  Tm tm({profile("app", TmRoutingMethod::kPriority, {region("a", 1), region("b", 2)})});
  tm.observe("app", "a", kChecking).observe("app", "b", kOnline);
  EXPECT_EQ(tm.answer("app"), "a");
}

TEST(TmRouting, PriorityServesAnAlwaysServeEndpointWhateverItsProbe) {
  TmProfile p = profile("app", TmRoutingMethod::kPriority, {region("a", 1), region("b", 2)});
  p.endpoints[0].serve = TmServeMode::kAlwaysServe;
  Tm tm({p});
  tm.observe("app", "a", kDegraded).observe("app", "b", kOnline);
  EXPECT_EQ(tm.answer("app"), "a");
}

TEST(TmRouting, PriorityFailsOpenToTheLowestPriorityWhenAllAreDegraded) {
  Tm tm({profile("app", TmRoutingMethod::kPriority,
                 {region("a", 1), region("b", 2), region("c", 3)})});
  tm.observe("app", "a", kDegraded).observe("app", "b", kDegraded).observe("app", "c", kDegraded);
  TmResolution r = tm.resolve("app");
  ASSERT_EQ(r.kind, kAnswers);
  EXPECT_EQ(r.answers[0].endpoint, "a");
  EXPECT_TRUE(r.fail_open);
  // A stopped endpoint is not degraded: it never comes back through fail open.
  tm.stop("app", "a");
  EXPECT_EQ(tm.answer("app"), "b");
}

// The whole loop on the manual clock: HealthMonitor schedules, TmHealthTracker judges, the
// snapshot and resolve answer. East fails at +150 ms and heals at +550 ms.
TEST(TmRouting, PriorityFailsOverAndBackAsProbesAreJudgedOnTheManualClock) {
  TmProfile p = profile("app", TmRoutingMethod::kPriority, {region("east", 1), region("west", 2)});
  p.ttl = 500ms;
  p.monitor.interval = 100ms;
  p.monitor.timeout = 50ms;
  p.monitor.tolerated_failures = 2;
  p.monitor.success_threshold = 2;
  auto set = TmProfileSet::create({p}, TmTimingRules::kScaled);
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();

  const Time start = kTimeZero + 1h;
  ManualClock clock(start);
  HealthMonitor schedule(to_monitor_config(p.monitor), 2, start);
  TmHealthTracker tracker(p.monitor, 2);
  TmObservations obs;
  Rng rng(7);
  auto east_up = [&](Time t) { return t < start + 150ms || t >= start + 550ms; };

  std::vector<std::pair<Duration, std::string>> route_changes;
  std::string current;
  while (clock.now() < start + 1s) {
    clock.set(schedule.next_deadline());
    const Time probed = clock.now();
    std::vector<size_t> due = schedule.due_probes(probed);
    clock.advance(10ms);  // results come back
    for (size_t i : due) {
      const bool ok = i == 1 || east_up(probed);
      const ProbeOutcome outcome = ok ? ProbeOutcome::kSuccess : ProbeOutcome::kFailure;
      schedule.on_probe_result(i, outcome, clock.now());
      tracker.on_probe_result(i, outcome, clock.now());
      obs.set("app", p.endpoints[i].name, TmObservation{tracker.status(i)});
    }
    TmQuery q{"", std::nullopt, rng, nullptr};
    TmResolution r = resolve(*set, TmStatusSnapshot::compute(*set, obs), "app", q);
    ASSERT_EQ(r.kind, kAnswers);
    if (r.answers[0].endpoint != current) {
      current = r.answers[0].endpoint;
      route_changes.emplace_back(clock.now() - start, current);
    }
  }
  // Failures at +200, +300, +400 (tolerated 2: the third degrades); successes at +600, +700
  // (threshold 2: the second brings east back). Results land 10 ms after each probe.
  const std::vector<std::pair<Duration, std::string>> expected = {
      {10ms, "east"}, {410ms, "west"}, {710ms, "east"}};
  EXPECT_EQ(route_changes, expected);
  // Detection plus one cached TTL stays inside the strict worst case.
  TmFailoverEstimate estimate = estimate_failover(p.monitor, p.ttl);
  EXPECT_LE((410ms - 150ms) + p.ttl, estimate.worst_case);
  EXPECT_EQ(estimate.documented, 700ms);
}

// --- weighted ---

TEST(TmRouting, WeightedSplitsTenThousandResolvesByWeightWithinTwoPercent) {
  Tm tm({profile("app", TmRoutingMethod::kWeighted,
                 {region("a", 1, 1), region("b", 1, 3), region("c", 1, 6)})},
        20240501);
  tm.all_online();
  std::map<std::string, int> counts = tm.tally("app", 10'000);
  EXPECT_NEAR(counts["a"], 1'000, 200);
  EXPECT_NEAR(counts["b"], 3'000, 200);
  EXPECT_NEAR(counts["c"], 6'000, 200);
  EXPECT_EQ(counts["a"] + counts["b"] + counts["c"], 10'000);
}

TEST(TmRouting, WeightedEqualWeightsSplitEvenly) {
  Tm tm({profile("app", TmRoutingMethod::kWeighted, {region("a", 1, 500), region("b", 1, 500)})});
  tm.all_online();
  std::map<std::string, int> counts = tm.tally("app", 10'000);
  EXPECT_NEAR(counts["a"], 5'000, 200);
  EXPECT_NEAR(counts["b"], 5'000, 200);
}

TEST(TmRouting, WeightedNeverAnswersADegradedEndpointWhileAnotherIsServed) {
  Tm tm({profile("app", TmRoutingMethod::kWeighted,
                 {region("a", 1, 1000), region("b", 1, 1), region("c", 1, 1)})});
  tm.all_online().observe("app", "a", kDegraded);
  std::map<std::string, int> counts = tm.tally("app", 2'000);
  EXPECT_EQ(counts.count("a"), 0u);
  EXPECT_NEAR(counts["b"], 1'000, 150);
  EXPECT_EQ(counts["b"] + counts["c"], 2'000);
}

TEST(TmRouting, WeightedFailsOpenByWeightWhenAllAreDegraded) {
  Tm tm({profile("app", TmRoutingMethod::kWeighted, {region("a", 1, 1), region("b", 1, 3)})});
  tm.observe("app", "a", kDegraded).observe("app", "b", kDegraded);
  EXPECT_TRUE(tm.resolve("app").fail_open);
  std::map<std::string, int> counts = tm.tally("app", 10'000);
  EXPECT_NEAR(counts["a"], 2'500, 200);
  EXPECT_NEAR(counts["b"], 7'500, 200);
}

TEST(TmRouting, WeightedDrawsReplayWithTheSameSeed) {
  auto draws = [](uint64_t seed) {
    Tm tm({profile("app", TmRoutingMethod::kWeighted,
                   {region("a", 1, 2), region("b", 1, 5), region("c", 1, 9)})},
          seed);
    tm.all_online();
    std::string out;
    for (int i = 0; i < 64; ++i) out += tm.answer("app");
    return out;
  };
  EXPECT_EQ(draws(1), draws(1));
  EXPECT_NE(draws(1), draws(2));
}

// --- performance ---

Tm performance_world() {
  Tm tm({profile("app", TmRoutingMethod::kPerformance,
                 {region("eu", 1), region("us", 2), region("asia", 3)})});
  tm.latency.set("paris", "eu", 10ms);
  tm.latency.set("paris", "us", 80ms);
  tm.latency.set("paris", "asia", 200ms);
  tm.latency.set("tokyo", "eu", 220ms);
  tm.latency.set("tokyo", "us", 120ms);
  tm.latency.set("tokyo", "asia", 30ms);
  tm.all_online();
  return tm;
}

TEST(TmRouting, PerformanceAnswersTheLowestLatencyLocationForTheClient) {
  Tm tm = performance_world();
  EXPECT_EQ(tm.answer("app", "paris"), "eu");
  EXPECT_EQ(tm.answer("app", "tokyo"), "asia");
}

TEST(TmRouting, PerformanceMovesToTheNextClosestWhenTheClosestIsDegraded) {
  Tm tm = performance_world();
  tm.observe("app", "eu", kDegraded);
  EXPECT_EQ(tm.answer("app", "paris"), "us");
  tm.observe("app", "us", kDegraded);
  EXPECT_EQ(tm.answer("app", "paris"), "asia");
}

TEST(TmRouting, PerformanceFailsOpenToTheClosestWhenAllAreDegraded) {
  Tm tm = performance_world();
  for (const char* e : {"eu", "us", "asia"}) tm.observe("app", e, kDegraded);
  TmResolution r = tm.resolve("app", "tokyo");
  ASSERT_EQ(r.kind, kAnswers);
  EXPECT_EQ(r.answers[0].endpoint, "asia");
  EXPECT_TRUE(r.fail_open);
}

TEST(TmRouting, PerformanceSpreadsEvenlyOverEndpointsInTheClosestLocation) {
  Tm tm({profile(
      "app", TmRoutingMethod::kPerformance,
      {at_location(region("eu1"), "eu"), at_location(region("eu2"), "eu"), region("us")})});
  tm.latency.set("paris", "eu", 10ms);
  tm.latency.set("paris", "us", 80ms);
  tm.all_online();
  std::map<std::string, int> counts = tm.tally("app", 10'000, "paris");
  EXPECT_EQ(counts.count("us"), 0u);
  EXPECT_NEAR(counts["eu1"], 5'000, 200);
  EXPECT_NEAR(counts["eu2"], 5'000, 200);
}

TEST(TmRouting, PerformanceRanksUnknownLatencyLast) {
  Tm tm({profile("app", TmRoutingMethod::kPerformance, {region("mars"), region("us")})});
  tm.latency.set("paris", "us", 300ms);
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "paris"), "us");
  tm.observe("app", "us", kDegraded);
  EXPECT_EQ(tm.answer("app", "paris"), "mars");
}

TEST(TmRouting, PerformanceWithoutLatencyForTheClientPicksAmongAllServed) {
  Tm tm = performance_world();
  std::map<std::string, int> counts = tm.tally("app", 3'000, "lima");
  EXPECT_EQ(counts.size(), 3u);
  for (const auto& [endpoint, n] : counts) EXPECT_NEAR(n, 1'000, 150) << endpoint;
}

TEST(TmRouting, PerformanceSubnetOverrideAppliesOnlyWhileItsEndpointIsHealthy) {
  TmProfile p = profile("app", TmRoutingMethod::kPerformance,
                        {region("eu", 1), with_subnets(region("us", 2), {"198.51.100.0/24"})});
  Tm tm({p});
  tm.latency.set("paris", "eu", 10ms);
  tm.latency.set("paris", "us", 80ms);
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "paris", ip("198.51.100.7")), "us");
  EXPECT_EQ(tm.answer("app", "paris", ip("203.0.113.1")), "eu");
  tm.observe("app", "us", kDegraded);
  EXPECT_EQ(tm.answer("app", "paris", ip("198.51.100.7")), "eu");
}

// --- geographic ---

TmProfile geo_profile() {
  return profile(
      "app", TmRoutingMethod::kGeographic,
      {with_codes(region("california", 1), {"US-CA"}),
       with_codes(region("america", 2), {"US", "CA"}), with_codes(region("germany", 3), {"DE"})});
}

TEST(TmRouting, GeographicAnswersTheEndpointMappingTheClientsCode) {
  Tm tm({geo_profile()});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "DE"), "germany");
  EXPECT_EQ(tm.answer("app", "US"), "america");
  EXPECT_EQ(tm.answer("app", "US-CA"), "california");
  EXPECT_EQ(tm.answer("app", "CA"), "america");  // Canada, not California
}

TEST(TmRouting, GeographicGoesFromStateToCountryToWorld) {
  TmProfile p = geo_profile();
  p.endpoints.push_back(with_codes(region("rest", 4), {"WORLD"}));
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "US-TX"), "america");
  EXPECT_EQ(tm.answer("app", "FR"), "rest");
  EXPECT_EQ(tm.answer("app", "AU-QLD"), "rest");
  EXPECT_EQ(tm.answer("app", ""), "rest");
}

TEST(TmRouting, GeographicUnmappedClientGetsNoData) {
  Tm tm({geo_profile()});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "FR"), "NODATA");
  EXPECT_EQ(tm.answer("app", ""), "NODATA");
}

TEST(TmRouting, GeographicNeverFailsOverFromADegradedMatch) {
  TmProfile p = geo_profile();
  p.endpoints.push_back(with_codes(region("rest", 4), {"WORLD"}));
  Tm tm({p});
  tm.all_online().observe("app", "germany", kDegraded);
  TmResolution r = tm.resolve("app", "DE");
  ASSERT_EQ(r.kind, kAnswers);
  EXPECT_EQ(r.answers[0].endpoint, "germany");
  EXPECT_TRUE(r.fail_open);
  EXPECT_FALSE(tm.resolve("app", "US").fail_open);
}

TEST(TmRouting, GeographicStoppedMatchIsNoDataWithoutLookingHigherUp) {
  TmProfile p = geo_profile();
  p.endpoints.push_back(with_codes(region("rest", 4), {"WORLD"}));
  Tm tm({p});
  tm.all_online().stop("app", "california");
  EXPECT_EQ(tm.answer("app", "US-CA"), "NODATA");
  EXPECT_EQ(tm.answer("app", "US-NY"), "america");
}

TEST(TmRouting, GeographicDisabledEndpointTakesPartInNoMatch) {
  TmProfile p = geo_profile();
  p.endpoints[0].enabled = TmEnabled::kDisabled;
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "US-CA"), "america");
}

TEST(TmRouting, GeographicCodesMatchCaseInsensitively) {
  TmProfile p = geo_profile();
  p.endpoints[2].geo_codes = {"de"};
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "De"), "germany");
  EXPECT_EQ(tm.answer("app", "us-ca"), "california");
}

TEST(TmRouting, GeographicSubnetOverrideWinsWhateverTheHealth) {
  TmProfile p = geo_profile();
  p.endpoints[2] = with_subnets(p.endpoints[2], {"192.0.2.0/24"});
  Tm tm({p});
  tm.all_online().observe("app", "germany", kDegraded);
  EXPECT_EQ(tm.answer("app", "US", ip("192.0.2.9")), "germany");
  EXPECT_EQ(tm.answer("app", "US", ip("192.0.3.9")), "america");
}

TEST(TmRouting, GeographicMatchOnANestedEndpointResolvesTheChild) {
  TmProfile parent = profile("app", TmRoutingMethod::kGeographic,
                             {with_codes(nested("europe", "eu-pool"), {"DE", "FR"}),
                              with_codes(region("rest", 2), {"WORLD"})});
  TmProfile pool =
      profile("eu-pool", TmRoutingMethod::kPriority, {region("frankfurt", 1), region("paris", 2)});
  Tm tm({parent, pool});
  tm.all_online().observe("eu-pool", "frankfurt", kDegraded);
  TmResolution r = tm.resolve("app", "FR");
  ASSERT_EQ(r.kind, kAnswers);
  EXPECT_EQ(r.answers[0], (TmAnswer{"eu-pool", "paris", "paris.drsim.test:7000"}));
  EXPECT_FALSE(r.fail_open);
}

// --- multivalue ---

TmProfile mv_profile(uint32_t max_return = 2) {
  TmProfile p = profile("mv", TmRoutingMethod::kMultiValue,
                        {ip_endpoint("a", "192.0.2.1"), ip_endpoint("b", "192.0.2.2"),
                         ip_endpoint("c", "2001:db8::3"), ip_endpoint("d", "192.0.2.4")});
  p.max_return = max_return;
  return p;
}

TEST(TmRouting, MultivalueAnswersTwoHealthyEndpointsByDefault) {
  Tm tm({mv_profile()});
  tm.all_online();
  TmResolution r = tm.resolve("mv");
  ASSERT_EQ(r.kind, kAnswers);
  ASSERT_EQ(r.answers.size(), 2u);
  EXPECT_EQ(r.answers[0].address, "192.0.2.1");
  EXPECT_EQ(r.answers[1].address, "192.0.2.2");
}

TEST(TmRouting, MultivalueSkipsDegradedEndpoints) {
  Tm tm({mv_profile(3)});
  tm.all_online().observe("mv", "b", kDegraded);
  EXPECT_EQ(tm.answer("mv"), "a,c,d");
}

TEST(TmRouting, MultivalueAnswersEveryHealthyEndpointWhenFewerThanMaxReturn) {
  Tm tm({mv_profile(10)});
  tm.all_online().observe("mv", "a", kDegraded).observe("mv", "d", kDegraded);
  EXPECT_EQ(tm.answer("mv"), "b,c");
  TmProfile one = mv_profile(1);
  Tm tm1({one});
  tm1.all_online();
  EXPECT_EQ(tm1.answer("mv"), "a");
}

TEST(TmRouting, MultivalueFailsOpenWhenAllAreDegraded) {
  Tm tm({mv_profile(3)});
  for (const char* e : {"a", "b", "c", "d"}) tm.observe("mv", e, kDegraded);
  TmResolution r = tm.resolve("mv");
  EXPECT_EQ(r.answers.size(), 3u);
  EXPECT_TRUE(r.fail_open);
}

// --- subnet ---

TmProfile subnet_profile() {
  return profile(
      "app", TmRoutingMethod::kSubnet,
      {with_subnets(region("office", 1), {"10.0.0.0/8", "2001:db8::/32"}),
       with_subnets(region("isp", 2), {"198.51.100.10-198.51.100.20"}), region("everyone", 3)});
}

TEST(TmRouting, SubnetAnswersTheEndpointMappingTheClientAddress) {
  Tm tm({subnet_profile()});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "", ip("10.20.30.40")), "office");
  EXPECT_EQ(tm.answer("app", "", ip("2001:db8:1::1")), "office");
  EXPECT_EQ(tm.answer("app", "", ip("198.51.100.20")), "isp");
}

TEST(TmRouting, SubnetUnmappedAddressGoesToTheFallbackEndpoint) {
  Tm tm({subnet_profile()});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "", ip("198.51.100.21")), "everyone");
  EXPECT_EQ(tm.answer("app", "", std::nullopt), "everyone");
}

TEST(TmRouting, SubnetUnmappedAddressWithoutFallbackGetsNoData) {
  TmProfile p = subnet_profile();
  p.endpoints.pop_back();
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "", ip("203.0.113.1")), "NODATA");
  EXPECT_EQ(tm.answer("app", "", std::nullopt), "NODATA");
}

TEST(TmRouting, SubnetMappedDegradedEndpointGetsNoDataNotTheFallback) {
  Tm tm({subnet_profile()});
  tm.all_online().observe("app", "office", kDegraded);
  EXPECT_EQ(tm.answer("app", "", ip("10.1.1.1")), "NODATA");
  tm.observe("app", "everyone", kDegraded);
  EXPECT_EQ(tm.answer("app", "", ip("203.0.113.1")), "NODATA");
  EXPECT_EQ(tm.answer("app", "", ip("198.51.100.15")), "isp");
}

TEST(TmRouting, SubnetDisabledEndpointActsAsIfAbsent) {
  TmProfile p = subnet_profile();
  p.endpoints[0].enabled = TmEnabled::kDisabled;
  Tm tm({p});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "", ip("10.1.1.1")), "everyone");
}

// --- nested profiles ---

// app: priority [pool (nested, min_children) → backup]; pool: weighted a, b, c.
Tm nested_world(uint32_t min_children) {
  TmProfile app = profile("app", TmRoutingMethod::kPriority,
                          {nested("pool", "pool", 1, min_children), region("backup", 2)});
  TmProfile pool =
      profile("pool", TmRoutingMethod::kWeighted, {region("a"), region("b"), region("c")});
  Tm tm({app, pool});
  tm.all_online();
  return tm;
}

TEST(TmRouting, NestedEndpointAnswersFromTheChildByTheChildsMethod) {
  Tm tm = nested_world(1);
  std::map<std::string, int> counts = tm.tally("app", 3'000);
  EXPECT_EQ(counts.count("backup"), 0u);
  for (const char* e : {"a", "b", "c"}) EXPECT_NEAR(counts[e], 1'000, 150) << e;
  EXPECT_EQ(tm.resolve("app").answers[0].profile, "pool");
}

TEST(TmRouting, NestedFailsOverWhenTheChildFallsBelowMinChildEndpoints) {
  Tm tm = nested_world(2);
  tm.observe("pool", "a", kDegraded);
  std::map<std::string, int> counts = tm.tally("app", 200);
  EXPECT_EQ(counts.count("backup"), 0u);  // b and c: still two
  EXPECT_EQ(counts.count("a"), 0u);
  tm.observe("pool", "b", kDegraded);
  EXPECT_EQ(tm.answer("app"), "backup");
  tm.observe("pool", "a", kOnline);
  EXPECT_NE(tm.answer("app"), "backup");  // back at the minimum: back to the child
}

TEST(TmRouting, NestedWithDefaultMinimumHoldsOnToTheLastHealthyChild) {
  Tm tm = nested_world(1);
  tm.observe("pool", "a", kDegraded).observe("pool", "b", kDegraded);
  EXPECT_EQ(tm.tally("app", 50)["c"], 50);
  tm.observe("pool", "c", kDegraded);
  EXPECT_EQ(tm.answer("app"), "backup");
}

TEST(TmRouting, NestedDisabledChildProfileFailsOverToTheNextEndpoint) {
  TmProfile app =
      profile("app", TmRoutingMethod::kPriority, {nested("pool", "pool", 1), region("backup", 2)});
  TmProfile pool = profile("pool", TmRoutingMethod::kPriority, {region("a")});
  pool.enabled = TmEnabled::kDisabled;
  Tm tm({app, pool});
  tm.all_online();
  EXPECT_EQ(tm.answer("app"), "backup");
  EXPECT_EQ(tm.answer("pool"), "NXDOMAIN");
}

TEST(TmRouting, NestedFailOpenReachesThroughTheChild) {
  TmProfile app = profile("app", TmRoutingMethod::kPriority, {nested("pool", "pool", 1)});
  TmProfile pool = profile("pool", TmRoutingMethod::kPriority, {region("a", 1), region("b", 2)});
  Tm tm({app, pool});
  tm.observe("pool", "a", kDegraded).observe("pool", "b", kDegraded);
  TmResolution r = tm.resolve("app");
  ASSERT_EQ(r.kind, kAnswers);
  EXPECT_EQ(r.answers[0].endpoint, "a");
  EXPECT_TRUE(r.fail_open);
}

TEST(TmRouting, NestedMultivalueChildNeedsItsIpv4Minimum) {
  TmEndpoint kid = nested("mv", "mv", 1, 1);
  kid.min_child_ipv4 = 3;
  TmProfile app = profile("app", TmRoutingMethod::kPriority, {kid, region("backup", 2)});
  Tm tm({app, mv_profile(4)});
  tm.all_online();
  EXPECT_EQ(tm.answer("app"), "a,b,c,d");  // three IPv4 Online: the child answers, all four
  tm.observe("mv", "d", kDegraded);
  EXPECT_EQ(tm.answer("app"), "backup");  // two IPv4 left, though three endpoints are Online
}

TEST(TmRouting, TenLevelsOfNestingResolveToTheLeaf) {
  std::vector<TmProfile> profiles;
  for (int i = 0; i < 10; ++i) {
    const std::string name = "p" + std::to_string(i);
    if (i < 9) {
      profiles.push_back(
          profile(name, TmRoutingMethod::kPriority, {nested("down", "p" + std::to_string(i + 1))}));
    } else {
      profiles.push_back(profile(name, TmRoutingMethod::kPriority, {region("leaf")}));
    }
  }
  Tm tm(profiles);
  ASSERT_EQ(tm.set().depth(0), 10u);
  tm.all_online();
  TmResolution r = tm.resolve("p0");
  ASSERT_EQ(r.kind, kAnswers);
  EXPECT_EQ(r.answers[0], (TmAnswer{"p9", "leaf", "leaf.drsim.test:7000"}));
  tm.stop("p9", "leaf");  // every level above turns Stopped, up to an Inactive root
  EXPECT_EQ(tm.answer("p0"), "NXDOMAIN");
}

TEST(TmRouting, NestedChildThatAnswersNoDataGivesNoData) {
  TmProfile app = profile("app", TmRoutingMethod::kPriority, {nested("geo", "geo")});
  TmProfile geo =
      profile("geo", TmRoutingMethod::kGeographic, {with_codes(region("germany"), {"DE"})});
  Tm tm({app, geo});
  tm.all_online();
  EXPECT_EQ(tm.answer("app", "DE"), "germany");
  EXPECT_EQ(tm.answer("app", "FR"), "NODATA");
}

TEST(TmRouting, ResolutionKindNames) {
  EXPECT_STREQ(tm_resolution_kind_name(kNoData), "NODATA");
  EXPECT_STREQ(tm_resolution_kind_name(kNxDomain), "NXDOMAIN");
}

// route_summary: what each method may answer, independent of one query.

TEST(TmRouteSummary, PriorityIsTheOneEndpointResolveAnswersAndFollowsFailOpen) {
  Tm tm({profile("app", TmRoutingMethod::kPriority, {region("east", 1), region("west", 2)})});
  EXPECT_EQ(tm.route("app"), "east");  // both CheckingEndpoint: served
  tm.observe("app", "east", kDegraded).observe("app", "west", kOnline);
  EXPECT_EQ(tm.route("app"), "west");
  tm.observe("app", "west", kDegraded);
  EXPECT_EQ(tm.route("app"), "east (fail open)");
}

TEST(TmRouteSummary, WeightedAndMultivalueListTheServedEndpoints) {
  Tm tm({profile("w", TmRoutingMethod::kWeighted, {region("a"), region("b"), region("c")}),
         profile("m", TmRoutingMethod::kMultiValue,
                 {ip_endpoint("x", "10.0.0.1"), ip_endpoint("y", "10.0.0.2"),
                  ip_endpoint("z", "10.0.0.3")})});
  tm.all_online().observe("w", "b", kDegraded).observe("m", "x", kDegraded);
  EXPECT_EQ(tm.route("w"), "a,c");
  EXPECT_EQ(tm.route("m"), "y,z");  // max_return 2
  tm.observe("m", "y", kDegraded).observe("m", "z", kDegraded);
  EXPECT_EQ(tm.route("m"), "x,y (fail open)");
}

TEST(TmRouteSummary, GeographicKeepsDegradedMatchesAndSubnetDropsThem) {
  Tm tm({profile("g", TmRoutingMethod::kGeographic,
                 {with_codes(region("eu"), {"DE"}), with_codes(region("us"), {"WORLD"})}),
         profile("s", TmRoutingMethod::kSubnet,
                 {with_subnets(region("lan"), {"10.0.0.0/8"}), region("rest")})});
  tm.all_online().observe("g", "eu", kDegraded).observe("s", "lan", kDegraded);
  EXPECT_EQ(tm.route("g"), "eu,us");  // geographic never fails over
  EXPECT_EQ(tm.route("s"), "rest");
}

TEST(TmRouteSummary, DisabledProfileRoutesNothing) {
  TmProfile p = profile("off", TmRoutingMethod::kPriority, {region("a")});
  p.enabled = TmEnabled::kDisabled;
  Tm tm({p});
  EXPECT_EQ(tm.route("off"), "(none)");
}

TEST(TmRouteSummary, NestedEndpointLeavesThePriorityRouteWhenTheChildFallsBelowItsMinimum) {
  Tm tm({profile("parent", TmRoutingMethod::kPriority,
                 {nested("child-ep", "child", 1, 2), region("backup", 2)}),
         profile("child", TmRoutingMethod::kWeighted, {region("c1"), region("c2")})});
  tm.all_online();
  EXPECT_EQ(tm.route("parent"), "child-ep");
  tm.observe("child", "c1", kDegraded);  // 1 Online < min 2: the nested endpoint is Degraded
  EXPECT_EQ(tm.route("parent"), "backup");
}

}  // namespace
}  // namespace drsim::model
