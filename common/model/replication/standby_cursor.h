// A replication source's check of the standby's durable cursor when a stream is welcomed
// (RegionNode::accept_standby_cursor): may this region resume sending after the standby's newest
// entry? Pure: the decision and the operator's message, as values.
//
//   - The standby's newest entry must be this region's too (as Raft's prevLogTerm): the same seq
//     under another epoch means the histories diverged — re-protect needed.
//   - This region vouches for its log up to its newest write, or, after a restart that left a
//     mark (`unverified_after`: it restarted without hearing from its standby and wrote on), only
//     up to the mark. A standby holding more than that holds acknowledged writes this region lost
//     (or, past a mark, other writes under the same seqs): this region must stop serving, and the
//     operator fail over to the standby, which has them.
//   - Otherwise sending resumes after the standby's cursor.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/core/ids.h"

namespace drsim::model {

// What the source knows of one workload when the standby's cursor arrives.
struct StandbyCursorFacts {
  std::string region;    // this region, for messages
  std::string standby;   // the standby's region, for messages
  std::string workload;
  Seq standby_seq;       // the standby's newest durable entry
  uint64_t standby_epoch = 0;
  Seq last_written;      // this region's newest write
  std::optional<Seq> unverified_after;  // the restart mark, if any (never beyond last_written)
};

struct StandbyCursorVerdict {
  enum class Kind {
    kResume,         // send from the standby's cursor + 1
    kDiverged,       // drop the link: re-protect needed
    kBehindStandby,  // refuse writes, fail the waiting ones, drop the link: fail over
  };
  Kind kind = Kind::kResume;
  std::string message;  // kDiverged, kBehindStandby: what the operator reads
};

// `our_epoch_at(seq)`: the epoch of this region's log entry `seq` (nullopt when it cannot tell,
// which is not taken for a divergence); asked only for a seq in 1..last_written.
StandbyCursorVerdict judge_standby_cursor(
    const StandbyCursorFacts& facts,
    const std::function<std::optional<uint64_t>(Seq)>& our_epoch_at);

}  // namespace drsim::model
