// Endpoint and profile monitor status rules (Azure's tables), the nested-endpoint rule with
// min_child_endpoints and the IPv4 / IPv6 minimums, and the snapshot over a profile set.
#include <gtest/gtest.h>

#include <vector>

#include "common/model/trafficmgr/status.h"

namespace drsim::model {
namespace {

using EMS = TmEndpointMonitorStatus;
using PMS = TmProfileMonitorStatus;

constexpr auto kOn = TmEnabled::kEnabled;
constexpr auto kOff = TmEnabled::kDisabled;

TmEndpoint monitored(TmEnabled enabled = kOn, TmServeMode serve = TmServeMode::kMonitored) {
  TmEndpoint e;
  e.name = "e";
  e.target = "127.0.0.1:1";
  e.enabled = enabled;
  e.serve = serve;
  return e;
}

TmEndpoint nested(uint32_t min_children, uint32_t min_ipv4 = 0, uint32_t min_ipv6 = 0) {
  TmEndpoint e;
  e.name = "kid";
  e.kind = TmEndpointKind::kNested;
  e.target = "child";
  e.min_child_endpoints = min_children;
  e.min_child_ipv4 = min_ipv4;
  e.min_child_ipv6 = min_ipv6;
  return e;
}

TmObservation probe(EndpointStatus s, TmTargetState target = TmTargetState::kRunning) {
  return TmObservation{s, target};
}

TmChildHealth child(PMS status, uint32_t online, uint32_t checking) {
  TmChildHealth c;
  c.status = status;
  c.online = online;
  c.checking = checking;
  return c;
}

PMS profile_of(TmEnabled enabled, std::vector<EMS> endpoints) {
  return profile_monitor_status(enabled, endpoints);
}

// --- region and external endpoints ---

TEST(TmStatus, EndpointStatusFollowsTheProbeWhenEverythingIsEnabled) {
  EXPECT_EQ(monitored_endpoint_status(kOn, monitored(), probe(EndpointStatus::kCheckingEndpoint)),
            EMS::kCheckingEndpoint);
  EXPECT_EQ(monitored_endpoint_status(kOn, monitored(), probe(EndpointStatus::kOnline)),
            EMS::kOnline);
  EXPECT_EQ(monitored_endpoint_status(kOn, monitored(), probe(EndpointStatus::kDegraded)),
            EMS::kDegraded);
}

TEST(TmStatus, DisabledEndpointIsDisabledEvenInADisabledProfile) {
  for (TmEnabled profile : {kOn, kOff}) {
    EXPECT_EQ(monitored_endpoint_status(profile, monitored(kOff), probe(EndpointStatus::kOnline)),
              EMS::kDisabled);
  }
}

TEST(TmStatus, EnabledEndpointOfADisabledProfileIsInactive) {
  EXPECT_EQ(monitored_endpoint_status(kOff, monitored(), probe(EndpointStatus::kOnline)),
            EMS::kInactive);
  EXPECT_EQ(monitored_endpoint_status(kOff, monitored(),
                                      probe(EndpointStatus::kOnline, TmTargetState::kStopped)),
            EMS::kInactive);
}

TEST(TmStatus, StoppedTargetIsStoppedWhateverTheProbeSays) {
  for (auto s :
       {EndpointStatus::kOnline, EndpointStatus::kDegraded, EndpointStatus::kCheckingEndpoint}) {
    EXPECT_EQ(monitored_endpoint_status(kOn, monitored(), probe(s, TmTargetState::kStopped)),
              EMS::kStopped);
  }
  // Always-serve skips probes, not the target's state.
  EXPECT_EQ(monitored_endpoint_status(kOn, monitored(kOn, TmServeMode::kAlwaysServe),
                                      probe(EndpointStatus::kOnline, TmTargetState::kStopped)),
            EMS::kStopped);
}

TEST(TmStatus, AlwaysServeIgnoresProbeResults) {
  const TmEndpoint e = monitored(kOn, TmServeMode::kAlwaysServe);
  EXPECT_EQ(monitored_endpoint_status(kOn, e, probe(EndpointStatus::kDegraded)), EMS::kAlwaysServe);
  EXPECT_EQ(monitored_endpoint_status(kOn, e, probe(EndpointStatus::kCheckingEndpoint)),
            EMS::kAlwaysServe);
  EXPECT_EQ(monitored_endpoint_status(kOff, e, probe(EndpointStatus::kOnline)), EMS::kInactive);
}

TEST(TmStatus, OnlineCheckingAndAlwaysServeAreServed) {
  EXPECT_TRUE(is_served(EMS::kOnline));
  EXPECT_TRUE(is_served(EMS::kCheckingEndpoint));
  EXPECT_TRUE(is_served(EMS::kAlwaysServe));
  for (EMS s : {EMS::kDegraded, EMS::kStopped, EMS::kDisabled, EMS::kInactive}) {
    EXPECT_FALSE(is_served(s)) << tm_endpoint_monitor_status_name(s);
  }
}

TEST(TmStatus, NamesAreAzures) {
  EXPECT_STREQ(tm_endpoint_monitor_status_name(EMS::kCheckingEndpoint), "CheckingEndpoint");
  EXPECT_STREQ(tm_endpoint_monitor_status_name(EMS::kAlwaysServe), "Unmonitored");
  EXPECT_STREQ(tm_endpoint_monitor_status_name(EMS::kStopped), "Stopped");
  EXPECT_STREQ(tm_profile_monitor_status_name(PMS::kCheckingEndpoints), "CheckingEndpoints");
  EXPECT_STREQ(tm_profile_monitor_status_name(PMS::kInactive), "Inactive");
}

// --- nested endpoints ---

TEST(TmStatus, NestedEndpointOfDisabledOrInactiveChildIsStopped) {
  for (PMS s : {PMS::kDisabled, PMS::kInactive}) {
    EXPECT_EQ(nested_endpoint_status(kOn, nested(1), child(s, 5, 0)), EMS::kStopped);
  }
}

TEST(TmStatus, NestedEndpointDisabledByTheParentIsDisabledNotStopped) {
  TmEndpoint e = nested(1);
  e.enabled = kOff;
  EXPECT_EQ(nested_endpoint_status(kOn, e, child(PMS::kDisabled, 0, 0)), EMS::kDisabled);
  EXPECT_EQ(nested_endpoint_status(kOff, nested(1), child(PMS::kOnline, 1, 0)), EMS::kInactive);
}

TEST(TmStatus, NestedEndpointIsOnlineWithAtLeastMinChildrenOnline) {
  // The child's own status does not matter while the count is met: a Degraded child profile
  // (one endpoint down) still has two Online.
  EXPECT_EQ(nested_endpoint_status(kOn, nested(2), child(PMS::kDegraded, 2, 0)), EMS::kOnline);
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1), child(PMS::kOnline, 1, 0)), EMS::kOnline);
}

