// TmProfile and TmProfileSet validation: names, TTL, endpoint limits and fields, per-method
// rules (unique priorities, geo codes, locations, multivalue IPs, subnets), nesting (targets
// exist, no cycle, at most 10 levels).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/model/trafficmgr/profile.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr auto kAzure = TmTimingRules::kAzure;
constexpr auto kScaled = TmTimingRules::kScaled;

TmEndpoint region(std::string name, uint32_t priority) {
  TmEndpoint e;
  e.name = name;
  e.target = "127.0.0.1:" + std::to_string(5000 + priority);
  e.priority = priority;
  e.location = name;
  return e;
}

TmEndpoint external(std::string name, std::string target) {
  TmEndpoint e;
  e.name = std::move(name);
  e.kind = TmEndpointKind::kExternal;
  e.target = std::move(target);
  return e;
}

TmEndpoint nested(std::string name, std::string child, uint32_t priority = 1) {
  TmEndpoint e;
  e.name = std::move(name);
  e.kind = TmEndpointKind::kNested;
  e.target = std::move(child);
  e.priority = priority;
  return e;
}

TmProfile profile(std::string name, TmRoutingMethod routing, std::vector<TmEndpoint> endpoints) {
  TmProfile p;
  p.name = std::move(name);
  p.routing = routing;
  p.endpoints = std::move(endpoints);
  return p;
}

TmProfile two_regions() {
  return profile("app", TmRoutingMethod::kPriority, {region("east", 1), region("west", 2)});
}

TmIpRange cidr(const char* text) { return parse_ip_range(text).value(); }

std::string error(const TmProfile& p, TmTimingRules rules = kAzure) {
  return p.validate(rules).message();
}

TEST(TmProfile, TwoRegionPriorityProfileIsValid) {
  EXPECT_TRUE(two_regions().validate(kAzure).is_ok());
  EXPECT_EQ(two_regions().endpoint_index("west"), 1u);
  EXPECT_FALSE(two_regions().endpoint_index("north").has_value());
}

TEST(TmProfile, NameMustBeADnsName) {
  for (const char* good : {"drsim", "app.trafficmanager.test", "a-b", "A1", "x.y-z.0"}) {
    EXPECT_TRUE(validate_tm_profile_name(good).is_ok()) << good;
  }
  for (const char* bad : {"", "-a", "a-", "a..b", ".a", "a.", "a b", "a_b", "app/x"}) {
    EXPECT_FALSE(validate_tm_profile_name(bad).is_ok()) << bad;
  }
  EXPECT_TRUE(validate_tm_profile_name(std::string(63, 'a')).is_ok());
  EXPECT_FALSE(validate_tm_profile_name(std::string(64, 'a')).is_ok());
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  EXPECT_FALSE(validate_tm_profile_name(long_name.substr(0, 254)).is_ok());
  TmProfile p = two_regions();
  p.name = "bad name";
  EXPECT_EQ(error(p).rfind("profile \"bad name\": \"bad name\" is not a DNS name", 0), 0u);
}

