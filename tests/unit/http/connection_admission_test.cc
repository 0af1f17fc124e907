#include "common/model/http/connection_admission.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using Kind = HttpAdmission::Kind;
constexpr auto kBusy = HttpConnectionState::kBusy;
constexpr auto kIdle = HttpConnectionState::kIdle;

const HttpAdmissionLimits kLimits{4, 3};

TEST(HttpConnectionAdmission, AdmitsWhileBothCapsHaveRoom) {
  EXPECT_EQ(admit_http_connection({}, "127.0.0.1", kLimits).kind, Kind::kAdmit);
  std::vector<HttpConnectionView> open = {
      {1, "10.0.0.1", kBusy, 0}, {2, "10.0.0.1", kIdle, 5}, {3, "10.0.0.2", kBusy, 0}};
  EXPECT_EQ(admit_http_connection(open, "10.0.0.2", kLimits).kind, Kind::kAdmit);
}

TEST(HttpConnectionAdmission, AtTheCapTheLongestIdleConnectionGivesUpItsSlot) {
  std::vector<HttpConnectionView> open = {{1, "10.0.0.1", kIdle, 7},
                                          {2, "10.0.0.2", kBusy, 0},
                                          {3, "10.0.0.3", kIdle, 3},
                                          {4, "10.0.0.1", kIdle, 9}};
  HttpAdmission a = admit_http_connection(open, "10.0.0.4", kLimits);
  EXPECT_EQ(a.kind, Kind::kAdmitAfterClosing);
  EXPECT_EQ(a.close_id, 3u);
  EXPECT_EQ(a.why, "4 connections open (the limit); closing the one idle the longest");
}

TEST(HttpConnectionAdmission, AtTheCapWithNothingIdleTheNewOneIsRefused) {
  std::vector<HttpConnectionView> open = {{1, "10.0.0.1", kBusy, 0},
                                          {2, "10.0.0.2", kBusy, 0},
                                          {3, "10.0.0.3", kBusy, 0},
                                          {4, "10.0.0.1", kBusy, 0}};
  HttpAdmission a = admit_http_connection(open, "10.0.0.4", kLimits);
  EXPECT_EQ(a.kind, Kind::kRefuse);
  EXPECT_EQ(a.why, "4 connections open (the limit), none of them idle");
}

TEST(HttpConnectionAdmission, ASourceAtItsCapGivesUpOnlyItsOwnIdleConnection) {
  // Another source's connection has been idle longer; it keeps its slot.
  std::vector<HttpConnectionView> open = {{1, "10.0.0.9", kIdle, 1},
                                          {2, "10.0.0.1", kIdle, 8},
                                          {3, "10.0.0.1", kBusy, 0},
                                          {4, "10.0.0.1", kIdle, 4}};
  HttpAdmission a = admit_http_connection(open, "10.0.0.1", kLimits);
  EXPECT_EQ(a.kind, Kind::kAdmitAfterClosing);
  EXPECT_EQ(a.close_id, 4u);
  EXPECT_EQ(a.why,
            "3 connections open from 10.0.0.1 (the per-source limit); closing the one idle the "
            "longest");
}

TEST(HttpConnectionAdmission, ASourceAtItsCapWithNothingIdleIsRefusedWhileOthersGetIn) {
  std::vector<HttpConnectionView> open = {
      {1, "10.0.0.1", kBusy, 0}, {2, "10.0.0.1", kBusy, 0}, {3, "10.0.0.1", kBusy, 0}};
  HttpAdmission a = admit_http_connection(open, "10.0.0.1", kLimits);
  EXPECT_EQ(a.kind, Kind::kRefuse);
  EXPECT_EQ(a.why, "3 connections open from 10.0.0.1 (the per-source limit), none of them idle");
  EXPECT_EQ(admit_http_connection(open, "10.0.0.2", kLimits).kind, Kind::kAdmit);
}

}  // namespace
}  // namespace drsim::model