TEST(TmStatus, NestedEndpointIsCheckingWhenOnlinePlusCheckingMeetTheMinimum) {
  EXPECT_EQ(nested_endpoint_status(kOn, nested(2), child(PMS::kOnline, 1, 1)),
            EMS::kCheckingEndpoint);
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1), child(PMS::kCheckingEndpoints, 0, 3)),
            EMS::kCheckingEndpoint);
}

TEST(TmStatus, NestedEndpointIsDegradedBelowTheMinimum) {
  EXPECT_EQ(nested_endpoint_status(kOn, nested(2), child(PMS::kDegraded, 1, 0)), EMS::kDegraded);
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1), child(PMS::kDegraded, 0, 0)), EMS::kDegraded);
  // Azure: "If MinChildEndpoints is set too high, the endpoint is always degraded."
  EXPECT_EQ(nested_endpoint_status(kOn, nested(200), child(PMS::kOnline, 3, 0)), EMS::kDegraded);
}

TEST(TmStatus, NestedEndpointNeedsTheIpv4AndIpv6Minimums) {
  TmChildHealth c = child(PMS::kOnline, 3, 0);
  c.online_ipv4 = 2;
  c.online_ipv6 = 1;
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1, 2, 1), c), EMS::kOnline);
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1, 3, 0), c), EMS::kDegraded);
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1, 0, 2), c), EMS::kDegraded);
  c.checking_ipv6 = 1;
  EXPECT_EQ(nested_endpoint_status(kOn, nested(1, 0, 2), c), EMS::kCheckingEndpoint);
}

TEST(TmStatus, AlwaysServeNestedEndpointIgnoresChildHealthButNotAStoppedChild) {
  TmEndpoint e = nested(5);
  e.serve = TmServeMode::kAlwaysServe;
  EXPECT_EQ(nested_endpoint_status(kOn, e, child(PMS::kDegraded, 0, 0)), EMS::kAlwaysServe);
  EXPECT_EQ(nested_endpoint_status(kOn, e, child(PMS::kInactive, 0, 0)), EMS::kStopped);
}

// --- profiles ---

TEST(TmStatus, DisabledProfileIsDisabledWhateverItsEndpoints) {
  EXPECT_EQ(profile_of(kOff, {EMS::kOnline, EMS::kDegraded}), PMS::kDisabled);
  EXPECT_EQ(profile_of(kOff, {}), PMS::kDisabled);
}

