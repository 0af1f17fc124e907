// One re-protect resync as either region sees it: per workload the plan (delta or full), the
// seq the standby must reach (the active region's newest write when the resync started, or the
// snapshot seq of a full copy), what the standby has made durable, and the transfer counters.
// Pure, `now` passed in. The active region's RegionNode keeps one while re-protecting (bytes it
// sent); the standby's keeps one while receiving (bytes it applied). Counters add up over
// reconnects: a resync interrupted by a broken stream resumes and its totals include both parts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/core/ids.h"
#include "common/core/time.h"
#include "common/model/replication/resync_plan.h"

namespace drsim::model {

struct WorkloadResync {
  bool planned = false;
  ResyncKind kind = ResyncKind::kDelta;
  Seq common{0};
  Epoch common_epoch{0};
  Seq target{0};
  Seq reached{0};
  bool copy_pending = false;  // full: not every key copied yet
  uint64_t rolled_back_entries = 0;
  uint64_t restored_keys = 0;
  uint64_t changes = 0;      // log entries sent / applied for the resync
  uint64_t keys_copied = 0;  // full copy
  uint64_t bytes = 0;        // frame bytes sent / received for this workload
  uint64_t estimated_copy_bytes = 0;
  uint64_t copy_bytes = 0;
  std::string reason;

  bool done() const { return planned && !copy_pending && reached >= target; }
  double fraction() const;
};

class ResyncProgress {
 public:
  ResyncProgress() = default;
  explicit ResyncProgress(Time started) : started_(started), running_(true), used_(true) {}

  // The standby's plan for `workload`; `target` = the seq it must reach. A later plan (after a
  // reconnect) replaces the earlier one; the counters are kept.
  void on_planned(const std::string& workload, const ResyncPlan& plan, Seq target,
                  uint64_t restored_keys);
  // Full copy of `workload` starts at the active region's `snapshot_seq` (the new target).
  void on_copy_started(const std::string& workload, Seq snapshot_seq, uint64_t estimated_bytes);
  void on_copy_chunk(const std::string& workload, uint64_t keys, uint64_t bytes);
  // Every key is copied (sent, or applied on the standby side).
  void on_copy_finished(const std::string& workload);
  void on_changes(const std::string& workload, uint64_t changes, uint64_t bytes);
  void on_bytes(uint64_t bytes) { other_bytes_ += bytes; }
  // The standby made everything up to `seq` of `workload` durable.
  void on_reached(const std::string& workload, Seq seq);
  // Plans of every workload known and each reached its target.
  bool complete(size_t workloads) const;
  void finish(Time now);

  bool running() const { return running_; }
  bool started() const { return used_; }
  // Full when any workload was fully copied (in any attempt), else delta.
  ResyncKind kind() const { return full_seen_ ? ResyncKind::kFull : ResyncKind::kDelta; }
  uint64_t bytes() const;
  uint64_t changes() const;
  uint64_t keys_copied() const;
  uint64_t rolled_back_entries() const;
  uint64_t restored_keys() const;
  Duration elapsed(Time now) const { return (running_ ? now : finished_) - started_; }
  // 0..1, the mean over workloads (a full copy counts estimated bytes, a delta changes).
  double fraction(size_t workloads) const;
  const std::map<std::string, WorkloadResync>& workloads() const { return workloads_; }

 private:
  Time started_ = kTimeZero;
  Time finished_ = kTimeZero;
  bool running_ = false;
  bool used_ = false;
  bool full_seen_ = false;
  uint64_t other_bytes_ = 0;  // hello, welcome and other frames not tied to one workload
  std::map<std::string, WorkloadResync> workloads_;
};

}  // namespace drsim::model
