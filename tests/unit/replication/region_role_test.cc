// RegionRole: who may accept writes, failover epochs, fencing a former primary, admitting a source.
#include "common/model/replication/region_role.h"

#include <gtest/gtest.h>

#include <string>

#include "common/core/ids.h"
#include "common/core/status.h"

namespace drsim::model {
namespace {

using Confirmation = RegionRole::Confirmation;

RegionRole active_east(uint64_t epoch = 1, Confirmation c = Confirmation::kConfirmed) {
  return RegionRole("eastus", "westus", Role::kActive, Epoch(epoch), c);
}
RegionRole standby_west(uint64_t epoch = 1) {
  return RegionRole("westus", "eastus", Role::kStandby, Epoch(epoch), Confirmation::kConfirmed);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- writes ---------------------------------------------------------------------------------

TEST(RegionRole, ConfirmedActiveRegionAdmitsWrites) {
  RegionRole r = active_east();
  EXPECT_TRUE(r.admit_write().is_ok());
  EXPECT_TRUE(r.serving_writes());
  EXPECT_EQ(r.active_region(), "eastus");
  EXPECT_EQ(r.region(), "eastus");
}

TEST(RegionRole, StandbyRefusesWritesWithFailedPreconditionNamingTheActiveRegion) {
  RegionRole r = standby_west(4);
  Status st = r.admit_write();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "the active region is eastus")) << st.message();
  EXPECT_TRUE(contains(st.message(), "epoch 4")) << st.message();
  EXPECT_FALSE(r.serving_writes());
  EXPECT_EQ(r.active_region(), "eastus");
}

TEST(RegionRole, StandbyNamesTheHighestEpochItHasSeen) {
  RegionRole r = standby_west(1);
  EXPECT_FALSE(r.on_peer_epoch(Epoch(6), Role::kActive).has_value());
  EXPECT_TRUE(contains(r.admit_write().message(), "epoch 6")) << r.admit_write().message();
}

TEST(RegionRole, StandbyIsConfirmedEvenWhenBuiltUnconfirmed) {
  RegionRole r("westus", "eastus", Role::kStandby, Epoch(1), Confirmation::kUnconfirmed);
  EXPECT_TRUE(r.confirmed());
  EXPECT_EQ(r.admit_write().code(), StatusCode::kFailedPrecondition);
}

TEST(RegionRole, UnconfirmedActiveRegionRefusesWritesWithUnavailableUntilConfirm) {
  RegionRole r = active_east(3, Confirmation::kUnconfirmed);
  EXPECT_FALSE(r.confirmed());
  EXPECT_FALSE(r.serving_writes());
  Status st = r.admit_write();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(st.message(), "epoch 3")) << st.message();

  r.confirm();
  EXPECT_TRUE(r.confirmed());
  EXPECT_TRUE(r.serving_writes());
  EXPECT_TRUE(r.admit_write().is_ok());
}

TEST(RegionRole, PeerAtALowerEpochDoesNotConfirmARestartedActiveRegion) {
  RegionRole r = active_east(3, Confirmation::kUnconfirmed);
  EXPECT_FALSE(r.on_peer_epoch(Epoch(2), Role::kStandby).has_value());
  EXPECT_EQ(r.admit_write().code(), StatusCode::kUnavailable);  // only confirm() confirms
}

TEST(RegionRole, RestartedActiveRegionThatMissedAFailoverIsFencedInsteadOfServing) {
  RegionRole r = active_east(1, Confirmation::kUnconfirmed);
  auto change = r.on_peer_epoch(Epoch(2), Role::kActive);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(r.role(), Role::kStandby);
  EXPECT_EQ(r.admit_write().code(), StatusCode::kFailedPrecondition);
}

// --- failover -------------------------------------------------------------------------------

TEST(RegionRole, FailoverPromotesTheStandbyToTheNextEpoch) {
  RegionRole r = standby_west(1);
  auto change = r.failover("drill: eastus outage");
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->from, Role::kStandby);
  EXPECT_EQ(change->to, Role::kActive);
  EXPECT_EQ(change->epoch.value(), 2u);
  EXPECT_EQ(change->reason, "drill: eastus outage");
  EXPECT_EQ(r.role(), Role::kActive);
  EXPECT_EQ(r.epoch().value(), 2u);
  EXPECT_TRUE(r.admit_write().is_ok());
  EXPECT_EQ(r.active_region(), "westus");
}

