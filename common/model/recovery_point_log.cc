#include "common/model/recovery_point_log.h"

#include <algorithm>

#include "common/core/check.h"

namespace drsim::model {

Status RecoveryPointLog::on_replicated(const std::string& workload, Seq seq) {
  auto [it, inserted] = replicated_.try_emplace(workload, seq);
  if (inserted || seq == it->second) return Status::ok();
  if (seq < it->second) {
    return out_of_range("workload '" + workload + "': replicated seq " +
                        std::to_string(seq.value()) + " is behind " +
                        std::to_string(it->second.value()) + " already at the target");
  }
  it->second = seq;
  return Status::ok();
}

const RecoveryPoint& RecoveryPointLog::cut(RecoveryPointType type, Time now) {
  DRSIM_CHECK(points_.empty() || points_.back().time <= now);  // latest() relies on the order
  last_id_ = last_id_.next();
  points_.push_back(RecoveryPoint{last_id_, now, type, replicated_});
  return points_.back();
}

std::vector<RecoveryPointId> RecoveryPointLog::prune(Time now, Duration retention) {
  std::vector<RecoveryPointId> keep = recovery_points_to_keep(points_, now, retention);
  std::sort(keep.begin(), keep.end());
  std::vector<RecoveryPointId> removed;
  std::erase_if(points_, [&](const RecoveryPoint& p) {
    if (std::binary_search(keep.begin(), keep.end(), p.id)) return false;
    removed.push_back(p.id);
    return true;
  });
  return removed;
}

bool RecoveryPointLog::has_unprocessed_data() const {
  const RecoveryPoint* newest = latest();
  return newest == nullptr ? !replicated_.empty() : newest->seqs != replicated_;
}

const RecoveryPoint* RecoveryPointLog::find(RecoveryPointId id) const {
  for (const auto& p : points_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// Points are appended in time order and pruning keeps that order, so the newest is last.
const RecoveryPoint* RecoveryPointLog::latest() const {
  return points_.empty() ? nullptr : &points_.back();
}

const RecoveryPoint* RecoveryPointLog::latest_app_consistent() const {
  for (auto it = points_.rbegin(); it != points_.rend(); ++it) {
    if (it->type == RecoveryPointType::kAppConsistent) return &*it;
  }
  return nullptr;
}

void RecoveryPointLog::keep_only(RecoveryPointId id) {
  std::erase_if(points_, [&](const RecoveryPoint& p) { return p.id != id; });
}

void RecoveryPointLog::clear() {
  points_.clear();
  replicated_.clear();
}

}  // namespace drsim::model
