#include "common/model/siterecovery/recovery_point_log.h"

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

Status RecoveryPointLog::drop(RecoveryPointId id) {
  auto n = std::erase_if(points_, [&](const RecoveryPoint& p) { return p.id == id; });
  if (n == 0) return not_found("recovery point " + std::to_string(id.value()) + " is not retained");
  return Status::ok();
}

Status RecoveryPointLog::settle(RecoveryPointId id, const std::map<std::string, Seq>& seqs) {
  auto it = std::find_if(points_.begin(), points_.end(),
                         [&](const RecoveryPoint& p) { return p.id == id; });
  if (it == points_.end()) {
    return not_found("recovery point " + std::to_string(id.value()) + " is not retained");
  }
  for (const auto& [w, seq] : seqs) {
    auto listed = it->seqs.find(w);
    if (listed == it->seqs.end()) {
      return out_of_range("recovery point " + std::to_string(id.value()) + ": workload '" + w +
                          "' is not in the point");
    }
    if (seq < listed->second) {
      return out_of_range("recovery point " + std::to_string(id.value()) + ": workload '" + w +
                          "' at seq " + std::to_string(seq.value()) + " is behind the listed " +
                          std::to_string(listed->second.value()));
    }
  }
  for (const auto& [w, seq] : seqs) {
    it->seqs[w] = seq;
    Seq& have = replicated_[w];
    if (have < seq) have = seq;
  }
  return Status::ok();
}

Result<RecoveryPointLog> RecoveryPointLog::restore(std::vector<RecoveryPoint> points,
                                                   std::map<std::string, Seq> replicated,
                                                   RecoveryPointId last_id) {
  for (size_t i = 0; i < points.size(); ++i) {
    const RecoveryPoint& p = points[i];
    const std::string head =
        "points[" + std::to_string(i) + "] (id " + std::to_string(p.id.value()) + "): ";
    if (p.id.value() == 0 || p.id > last_id) {
      return invalid_argument(head + "id must be between 1 and the last id " +
                              std::to_string(last_id.value()));
    }
    if (i > 0 && (p.id <= points[i - 1].id || p.time < points[i - 1].time)) {
      return invalid_argument(head + "points must be oldest first with increasing ids");
    }
  }
  if (!points.empty()) {
    for (const auto& [w, seq] : points.back().seqs) {
      auto it = replicated.find(w);
      if (it == replicated.end() || it->second < seq) {
        return invalid_argument("replicated." + w + ": behind the newest point's seq " +
                                std::to_string(seq.value()));
      }
    }
  }
  RecoveryPointLog log;
  log.points_ = std::move(points);
  log.replicated_ = std::move(replicated);
  log.last_id_ = last_id;
  return log;
}

}  // namespace drsim::model