TEST(RegionRole, FailoverPromotesPastTheHighestEpochSeen) {
  RegionRole r = standby_west(1);
  EXPECT_FALSE(r.on_peer_epoch(Epoch(5), Role::kActive).has_value());
  auto change = r.failover("planned");
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->epoch.value(), 6u);
  EXPECT_EQ(r.epoch().value(), 6u);
}

TEST(RegionRole, FailoverPromotesPastItsOwnEpochWhenPeerReportedLower) {
  RegionRole r = standby_west(7);
  EXPECT_FALSE(r.on_peer_epoch(Epoch(3), Role::kActive).has_value());
  auto change = r.failover("planned");
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->epoch.value(), 8u);
}

TEST(RegionRole, FailoverOnTheActiveRegionIsRefused) {
  RegionRole r = active_east(4);
  auto change = r.failover("operator typo");
  ASSERT_FALSE(change.is_ok());
  EXPECT_EQ(change.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(change.status().message(), "eastus is already active at epoch 4"))
      << change.status().message();
  EXPECT_EQ(r.role(), Role::kActive);
  EXPECT_EQ(r.epoch().value(), 4u);
}

TEST(RegionRole, FailoverOnAnUnconfirmedActiveRegionIsRefused) {
  RegionRole r = active_east(4, Confirmation::kUnconfirmed);
  EXPECT_EQ(r.failover("x").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(r.confirmed());
}

TEST(RegionRole, RepeatedFailoversBumpTheEpochEachTime) {
  RegionRole east = active_east(1);
  RegionRole west = standby_west(1);
  for (uint64_t want = 2; want <= 6; ++want) {
    RegionRole& standby = (want % 2 == 0) ? west : east;
    RegionRole& active = (want % 2 == 0) ? east : west;
    auto change = standby.failover("round " + std::to_string(want));
    ASSERT_TRUE(change.is_ok());
    EXPECT_EQ(change->epoch.value(), want);
    ASSERT_TRUE(active.on_peer_epoch(change->epoch, Role::kActive).has_value());
    EXPECT_EQ(active.role(), Role::kStandby);
  }
}

// --- fencing --------------------------------------------------------------------------------

TEST(RegionRole, ActiveRegionLearningAHigherEpochFromAnActivePeerStepsDown) {
  RegionRole r = active_east(1);
  auto change = r.on_peer_epoch(Epoch(2), Role::kActive);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->from, Role::kActive);
  EXPECT_EQ(change->to, Role::kStandby);
  EXPECT_EQ(change->epoch.value(), 2u);
  EXPECT_TRUE(contains(change->reason, "fenced")) << change->reason;
  EXPECT_EQ(r.role(), Role::kStandby);
  EXPECT_EQ(r.epoch().value(), 2u);
  EXPECT_EQ(r.fenced_reason(), change->reason);
  EXPECT_EQ(r.active_region(), "westus");
}

TEST(RegionRole, FencedRegionRefusesWrites) {
  RegionRole r = active_east(1);
  ASSERT_TRUE(r.on_peer_epoch(Epoch(2), Role::kActive).has_value());
  Status st = r.admit_write();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "westus")) << st.message();
  EXPECT_FALSE(r.serving_writes());
}

TEST(RegionRole, PeerEpochAtOrBelowOursDoesNotDemote) {
  for (uint64_t peer : {1u, 4u, 5u}) {
    RegionRole r = active_east(5);
    EXPECT_FALSE(r.on_peer_epoch(Epoch(peer), Role::kActive).has_value()) << "peer " << peer;
    EXPECT_EQ(r.role(), Role::kActive);
    EXPECT_EQ(r.epoch().value(), 5u);
    EXPECT_TRUE(r.admit_write().is_ok());
    EXPECT_TRUE(r.fenced_reason().empty());
  }
}

TEST(RegionRole, StandbyLearningAHigherEpochStaysStandbyWithNoRoleChange) {
  RegionRole r = standby_west(1);
  EXPECT_FALSE(r.on_peer_epoch(Epoch(9), Role::kActive).has_value());
  EXPECT_EQ(r.role(), Role::kStandby);
}