TEST(TmProfile, TtlRangesFromZeroToIntMaxSeconds) {
  TmProfile p = two_regions();
  for (auto ttl : {0s, 1s, 300s, 2'147'483'647s}) {
    p.ttl = ttl;
    EXPECT_TRUE(p.validate(kAzure).is_ok()) << ttl.count();
  }
  p.ttl = 2'147'483'648s;
  EXPECT_EQ(error(p), "profile \"app\": ttl: 2147483648000ms is out of range 0..2147483647s");
  p.ttl = -1ms;
  EXPECT_FALSE(p.validate(kScaled).is_ok());
}

TEST(TmProfile, SubSecondTtlOnlyWithScaledRules) {
  TmProfile p = two_regions();
  p.monitor.interval = 100ms;
  p.monitor.timeout = 50ms;
  p.ttl = 500ms;
  EXPECT_TRUE(p.validate(kScaled).is_ok());
  p.monitor = TmMonitorConfig{};
  EXPECT_EQ(error(p, kAzure), "profile \"app\": ttl: 500ms must be whole seconds");
}

TEST(TmProfile, MonitorErrorsNameTheProfileAndField) {
  TmProfile p = two_regions();
  p.monitor.interval = 100ms;
  p.monitor.timeout = 50ms;
  EXPECT_EQ(error(p, kAzure),
            "profile \"app\": monitor.interval: 100ms must be 10s or 30s (scaled timing rules "
            "allow others)");
}

TEST(TmProfile, AtMostTwoHundredEndpoints) {
  TmProfile p = profile("app", TmRoutingMethod::kWeighted, {});
  for (uint32_t i = 1; i <= 200; ++i) p.endpoints.push_back(region("r" + std::to_string(i), i));
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints.push_back(region("r201", 201));
  EXPECT_EQ(error(p), "profile \"app\": endpoints: 201 endpoints, at most 200");
}

TEST(TmProfile, EndpointNamesAreRequiredAndUnique) {
  TmProfile p = two_regions();
  p.endpoints[1].name = "east";
  EXPECT_EQ(error(p), "profile \"app\": endpoints[east].name: \"east\" is used twice");
  p.endpoints[1].name = "";
  EXPECT_EQ(error(p), "profile \"app\": endpoints[1].name: must not be empty");
}

TEST(TmProfile, EndpointTargetIsRequiredWithoutSpaces) {
  TmProfile p = two_regions();
  p.endpoints[0].target = "";
  EXPECT_EQ(error(p), "profile \"app\": endpoints[east].target: must not be empty");
  p.endpoints[0].target = "a b:1";
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, PriorityIsOneToThousand) {
  TmProfile p = two_regions();
  p.endpoints[1].priority = 1000;
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints[1].priority = 1001;
  EXPECT_EQ(error(p), "profile \"app\": endpoints[west].priority: 1001 is out of range 1..1000");
  p.endpoints[1].priority = 0;
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, PrioritiesAreUniqueOnlyInPriorityProfiles) {
  TmProfile p = two_regions();
  p.endpoints[1].priority = 1;
  EXPECT_EQ(error(p), "profile \"app\": endpoints[west].priority: 1 is already endpoints[east]'s");
  p.routing = TmRoutingMethod::kWeighted;
  EXPECT_TRUE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, WeightIsOneToThousand) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kWeighted;
  p.endpoints[0].weight = 1000;
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints[0].weight = 0;
  EXPECT_EQ(error(p), "profile \"app\": endpoints[east].weight: 0 is out of range 1..1000");
  p.endpoints[0].weight = 1001;
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, GeoCodeMapsToAtMostOneEndpointCaseInsensitively) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kGeographic;
  p.endpoints[0].geo_codes = {"DE", "FR"};
  p.endpoints[1].geo_codes = {"WORLD"};
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints[1].geo_codes = {"WORLD", "de"};
  EXPECT_EQ(error(p),
            "profile \"app\": endpoints[west].geo_codes: \"de\" is already mapped to "
            "endpoints[east]");
  p.endpoints[1].geo_codes = {"WORLD", "WORLD"};
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, GeographicProfileNeedsCodesOnEveryEndpoint) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kGeographic;
  p.endpoints[0].geo_codes = {"WORLD"};
  EXPECT_EQ(error(p),
            "profile \"app\": endpoints[west].geo_codes: geographic routing needs at least one");
}

TEST(TmProfile, GeoCodesAreLettersDigitsAndInnerDashes) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kGeographic;
  p.endpoints[1].geo_codes = {"WORLD"};
  for (const char* good : {"US-CA", "GEO-EU", "de", "AU-QLD"}) {
    p.endpoints[0].geo_codes = {good};
    EXPECT_TRUE(p.validate(kAzure).is_ok()) << good;
  }
  for (const char* bad : {"", "-US", "US-", "U S", "US_CA", "ÄT"}) {
    p.endpoints[0].geo_codes = {bad};
    EXPECT_FALSE(p.validate(kAzure).is_ok()) << bad;
  }
}

TEST(TmProfile, PerformanceProfileNeedsEveryLocation) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kPerformance;
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints[1].location = "";
  EXPECT_EQ(error(p),
            "profile \"app\": endpoints[west].location: performance routing needs the location");
}

