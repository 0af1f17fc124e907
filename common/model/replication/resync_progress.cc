#include "common/model/replication/resync_progress.h"

#include <algorithm>

namespace drsim::model {

double WorkloadResync::fraction() const {
  if (!planned) return 0.0;
  if (done()) return 1.0;
  if (kind == ResyncKind::kFull && copy_pending) {
    if (estimated_copy_bytes == 0) return 0.0;
    return std::min(0.99, static_cast<double>(copy_bytes) / estimated_copy_bytes);
  }
  uint64_t total = target.value() > common.value() ? target.value() - common.value() : 0;
  uint64_t got = reached.value() > common.value() ? reached.value() - common.value() : 0;
  if (total == 0) return 0.99;  // only the acknowledgement is missing
  return std::min(0.99, static_cast<double>(got) / total);
}

void ResyncProgress::on_planned(const std::string& workload, const ResyncPlan& plan, Seq target,
                                uint64_t restored_keys) {
  auto& w = workloads_[workload];
  w.planned = true;
  w.kind = plan.kind;
  w.common = plan.kind == ResyncKind::kDelta ? plan.common : Seq(0);
  w.common_epoch = plan.kind == ResyncKind::kDelta ? plan.common_epoch : Epoch(0);
  w.target = target;
  w.reached = w.common;
  w.copy_pending = plan.kind == ResyncKind::kFull;
  w.rolled_back_entries += plan.kind == ResyncKind::kDelta ? plan.rollback_entries : 0;
  w.restored_keys += restored_keys;
  w.reason = plan.reason;
  if (plan.kind == ResyncKind::kFull) full_seen_ = true;
}

void ResyncProgress::on_copy_started(const std::string& workload, Seq snapshot_seq,
                                     uint64_t estimated_bytes) {
  auto& w = workloads_[workload];
  w.copy_pending = true;
  w.target = std::max(w.target, snapshot_seq);
  w.estimated_copy_bytes = estimated_bytes;
  w.copy_bytes = 0;
  full_seen_ = true;
}

void ResyncProgress::on_copy_chunk(const std::string& workload, uint64_t keys, uint64_t bytes) {
  auto& w = workloads_[workload];
  w.keys_copied += keys;
  w.bytes += bytes;
  w.copy_bytes += bytes;
}

void ResyncProgress::on_copy_finished(const std::string& workload) {
  workloads_[workload].copy_pending = false;
}

void ResyncProgress::on_changes(const std::string& workload, uint64_t changes, uint64_t bytes) {
  auto& w = workloads_[workload];
  w.changes += changes;
  w.bytes += bytes;
}

void ResyncProgress::on_reached(const std::string& workload, Seq seq) {
  auto it = workloads_.find(workload);
  if (it == workloads_.end()) return;
  it->second.reached = std::max(it->second.reached, seq);
}

bool ResyncProgress::complete(size_t workloads) const {
  if (workloads_.size() < workloads) return false;
  return std::all_of(workloads_.begin(), workloads_.end(),
                     [](const auto& kv) { return kv.second.done(); });
}

void ResyncProgress::finish(Time now) {
  if (!running_) return;
  running_ = false;
  finished_ = now;
}

uint64_t ResyncProgress::bytes() const {
  uint64_t n = other_bytes_;
  for (const auto& [_, w] : workloads_) n += w.bytes;
  return n;
}

uint64_t ResyncProgress::changes() const {
  uint64_t n = 0;
  for (const auto& [_, w] : workloads_) n += w.changes;
  return n;
}

uint64_t ResyncProgress::keys_copied() const {
  uint64_t n = 0;
  for (const auto& [_, w] : workloads_) n += w.keys_copied;
  return n;
}

uint64_t ResyncProgress::rolled_back_entries() const {
  uint64_t n = 0;
  for (const auto& [_, w] : workloads_) n += w.rolled_back_entries;
  return n;
}

uint64_t ResyncProgress::restored_keys() const {
  uint64_t n = 0;
  for (const auto& [_, w] : workloads_) n += w.restored_keys;
  return n;
}

double ResyncProgress::fraction(size_t workloads) const {
  if (!running_ && started()) return 1.0;
  if (workloads == 0) return 0.0;
  double sum = 0;
  for (const auto& [_, w] : workloads_) sum += w.fraction();
  return sum / static_cast<double>(std::max(workloads, workloads_.size()));
}

}  // namespace drsim::model