TEST(RegionRole, FencedRegionCanBePromotedAgainAtAHigherEpoch) {
  RegionRole r = active_east(1);
  ASSERT_TRUE(r.on_peer_epoch(Epoch(2), Role::kActive).has_value());
  auto change = r.failover("fail back");
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->epoch.value(), 3u);
  EXPECT_TRUE(r.fenced_reason().empty());
  EXPECT_TRUE(r.admit_write().is_ok());
}

// --- admitting a replication source ---------------------------------------------------------

TEST(RegionRole, AdmitSourceIsRefusedWhenWeAreActive) {
  RegionRole r = active_east(2);
  Status st = r.admit_source("westus", Epoch(1));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "westus")) << st.message();
  EXPECT_EQ(r.admit_source("westus", Epoch(9)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.epoch().value(), 2u);
}

TEST(RegionRole, AdmitSourceRefusesAStaleEpoch) {
  RegionRole r = standby_west(1);
  EXPECT_FALSE(r.on_peer_epoch(Epoch(3), Role::kActive).has_value());
  Status st = r.admit_source("eastus", Epoch(2));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "stale epoch 2")) << st.message();
  EXPECT_TRUE(contains(st.message(), "current epoch is 3")) << st.message();
}

TEST(RegionRole, AdmitSourceRefusesAnEpochOlderThanOurOwn) {
  RegionRole r = standby_west(4);
  EXPECT_EQ(r.admit_source("eastus", Epoch(3)).code(), StatusCode::kFailedPrecondition);
}

TEST(RegionRole, AdmitSourceAcceptsTheCurrentEpoch) {
  RegionRole r = standby_west(4);
  EXPECT_TRUE(r.admit_source("eastus", Epoch(4)).is_ok());
  EXPECT_EQ(r.epoch().value(), 4u);
}

TEST(RegionRole, AdmitSourceAcceptsANewerEpochAndRaisesOurs) {
  RegionRole r = standby_west(4);
  EXPECT_TRUE(r.admit_source("eastus", Epoch(5)).is_ok());
  EXPECT_EQ(r.epoch().value(), 5u);
  EXPECT_EQ(r.role(), Role::kStandby);
  // Having seen 5, a source at 4 is now stale, and a failover goes to 6.
  EXPECT_EQ(r.admit_source("eastus", Epoch(4)).code(), StatusCode::kFailedPrecondition);
  auto change = r.failover("drill");
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->epoch.value(), 6u);
}

// --- epoch bounds (issue 17) ------------------------------------------------------------------

TEST(RegionRole, AdmitSourceRefusesAnEpochMoreThanOnePastTheHighestSeenAndChangesNothing) {
  RegionRole r = standby_west(1);
  const Epoch forged(UINT64_MAX);
  Status st = r.admit_source("eastus", forged);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "epoch 18446744073709551615 claimed by eastus"))
      << st.message();
  EXPECT_TRUE(contains(st.message(), "highest epoch region westus has seen (1)")) << st.message();
  EXPECT_EQ(r.epoch().value(), 1u);
  EXPECT_EQ(r.highest_seen().value(), 1u);
  EXPECT_EQ(r.role(), Role::kStandby);
  // The real source at the current epoch is still admitted, and a failover goes to 2.
  EXPECT_TRUE(r.admit_source("eastus", Epoch(1)).is_ok());
  auto change = r.failover("drill");
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->epoch.value(), 2u);
}

TEST(RegionRole, PeerClaimOfTheNextEpochIsAcceptedAndTwoPastIsRefused) {
  RegionRole r = active_east(3);
  EXPECT_TRUE(r.check_peer_claim("westus", Epoch(4)).is_ok());
  EXPECT_TRUE(r.check_peer_claim("westus", Epoch(3)).is_ok());
  EXPECT_TRUE(r.check_peer_claim("westus", Epoch(1)).is_ok());  // stale, judged elsewhere
  Status st = r.check_peer_claim("westus", Epoch(5));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(st.message(), "epoch 5 claimed by westus")) << st.message();
  EXPECT_TRUE(contains(st.message(), "(3)")) << st.message();
}