TEST(TmStatus, AnyDegradedEndpointMakesTheProfileDegradedEvenWithOthersOnline) {
  EXPECT_EQ(profile_of(kOn, {EMS::kOnline, EMS::kDegraded}), PMS::kDegraded);
  EXPECT_EQ(profile_of(kOn, {EMS::kDegraded, EMS::kCheckingEndpoint, EMS::kDisabled}),
            PMS::kDegraded);
  EXPECT_EQ(profile_of(kOn, {EMS::kDegraded}), PMS::kDegraded);
}

TEST(TmStatus, ProfileIsOnlineWithAnOnlineEndpointAndNoneDegraded) {
  EXPECT_EQ(profile_of(kOn, {EMS::kOnline, EMS::kCheckingEndpoint, EMS::kStopped}), PMS::kOnline);
  EXPECT_EQ(profile_of(kOn, {EMS::kAlwaysServe, EMS::kDisabled}), PMS::kOnline);
}

TEST(TmStatus, ProfileIsCheckingEndpointsWhenNoneIsOnlineOrDegraded) {
  EXPECT_EQ(profile_of(kOn, {EMS::kCheckingEndpoint, EMS::kCheckingEndpoint}),
            PMS::kCheckingEndpoints);
  EXPECT_EQ(profile_of(kOn, {EMS::kCheckingEndpoint, EMS::kDisabled, EMS::kStopped}),
            PMS::kCheckingEndpoints);
}

TEST(TmStatus, ProfileIsInactiveWithNoEndpointsOrAllDisabledOrStopped) {
  EXPECT_EQ(profile_of(kOn, {}), PMS::kInactive);
  EXPECT_EQ(profile_of(kOn, {EMS::kDisabled, EMS::kDisabled}), PMS::kInactive);
  EXPECT_EQ(profile_of(kOn, {EMS::kStopped}), PMS::kInactive);
  EXPECT_EQ(profile_of(kOn, {EMS::kStopped, EMS::kDisabled}), PMS::kInactive);
}

// --- snapshot over a set ---

TmEndpoint region(std::string name, uint32_t priority) {
  TmEndpoint e;
  e.name = std::move(name);
  e.target = "127.0.0.1:" + std::to_string(6000 + priority);
  e.priority = priority;
  return e;
}

TmEndpoint ip_endpoint(std::string name, std::string ip) {
  TmEndpoint e;
  e.name = std::move(name);
  e.kind = TmEndpointKind::kExternal;
  e.target = std::move(ip);
  return e;
}

TmProfileSet parent_and_child(uint32_t min_children) {
  TmProfile child;
  child.name = "child";
  child.endpoints = {region("a", 1), region("b", 2), region("c", 3)};
  TmProfile parent;
  parent.name = "parent";
  TmEndpoint kid = nested(min_children);
  kid.priority = 1;
  parent.endpoints = {kid, region("backup", 2)};
  return TmProfileSet::create({parent, child}, TmTimingRules::kAzure).value();
}

TEST(TmStatusSnapshot, UnobservedEndpointsAreCheckingAndTheirProfileCheckingEndpoints) {
  TmProfileSet set = parent_and_child(1);
  TmStatusSnapshot snap = TmStatusSnapshot::compute(set, TmObservations{});
  ASSERT_EQ(snap.size(), 2u);
  const TmProfileHealth& child = snap.profile(1);
  EXPECT_EQ(child.status, PMS::kCheckingEndpoints);
  EXPECT_EQ(child.endpoints, (std::vector<EMS>(3, EMS::kCheckingEndpoint)));
  EXPECT_EQ(child.as_child.checking, 3u);
  EXPECT_EQ(snap.profile(0).endpoints[0], EMS::kCheckingEndpoint);
}

TEST(TmStatusSnapshot, NestedEndpointDegradesWhenChildFallsBelowMinimum) {
  TmProfileSet set = parent_and_child(2);
  TmObservations obs;
  for (const char* e : {"a", "b", "c"}) obs.set("child", e, probe(EndpointStatus::kOnline));
  obs.set("parent", "backup", probe(EndpointStatus::kOnline));
  EXPECT_EQ(TmStatusSnapshot::compute(set, obs).profile(0).endpoints[0], EMS::kOnline);

  obs.set("child", "a", probe(EndpointStatus::kDegraded));
  TmStatusSnapshot snap = TmStatusSnapshot::compute(set, obs);
  EXPECT_EQ(snap.profile(1).status, PMS::kDegraded);
  EXPECT_EQ(snap.profile(0).endpoints[0], EMS::kOnline);  // two of three still Online

  obs.set("child", "b", probe(EndpointStatus::kDegraded));
  snap = TmStatusSnapshot::compute(set, obs);
  EXPECT_EQ(snap.profile(1).as_child.online, 1u);
  EXPECT_EQ(snap.profile(0).endpoints[0], EMS::kDegraded);
  EXPECT_EQ(snap.profile(0).status, PMS::kDegraded);
}

