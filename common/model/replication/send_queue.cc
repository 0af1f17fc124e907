#include "common/model/replication/send_queue.h"

namespace drsim::model {

void SendQueue::mark(size_t workload) {
  if (queued_.at(workload)) return;
  queued_[workload] = true;
  order_.push_back(workload);
}

void SendQueue::mark_all() {
  for (size_t w = 0; w < queued_.size(); ++w) mark(w);
}

std::optional<size_t> SendQueue::take() {
  if (order_.empty()) return std::nullopt;
  size_t w = order_.front();
  order_.pop_front();
  queued_[w] = false;
  return w;
}

}  // namespace drsim::model