TEST(RegionRole, FailoverAtTheLargestEpochIsRefusedInsteadOfWrappingToZero) {
  RegionRole r = standby_west(UINT64_MAX - 1);
  ASSERT_TRUE(r.admit_source("eastus", Epoch(UINT64_MAX)).is_ok());  // one past: allowed
  auto change = r.failover("drill");
  ASSERT_FALSE(change.is_ok());
  EXPECT_EQ(change.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(change.status().message(), "wrap to 0")) << change.status().message();
  EXPECT_EQ(r.role(), Role::kStandby);
  EXPECT_EQ(r.epoch().value(), UINT64_MAX);
}

TEST(RegionRole, FailoverJustBelowTheLargestEpochStillWorks) {
  RegionRole r = standby_west(UINT64_MAX - 1);
  auto change = r.failover("drill");
  ASSERT_TRUE(change.is_ok()) << change.status().message();
  EXPECT_EQ(change->epoch.value(), UINT64_MAX);
}

// The whole fencing story in two regions: the old primary comes back after a failover.
TEST(RegionRole, FormerPrimaryIsFencedAndThenReplicatesFromTheNewActive) {
  RegionRole east = active_east(1);
  RegionRole west = standby_west(1);
  ASSERT_TRUE(west.failover("eastus unreachable").is_ok());
  ASSERT_EQ(west.epoch().value(), 2u);

  // East never heard about it and tries to stream to west: refused.
  EXPECT_EQ(west.admit_source("eastus", east.epoch()).code(), StatusCode::kFailedPrecondition);
  // The refusal carries west's epoch; east steps down and stops acknowledging writes.
  ASSERT_TRUE(east.on_peer_epoch(west.epoch(), west.role()).has_value());
  EXPECT_EQ(east.admit_write().code(), StatusCode::kFailedPrecondition);
  // Now west streams to east.
  EXPECT_TRUE(east.admit_source("westus", west.epoch()).is_ok());
  EXPECT_TRUE(west.admit_write().is_ok());
}

TEST(RegionRole, RoleNamesAreStable) {
  EXPECT_STREQ(role_name(Role::kActive), "active");
  EXPECT_STREQ(role_name(Role::kStandby), "standby");
}

}  // namespace
}  // namespace drsim::model

namespace drsim::model {
namespace {

TEST(RegionRole, HandOverStepsDownToTheNewerEpochWithAPlannedReason) {
  RegionRole r("eastus", "westus", Role::kActive, Epoch(3), RegionRole::Confirmation::kConfirmed);
  auto change = r.hand_over(Epoch(4));
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(change->to, Role::kStandby);
  EXPECT_EQ(r.role(), Role::kStandby);
  EXPECT_EQ(r.epoch(), Epoch(4));
  EXPECT_EQ(r.active_region(), "westus");
  EXPECT_NE(r.fenced_reason().find("planned failover"), std::string::npos) << r.fenced_reason();
  EXPECT_EQ(r.admit_write().code(), StatusCode::kFailedPrecondition);
  // A standby has nothing to hand over; an epoch that is not newer is refused.
  EXPECT_EQ(r.hand_over(Epoch(5)).status().code(), StatusCode::kFailedPrecondition);
  RegionRole same("eastus", "westus", Role::kActive, Epoch(3),
                  RegionRole::Confirmation::kConfirmed);
  EXPECT_EQ(same.hand_over(Epoch(3)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(same.role(), Role::kActive);
}

TEST(RegionRole, ActiveRegionBackFromAnOutageRefusesWritesUntilItConfirmsAgain) {
  RegionRole r = active_east(1);
  ASSERT_TRUE(r.admit_write().is_ok());
  r.unconfirm();
  EXPECT_EQ(r.admit_write().code(), StatusCode::kUnavailable);
  // The peer answers with a newer epoch: the region steps down instead of serving.
  auto change = r.on_peer_epoch(Epoch(2), Role::kActive);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(r.role(), Role::kStandby);
  EXPECT_EQ(r.admit_write().code(), StatusCode::kFailedPrecondition);
}

TEST(RegionRole, UnconfirmLeavesAStandbyAsItIs) {
  RegionRole r = standby_west(2);
  r.unconfirm();
  EXPECT_TRUE(r.confirmed());
  EXPECT_EQ(r.role(), Role::kStandby);
}

}  // namespace
}  // namespace drsim::model
