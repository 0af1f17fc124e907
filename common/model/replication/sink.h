// The standby region's side of one workload's replication: decides, change by
// change, whether to apply, skip a duplicate, or refuse (gap, stale epoch).
// Pure; the driver makes applied changes durable and then acks.
#pragma once

#include <string>

#include "common/core/ids.h"
#include "common/core/status.h"

namespace drsim::model {

enum class ApplyDecision {
  kApply,       // seq == applied + 1, epoch not older than the last applied one
  kDuplicate,   // seq <= applied: already durable, skip (idempotent apply)
  kGap,         // seq > applied + 1: refuse, the source resumes from applied + 1
  kStaleEpoch,  // the change's epoch is older than one already applied
};

const char* apply_decision_name(ApplyDecision d);

class ReplicationSink {
 public:
  ReplicationSink(Seq applied = Seq(0), Epoch applied_epoch = Epoch(0))
      : applied_(applied), applied_epoch_(applied_epoch) {}

  ApplyDecision classify(Epoch change_epoch, Seq seq) const;
  // Records an applied change (after classify said kApply).
  void on_applied(Epoch change_epoch, Seq seq);
  // Status for a refused change, with the cursor the source must resume from.
  Status refusal(ApplyDecision d, Epoch change_epoch, Seq seq) const;

  Seq applied() const { return applied_; }
  Epoch applied_epoch() const { return applied_epoch_; }

 private:
  Seq applied_;
  Epoch applied_epoch_;
};

}  // namespace drsim::model