TEST(TmProfile, MultivalueTakesOnlyExternalIpEndpoints) {
  TmProfile p = profile("mv", TmRoutingMethod::kMultiValue,
                        {external("a", "192.0.2.1"), external("b", "2001:db8::2")});
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  const std::string why =
      ".target: multivalue routing takes only external endpoints given as IPv4 or IPv6 addresses";
  p.endpoints.push_back(external("c", "www.contoso.com"));
  EXPECT_EQ(error(p), "profile \"mv\": endpoints[c]" + why);
  p.endpoints.back() = region("c", 3);
  EXPECT_FALSE(p.validate(kAzure).is_ok());
  p.endpoints.back() = nested("c", "child");
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, MaxReturnIsOneToTen) {
  TmProfile p = two_regions();
  p.max_return = 10;
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.max_return = 0;
  EXPECT_EQ(error(p), "profile \"app\": max_return: 0 is out of range 1..10");
  p.max_return = 11;
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, SubnetsOnlyWhereARoutingMethodReadsThem) {
  for (auto method : {TmRoutingMethod::kSubnet, TmRoutingMethod::kPerformance}) {
    TmProfile p = two_regions();
    p.routing = method;
    p.endpoints[0].subnets = {cidr("10.0.0.0/8")};
    EXPECT_TRUE(p.validate(kAzure).is_ok()) << tm_routing_method_name(method);
  }
  for (auto method : {TmRoutingMethod::kPriority, TmRoutingMethod::kWeighted}) {
    TmProfile p = two_regions();
    p.routing = method;
    p.endpoints[0].subnets = {cidr("10.0.0.0/8")};
    EXPECT_FALSE(p.validate(kAzure).is_ok()) << tm_routing_method_name(method);
  }
  TmProfile p = two_regions();
  p.endpoints[0].subnets = {cidr("10.0.0.0/8")};
  EXPECT_EQ(error(p),
            "profile \"app\": endpoints[east].subnets: priority routing does not use subnets");
}

TEST(TmProfile, SubnetRangesOfTwoEndpointsMayNotOverlap) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kSubnet;
  p.endpoints[0].subnets = {cidr("10.0.0.0/16"), cidr("10.0.0.0/24")};  // same endpoint: fine
  p.endpoints[1].subnets = {cidr("10.1.0.0/16")};
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints[1].subnets = {cidr("192.0.2.0/24"), cidr("10.0.255.0-10.1.0.0")};
  EXPECT_EQ(error(p),
            "profile \"app\": endpoints[west].subnets: 10.0.255.0-10.1.0.0 overlaps "
            "10.0.0.0-10.0.255.255 of endpoints[east]");
}

TEST(TmProfile, SubnetProfileHasAtMostOneFallbackEndpoint) {
  TmProfile p = two_regions();
  p.routing = TmRoutingMethod::kSubnet;
  p.endpoints.push_back(region("north", 3));
  p.endpoints[0].subnets = {cidr("10.0.0.0/8")};
  EXPECT_EQ(error(p),
            "profile \"app\": endpoints[north].subnets: a second fallback endpoint (no ranges)");
  p.endpoints[2].subnets = {cidr("11.0.0.0/8")};
  EXPECT_TRUE(p.validate(kAzure).is_ok());
}

TEST(TmProfile, MinChildEndpointsIsOneToTwoHundredOnNestedEndpointsOnly) {
  TmProfile p = profile("parent", TmRoutingMethod::kPriority, {nested("kid", "child")});
  p.endpoints[0].min_child_endpoints = 200;
  p.endpoints[0].min_child_ipv4 = 200;
  p.endpoints[0].min_child_ipv6 = 0;
  EXPECT_TRUE(p.validate(kAzure).is_ok());
  p.endpoints[0].min_child_endpoints = 0;
  EXPECT_EQ(error(p),
            "profile \"parent\": endpoints[kid].min_child_endpoints: 0 is out of range 1..200");
  p.endpoints[0].min_child_endpoints = 1;
  p.endpoints[0].min_child_ipv6 = 201;
  EXPECT_FALSE(p.validate(kAzure).is_ok());
  TmProfile q = two_regions();
  q.endpoints[0].min_child_endpoints = 2;
  EXPECT_EQ(error(q),
            "profile \"app\": endpoints[east].min_child_endpoints: only nested endpoints have "
            "children");
}

TEST(TmProfile, NestedTargetMustBeAProfileName) {
  TmProfile p = profile("parent", TmRoutingMethod::kPriority, {nested("kid", "not_a_name")});
  EXPECT_FALSE(p.validate(kAzure).is_ok());
}

// --- TmProfileSet ---

// p0 -> p1 -> ... -> p(n-1), each with one nested endpoint and the last with a region.
std::vector<TmProfile> chain(size_t n) {
  std::vector<TmProfile> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = "p" + std::to_string(i);
    if (i + 1 < n) {
      out.push_back(
          profile(name, TmRoutingMethod::kPriority, {nested("next", "p" + std::to_string(i + 1))}));
    } else {
      out.push_back(profile(name, TmRoutingMethod::kPriority, {region("leaf", 1)}));
    }
  }
  return out;
}

