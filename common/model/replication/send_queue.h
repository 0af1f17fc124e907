// Which workloads may have changes to send: the active region's pump takes the next one from
// here instead of scanning every workload per frame, so a frame costs O(workloads touched), not
// O(all workloads). The driver marks a workload when something may have made it sendable (a
// write assigned, an ack opening its window, a (re)connect resetting its cursor); the pump
// takes it, sends what ReplicationSource::next_range allows and marks it again while it still
// has unsent writes. Order is first marked, first taken: round robin among busy workloads.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace drsim::model {

class SendQueue {
 public:
  // Workloads are 0..workloads-1 (the region's order).
  explicit SendQueue(size_t workloads = 0) : queued_(workloads, false) {}

  // `workload` may have something to send. Idempotent while it is queued: O(1).
  void mark(size_t workload);
  // Every workload (a new stream resets every cursor): O(workloads), once per connect.
  void mark_all();
  // The next workload to look at, in marking order; nullopt when none is marked.
  std::optional<size_t> take();

  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  bool queued(size_t workload) const { return queued_.at(workload); }

 private:
  std::vector<bool> queued_;
  std::deque<size_t> order_;
};

}  // namespace drsim::model
