// Priority routing: lowest priority number among Online / CheckingEndpoint endpoints, ties by
// index, fail open when every endpoint is Degraded.
#include <gtest/gtest.h>

#include <vector>

#include "common/model/trafficmgr/router.h"

namespace drsim::model {
namespace {

constexpr auto kChecking = EndpointStatus::kCheckingEndpoint;
constexpr auto kOnline = EndpointStatus::kOnline;
constexpr auto kDegraded = EndpointStatus::kDegraded;

TEST(Router, EmptyListHasNoRoute) { EXPECT_FALSE(route_by_priority({}).has_value()); }

TEST(Router, LowestPriorityNumberWins) {
  auto d = route_by_priority({{3, kOnline}, {1, kOnline}, {2, kOnline}});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (RouteDecision{1, false}));
}

TEST(Router, DegradedPrimaryFailsOverToNextPriority) {
  EXPECT_EQ(route_by_priority({{1, kDegraded}, {2, kOnline}, {3, kOnline}}),
            (RouteDecision{1, false}));
  EXPECT_EQ(route_by_priority({{1, kDegraded}, {2, kDegraded}, {3, kOnline}}),
            (RouteDecision{2, false}));
}

TEST(Router, PrimaryBackOnlineTakesTheRouteBack) {
  EXPECT_EQ(route_by_priority({{1, kOnline}, {2, kOnline}}), (RouteDecision{0, false}));
}

TEST(Router, TiesGoToTheFirstIndex) {
  EXPECT_EQ(route_by_priority({{5, kOnline}, {2, kOnline}, {2, kOnline}}),
            (RouteDecision{1, false}));
  EXPECT_EQ(route_by_priority({{2, kDegraded}, {2, kOnline}, {2, kOnline}}),
            (RouteDecision{1, false}));
}

TEST(Router, CheckingEndpointIsServed) {
  EXPECT_EQ(route_by_priority({{1, kChecking}, {2, kOnline}}), (RouteDecision{0, false}));
  EXPECT_EQ(route_by_priority({{1, kDegraded}, {2, kChecking}}), (RouteDecision{1, false}));
}

TEST(Router, AllDegradedFailsOpenToTheHighestPriority) {
  EXPECT_EQ(route_by_priority({{7, kDegraded}, {3, kDegraded}, {9, kDegraded}}),
            (RouteDecision{1, true}));
}

TEST(Router, SingleDegradedEndpointFailsOpen) {
  EXPECT_EQ(route_by_priority({{1, kDegraded}}), (RouteDecision{0, true}));
}

TEST(Router, AnyEligibleEndpointPreventsFailOpen) {
  auto d = route_by_priority({{1, kDegraded}, {2, kDegraded}, {1000, kChecking}});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->endpoint, 2u);
  EXPECT_FALSE(d->fail_open);
}

TEST(Router, PriorityRangeIsOneToThousand) {
  EXPECT_TRUE(validate_priority(1).is_ok());
  EXPECT_TRUE(validate_priority(1000).is_ok());
  Status zero = validate_priority(0);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.message(), "priority: 0 is out of range 1..1000");
  EXPECT_EQ(validate_priority(1001).message(), "priority: 1001 is out of range 1..1000");
}

}  // namespace
}  // namespace drsim::model
