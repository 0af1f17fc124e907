// RegionNode's part in Site Recovery: what the vault driver reads from the region (newest seqs,
// whether the active region streams here) and the unplanned failover to recovery points, which
// rolls workloads back to a store checkpoint before promoting. Kept apart from region_node.cc,
// which is the replication driver proper.
#include <set>

#include <spdlog/spdlog.h>

#include "common/region/region_node.h"
#include "common/region/fail_stop.h"

namespace drsim::region {

std::map<std::string, Seq> RegionNode::workload_seqs() const {
  std::map<std::string, Seq> out;
  bool active = role_->role() == model::Role::kActive;
  for (const auto* w : order_) {
    out[w->spec.name] = active ? w->source.last_written() : w->sink.applied();
  }
  return out;
}

bool RegionNode::is_standby() const { return role_->role() == model::Role::kStandby; }

bool RegionNode::copy_incomplete(const std::string& workload) const {
  auto it = workloads_.find(workload);
  return it != workloads_.end() && it->second->copy_incomplete;
}

Result<drsim::v1::FailoverResponse> RegionNode::failover_to_points(
    const std::string& reason, const std::map<std::string, PointRollback>& points) {
  if (role_->role() != model::Role::kStandby) {
    return failed_precondition("region " + options_.name + " is already active (epoch " +
                               std::to_string(role_->epoch().value()) +
                               "); a failover to a recovery point runs on the standby");
  }
  if (Status s = check_failover(); !s.is_ok()) return s;
  // Everything that can fail is read first, so a refusal changes nothing.
  struct Plan {
    Workload* w;
    storage::WorkloadCursor cursor;
    std::vector<model::KeyRestore> restores;
  };
  std::vector<Plan> plans;
  for (const auto& [name, point] : points) {
    Workload* w = find(name);
    if (w == nullptr) {
      return invalid_argument("recovery point names workload '" + name + "', which region " +
                              options_.name + " does not host");
    }
    Seq applied = w->sink.applied();
    if (point.seq == applied) continue;  // the point holds everything here: nothing to undo
    if (point.seq > applied) {
      return failed_precondition(
          "recovery point of " + name + " holds seq " + std::to_string(point.seq.value()) +
          " but region " + options_.name + " applied only " + std::to_string(applied.value()));
    }
    std::set<std::string> keys;
    uint64_t entries = 0;
    Status s = store_.scan_log(name, point.seq.next(), applied, [&](const drsim::v1::Change& c) {
      keys.insert(c.key());
      ++entries;
      return true;
    });
    if (!s.is_ok()) return s;
    if (entries != applied.value() - point.seq.value()) {
      return failed_precondition("the replication log of " + name + " holds " +
                                 std::to_string(entries) + " of the " +
                                 std::to_string(applied.value() - point.seq.value()) +
                                 " entries after the recovery point (trimmed by --log-retention); "
                                 "choose a newer point");
    }
    auto epoch = store_.log_epoch(name, point.seq);
    if (!epoch.is_ok()) return epoch.status();
    auto restores = storage::RegionStore::read_checkpoint(
        point.checkpoint_dir, name, std::vector<std::string>(keys.begin(), keys.end()));
    if (!restores.is_ok()) return restores.status();
    plans.push_back({w, {point.seq, *epoch}, std::move(restores).value()});
  }
  for (auto& p : plans) {
    if (Status s = store_.roll_back(p.w->spec.name, p.cursor, p.restores); !s.is_ok()) {
      // A half-done rollback cannot be promoted: the store and memory would disagree.
      fail_stop("cannot roll " + p.w->spec.name + " back to its recovery point: " + s.to_string());
    }
    spdlog::info(
        "failover to recovery point: {} rolled back from seq {} to seq {} ({} key(s) "
        "restored from the point)",
        p.w->spec.name, p.w->sink.applied().value(), p.cursor.seq.value(), p.restores.size());
    p.w->sink = model::ReplicationSink(p.cursor.seq, p.cursor.epoch);
    p.w->last_epoch = p.cursor.epoch;
  }
  if (planned_) {
    finish_planned(Status(StatusCode::kAborted,
                          "superseded by an unplanned failover of region " + options_.name));
  }
  return promote(reason, false, false);
}

Status RegionNode::change_to_points(const std::map<std::string, PointChange>& points) {
  if (role_->role() != model::Role::kActive) {
    return failed_precondition("region " + options_.name +
                               " is not active; a recovery point is changed after a failover");
  }
  for (const auto& [name, point] : points) {
    if (find(name) == nullptr) {
      return invalid_argument("recovery point names workload '" + name + "', which region " +
                              options_.name + " does not host");
    }
    if (point.keep_log_through > point.seq) {
      return invalid_argument("change of " + name + ": the common seq is past the new point");
    }
  }
  // Writes admitted but not flushed yet would land after the change with stale seqs: flush
  // them first (they are then discarded with the other writes since the failover).
  if (!queued_.empty()) flush_writes();
  for (const auto& [name, point] : points) {
    Workload* w = find(name);
    Seq before = w->source.last_written();
    auto cursor = store_.restore_from_checkpoint(point.checkpoint_dir, name, point.keep_log_through,
                                                 point.seq);
    if (!cursor.is_ok()) {
      if (points.size() == 1) return cursor.status();
      // A later workload failed after earlier ones changed: store and memory would disagree.
      fail_stop("cannot change " + name + " to its recovery point: " +
                cursor.status().to_string());
    }
    w->source = model::ReplicationSource(cursor->seq);
    w->last_epoch = cursor->epoch;
    w->sink = model::ReplicationSink(cursor->seq, cursor->epoch);
    w->recent.clear();
    w->recent_first = cursor->seq.next();
    spdlog::info("change recovery point: {} moved from seq {} to the point at seq {} (epoch {})",
                 name, before.value(), cursor->seq.value(), cursor->epoch.value());
  }
  return Status::ok();
}

void RegionNode::hold_workload(const std::string& workload, const std::string& reason) {
  held_[workload] = reason;
}

void RegionNode::release_workload(const std::string& workload) { held_.erase(workload); }

Status RegionNode::check_held(const std::string& workload) const {
  auto it = held_.find(workload);
  if (it == held_.end()) return Status::ok();
  return unavailable("workload '" + workload + "' is not started yet in region " + options_.name +
                     ": " + it->second);
}

}  // namespace drsim::region
