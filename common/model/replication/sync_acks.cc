#include "common/model/replication/sync_acks.h"

namespace drsim::model {

void SyncAckTracker::add(WriteId write, Time started,
                         const std::vector<std::pair<size_t, Seq>>& waits) {
  if (waits.empty()) return;
  auto [it, fresh] = writes_.try_emplace(write);
  Write& w = it->second;
  if (fresh) {
    w.deadline = started + timeout_;
    deadlines_.emplace(w.deadline, write);
  }
  for (const auto& [workload, seq] : waits) {
    by_workload_.at(workload).push_back({seq, write});
    w.workloads.push_back(workload);
    ++w.remaining;
  }
}

SyncAckTracker::WriteId SyncAckTracker::answer(std::unordered_map<WriteId, Write>::iterator it) {
  const WriteId id = it->first;
  std::vector<size_t> workloads = std::move(it->second.workloads);
  deadlines_.erase({it->second.deadline, id});
  writes_.erase(it);
  for (size_t workload : workloads) drop_answered(workload);
  return id;
}

void SyncAckTracker::drop_answered(size_t workload) {
  auto& waits = by_workload_[workload];
  while (!waits.empty() && !writes_.contains(waits.front().write)) waits.pop_front();
}

std::vector<SyncAckTracker::WriteId> SyncAckTracker::on_acked(size_t workload, Seq acked) {
  std::vector<WriteId> done;
  auto& waits = by_workload_.at(workload);
  while (!waits.empty() && waits.front().seq <= acked) {
    const WriteId id = waits.front().write;
    waits.pop_front();
    auto it = writes_.find(id);
    if (it == writes_.end()) continue;  // answered already (timed out)
    if (--it->second.remaining == 0) done.push_back(answer(it));
  }
  return done;
}

std::vector<SyncAckTracker::WriteId> SyncAckTracker::expire(Time now) {
  std::vector<WriteId> expired;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    expired.push_back(answer(writes_.find(deadlines_.begin()->second)));
  }
  return expired;
}

std::optional<Time> SyncAckTracker::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

size_t SyncAckTracker::waits_held() const {
  size_t n = 0;
  for (const auto& waits : by_workload_) n += waits.size();
  return n;
}

std::vector<SyncAckTracker::WriteId> SyncAckTracker::take_all() {
  std::vector<WriteId> all;
  for (auto& waits : by_workload_) {
    for (const Wait& wait : waits) {
      if (writes_.erase(wait.write) > 0) all.push_back(wait.write);
    }
    waits.clear();
  }
  deadlines_.clear();
  return all;
}

}  // namespace drsim::model