TEST(TmStatusSnapshot, StoppedChildTargetsMakeTheNestedEndpointStopped) {
  TmProfileSet set = parent_and_child(1);
  TmObservations obs;
  for (const char* e : {"a", "b", "c"}) {
    obs.set("child", e, probe(EndpointStatus::kOnline, TmTargetState::kStopped));
  }
  TmStatusSnapshot snap = TmStatusSnapshot::compute(set, obs);
  EXPECT_EQ(snap.profile(1).status, PMS::kInactive);
  EXPECT_EQ(snap.profile(0).endpoints[0], EMS::kStopped);
}

TEST(TmStatusSnapshot, ObservationsMatchProfileNamesCaseInsensitively) {
  TmProfileSet set = parent_and_child(1);
  TmObservations obs;
  obs.set("CHILD", "a", probe(EndpointStatus::kDegraded));
  EXPECT_EQ(obs.get("child", "a").probe, EndpointStatus::kDegraded);
  EXPECT_EQ(obs.get("child", "A").probe, EndpointStatus::kCheckingEndpoint);  // endpoint exact
  EXPECT_EQ(TmStatusSnapshot::compute(set, obs).profile(1).endpoints[0], EMS::kDegraded);
}

TEST(TmStatusSnapshot, CountsOnlineIpv4AndIpv6ExternalEndpoints) {
  TmProfile mv;
  mv.name = "mv";
  mv.routing = TmRoutingMethod::kMultiValue;
  mv.endpoints = {ip_endpoint("v4a", "192.0.2.1"), ip_endpoint("v4b", "192.0.2.2"),
                  ip_endpoint("v6", "2001:db8::1")};
  TmProfileSet set = TmProfileSet::create({mv}, TmTimingRules::kAzure).value();
  TmObservations obs;
  obs.set("mv", "v4a", probe(EndpointStatus::kOnline));
  obs.set("mv", "v6", probe(EndpointStatus::kOnline));
  // Keep the snapshot: a reference into a temporary's member would dangle (ASan saw it).
  TmStatusSnapshot snap = TmStatusSnapshot::compute(set, obs);
  const TmChildHealth& c = snap.profile(0).as_child;
  EXPECT_EQ(c.online, 2u);
  EXPECT_EQ(c.online_ipv4, 1u);
  EXPECT_EQ(c.checking_ipv4, 1u);
  EXPECT_EQ(c.online_ipv6, 1u);
  EXPECT_EQ(c.checking_ipv6, 0u);
}

TEST(TmStatusSnapshot, DisabledChildProfileStopsTheParentsEndpoint) {
  TmProfile child;
  child.name = "child";
  child.enabled = kOff;
  child.endpoints = {region("a", 1)};
  TmProfile parent;
  parent.name = "parent";
  TmEndpoint kid = nested(1);
  parent.endpoints = {kid};
  TmProfileSet set = TmProfileSet::create({parent, child}, TmTimingRules::kAzure).value();
  TmObservations obs;
  obs.set("child", "a", probe(EndpointStatus::kOnline));
  TmStatusSnapshot snap = TmStatusSnapshot::compute(set, obs);
  EXPECT_EQ(snap.profile(1).status, PMS::kDisabled);
  EXPECT_EQ(snap.profile(1).endpoints[0], EMS::kInactive);
  EXPECT_EQ(snap.profile(0).endpoints[0], EMS::kStopped);
  EXPECT_EQ(snap.profile(0).status, PMS::kInactive);
}


// `drsim status` and the dashboard share one rule: a standby outside an outage, Degraded (or not
// probed yet) and not superseded, is not serving by design; anything else is shown as it is.
TEST(TmStatus, AStandbyNotServingIsByDesignOnlyWhenHealthyAndNotSuperseded) {
  EXPECT_TRUE(standby_not_serving_by_design("Degraded", true, ""));
  EXPECT_TRUE(standby_not_serving_by_design("CheckingEndpoint", true, ""));
  EXPECT_FALSE(standby_not_serving_by_design("Online", true, ""));
  EXPECT_FALSE(standby_not_serving_by_design("Degraded", false, ""));  // active, or in an outage
  EXPECT_FALSE(standby_not_serving_by_design("Degraded", true, "epoch 1 < 2"));
  EXPECT_FALSE(standby_not_serving_by_design("Degraded (superseded)", true, ""));
}

}  // namespace
}  // namespace drsim::model
