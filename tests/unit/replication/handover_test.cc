// Handover: the active region's side of a planned failover (pause, drain, hand over).
#include "common/model/replication/handover.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

TEST(Handover, PausesWritesUntilDrainedThenHandsOver) {
  Handover h;
  EXPECT_FALSE(h.pausing_writes());
  ASSERT_TRUE(h.begin(kTimeZero + 1s, 10s).is_ok());
  EXPECT_TRUE(h.pausing_writes());
  EXPECT_EQ(h.phase(), HandoverPhase::kDraining);
  EXPECT_EQ(h.deadline(), kTimeZero + 11s);
  EXPECT_FALSE(h.ready(true, 3, 0));   // writes not yet acknowledged
  EXPECT_FALSE(h.ready(true, 0, 1));   // an admitted write not yet refused or durable
  EXPECT_FALSE(h.ready(false, 0, 0));  // no stream
  EXPECT_TRUE(h.ready(true, 0, 0));
  h.on_handed_over(kTimeZero + 1s + 40ms);
  EXPECT_EQ(h.phase(), HandoverPhase::kHandedOver);
  EXPECT_TRUE(h.pausing_writes());  // never resumes on its own once handed over
  EXPECT_EQ(h.deadline(), kNever);
  EXPECT_EQ(h.paused(kTimeZero + 5s), 40ms);
  std::string why;
  EXPECT_FALSE(h.expire(kTimeZero + 60s, &why));
  h.on_stepped_down();
  EXPECT_FALSE(h.pausing_writes());
}

TEST(Handover, DrainPastTheDeadlineResumesWrites) {
  Handover h;
  ASSERT_TRUE(h.begin(kTimeZero, 2s).is_ok());
  std::string why;
  EXPECT_FALSE(h.expire(kTimeZero + 1999ms, &why));
  EXPECT_TRUE(h.expire(kTimeZero + 2s, &why));
  EXPECT_NE(why.find("2000 ms"), std::string::npos) << why;
  EXPECT_FALSE(h.pausing_writes());
  EXPECT_FALSE(h.expire(kTimeZero + 3s, &why));  // once
}

TEST(Handover, SecondRequestWhileBusyIsRefusedAndGenerationsSeparateTimers) {
  Handover h;
  ASSERT_TRUE(h.begin(kTimeZero, 1s).is_ok());
  uint64_t first = h.generation();
  EXPECT_EQ(h.begin(kTimeZero, 1s).code(), StatusCode::kFailedPrecondition);
  h.abort();
  ASSERT_TRUE(h.begin(kTimeZero, 1s).is_ok());
  EXPECT_NE(h.generation(), first);
  EXPECT_EQ(Handover().begin(kTimeZero, 0s).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drsim::model
