// The standby's rules for one replication batch (ChangeBatch), change by change: which changes
// to make durable, in order, and why the rest was refused. Pure; RegionNode::sink_batch feeds
// it the batch and acts on the answer, and tests/fuzz/replication_frames_fuzz.cc feeds it
// arbitrary frame sequences.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/model/replication/sink.h"

namespace drsim::model {

enum class ChangeShape { kWellFormed, kMalformed };  // kMalformed: an empty key or no op

// One change of a batch as the rules see it. `sink` is the named workload's sink on this
// region, nullptr when the region has no such workload.
struct IncomingChange {
  std::string_view workload;
  ReplicationSink* sink = nullptr;
  Epoch epoch;
  Seq seq;
  ChangeShape shape = ChangeShape::kWellFormed;
};

// How much of a batch was refused: nothing, all of it before any change was looked at (the batch
// is from an older epoch: nothing to ack), or the change after the last admitted one onward.
enum class BatchRefusal { kNone, kWholeBatch, kFromChange };

struct BatchAdmission {
  // Indexes into the batch of the changes to make durable, in batch order. Their sinks have
  // already recorded them (on_applied), so the caller must make them durable before it acks.
  std::vector<size_t> apply;
  // OK, or why the change after the last admitted one (and the rest) was refused:
  // FAILED_PRECONDITION for a batch or change from an epoch older than the current one,
  // OUT_OF_RANGE for a gap, INVALID_ARGUMENT for an unknown workload or malformed change.
  Status refusal;
  BatchRefusal scope = BatchRefusal::kNone;
  // What the ack after this batch lists: the index of the first change of each workload the
  // batch names that this region has (applied, duplicate or refused alike), in batch order.
  // Only these cursors can have moved, so an ack costs O(workloads in the batch), not
  // O(workloads on the region); the source keeps the others as last acked. Empty when the
  // whole batch is refused (no ack then).
  std::vector<size_t> acknowledge;
};

// `current` is the region's epoch. Duplicates (seq already applied) are skipped; the first
// refused change stops the batch, and what came before it stays admitted.
BatchAdmission admit_change_batch(Epoch batch_epoch, Epoch current,
                                  std::span<const IncomingChange> changes);

}  // namespace drsim::model
