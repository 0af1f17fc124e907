// SendQueue: which workloads the active region's pump looks at next (RegionNode::pump), so a
// frame costs O(workloads touched) rather than a scan of every workload.
#include "common/model/replication/send_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace drsim::model {
namespace {

std::vector<size_t> drain(SendQueue& q) {
  std::vector<size_t> out;
  while (auto w = q.take()) out.push_back(*w);
  return out;
}

TEST(SendQueue, OfTenThousandWorkloadsOnlyTheMarkedOnesAreTaken) {
  SendQueue q(10000);
  q.mark(9999);
  q.mark(42);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(drain(q), (std::vector<size_t>{9999, 42}));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.take().has_value());
}

TEST(SendQueue, MarkingAQueuedWorkloadAgainKeepsOneEntryAndItsPlace) {
  SendQueue q(4);
  q.mark(1);
  q.mark(2);
  q.mark(1);
  EXPECT_TRUE(q.queued(1));
  EXPECT_EQ(drain(q), (std::vector<size_t>{1, 2}));
  EXPECT_FALSE(q.queued(1));
}

TEST(SendQueue, ATakenWorkloadMarkedAgainGoesBehindTheOthers) {
  // The pump re-marks a workload that still has unsent writes: busy workloads take turns.
  SendQueue q(3);
  q.mark(0);
  q.mark(1);
  q.mark(2);
  ASSERT_EQ(q.take(), 0u);
  q.mark(0);
  EXPECT_EQ(drain(q), (std::vector<size_t>{1, 2, 0}));
}

TEST(SendQueue, MarkAllQueuesEveryWorkloadOnceInOrder) {
  SendQueue q(3);
  q.mark(2);
  q.mark_all();
  EXPECT_EQ(drain(q), (std::vector<size_t>{2, 0, 1}));
}

}  // namespace
}  // namespace drsim::model