TEST(TmProfileSet, FindsProfilesCaseInsensitively) {
  auto set = TmProfileSet::create({two_regions(), chain(1)[0]}, kAzure);
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(set->index_of("APP"), 0u);
  EXPECT_EQ(set->find("P0")->name, "p0");
  EXPECT_EQ(set->find("missing"), nullptr);
}

TEST(TmProfileSet, ProfileNamesAreUniqueCaseInsensitively) {
  TmProfile a = two_regions();
  TmProfile b = two_regions();
  b.name = "APP";
  auto set = TmProfileSet::create({a, b}, kAzure);
  ASSERT_FALSE(set.is_ok());
  EXPECT_EQ(set.status().message(), "profile \"APP\": name: used twice");
}

TEST(TmProfileSet, EveryProfileIsValidatedWithTheSetsTimingRules) {
  TmProfile p = two_regions();
  p.monitor.interval = 100ms;
  p.monitor.timeout = 50ms;
  EXPECT_TRUE(TmProfileSet::create({p}, kScaled).is_ok());
  EXPECT_FALSE(TmProfileSet::create({p}, kAzure).is_ok());
}

TEST(TmProfileSet, NestedEndpointMustNameAProfileInTheSet) {
  auto set = TmProfileSet::create(
      {profile("parent", TmRoutingMethod::kPriority, {nested("kid", "child")})}, kAzure);
  ASSERT_FALSE(set.is_ok());
  EXPECT_EQ(set.status().message(),
            "profile \"parent\": endpoints[kid].target: no profile \"child\" in the set");
}

TEST(TmProfileSet, ChildIndexPointsAtTheNestedProfile) {
  auto set = TmProfileSet::create(chain(3), kAzure);
  ASSERT_TRUE(set.is_ok());
  EXPECT_EQ(set->child_index(0, 0), 1u);
  EXPECT_EQ(set->child_index(1, 0), 2u);
}

TEST(TmProfileSet, TenLevelsOfNestingAreAccepted) {
  auto set = TmProfileSet::create(chain(10), kAzure);
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(set->depth(0), 10u);
  EXPECT_EQ(set->depth(9), 1u);
}

TEST(TmProfileSet, ElevenLevelsOfNestingAreRefused) {
  auto set = TmProfileSet::create(chain(11), kAzure);
  ASSERT_FALSE(set.is_ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(), "profile \"p0\": nesting is 11 profiles deep, at most 10");
}

TEST(TmProfileSet, ElevenLevelsAreRefusedWhateverTheOrderOfProfiles) {
  std::vector<TmProfile> profiles = chain(11);
  std::reverse(profiles.begin(), profiles.end());
  EXPECT_FALSE(TmProfileSet::create(profiles, kAzure).is_ok());
}

TEST(TmProfileSet, SelfNestingIsACycle) {
  auto set = TmProfileSet::create(
      {profile("loop", TmRoutingMethod::kPriority, {nested("me", "LOOP")})}, kAzure);
  ASSERT_FALSE(set.is_ok());
  EXPECT_EQ(set.status().message(), "profile \"loop\": nesting cycle loop -> loop");
}

TEST(TmProfileSet, CycleThroughSeveralProfilesIsRefused) {
  std::vector<TmProfile> profiles = chain(3);
  profiles[2].endpoints.push_back(nested("back", "p1", 2));
  auto set = TmProfileSet::create(profiles, kAzure);
  ASSERT_FALSE(set.is_ok());
  EXPECT_EQ(set.status().message(), "profile \"p1\": nesting cycle p1 -> p2 -> p1");
}

TEST(TmProfileSet, SharedChildIsNotACycle) {
  // Two parents (and two endpoints of one parent) may nest the same child.
  TmProfile child = profile("child", TmRoutingMethod::kPriority, {region("east", 1)});
  TmProfile a =
      profile("a", TmRoutingMethod::kPriority, {nested("x", "child", 1), nested("y", "child", 2)});
  TmProfile b =
      profile("b", TmRoutingMethod::kPriority, {nested("x", "child"), nested("z", "a", 2)});
  auto set = TmProfileSet::create({b, a, child}, kAzure);
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(set->depth(0), 3u);
  EXPECT_EQ(set->depth(1), 2u);
}

TEST(TmProfileSet, EmptySetIsValid) {
  auto set = TmProfileSet::create({}, kAzure);
  ASSERT_TRUE(set.is_ok());
  EXPECT_TRUE(set->profiles().empty());
}

}  // namespace
}  // namespace drsim::model
