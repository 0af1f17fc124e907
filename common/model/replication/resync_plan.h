// How a re-protect brings a former active region (now the standby) back in line with the new
// active region, per workload: a DELTA from the last (epoch, seq) both logs share — the standby
// first discards its entries after that point, the writes it made at the old epoch that never
// reached the new active region — or a FULL copy of every key. Pure: the region driver (both
// sides) builds a LogSummary from its store, the standby plans, acts, and tells the source.
//
// The rule it relies on is Raft's log matching: an (epoch, seq) names one write, made by the one
// region active at that epoch, so two logs holding the same (epoch, seq) agree on every entry
// before it. The common point is therefore the newest seq at which both logs hold the same epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"

namespace drsim::model {

// Log entries [first, last] all written at `epoch`.
struct EpochSpan {
  Epoch epoch;
  Seq first;
  Seq last;
};

// What a region knows about one workload's history: its newest entry (the cursor) and the
// epochs of the entries its log still holds. A region whose log was cleared by a full copy knows
// only its cursor (spans empty, first_retained = last + 1).
struct LogSummary {
  Seq last{0};                   // newest seq applied; 0 = no history
  Epoch last_epoch{0};           // its epoch
  Seq first_retained{1};         // first seq whose entry is still in the log (last + 1 when none)
  std::vector<EpochSpan> spans;  // ascending, contiguous, covering first_retained..last

  bool empty() const { return last.value() == 0; }
};

// Sanity of a summary that arrived over the wire (`where` names the field in errors).
Status validate_log_summary(const std::string& where, const LogSummary& s, size_t max_spans);

enum class ResyncKind { kDelta, kFull };
const char* resync_kind_name(ResyncKind k);  // "delta", "full"

struct ResyncPlan {
  ResyncKind kind = ResyncKind::kFull;
  // Delta only: the newest entry both logs share (0 = they share nothing but both start at 1).
  Seq common{0};
  Epoch common_epoch{0};
  uint64_t rollback_entries = 0;  // standby entries after `common` to discard
  uint64_t changes_to_send = 0;   // active entries after `common` to send
  std::string reason;             // why full, or what the delta does, for status and logs
};

// Plans the resync of one workload. `standby` is the region being re-protected (the former
// active), `active` the region that will replicate to it. `standby_incomplete` = the standby's
// data is not a consistent copy (a full copy into it was interrupted): always full.
// `standby_own_after`: the standby's entries after this seq may be a branch of its own — it
// restarted having lost writes and wrote on at the same epoch before hearing its peer
// (RegionStore::mark_unverified) — so the same (epoch, seq) on both sides does not prove the
// same write there: the common point is at most this seq.
ResyncPlan plan_resync(const LogSummary& standby, const LogSummary& active,
                       bool standby_incomplete,
                       std::optional<Seq> standby_own_after = std::nullopt);

// Epoch of entry `seq` according to a summary (the cursor counts even when its entry is gone);
// Epoch(0) with found = false when the summary does not hold it.
struct EpochLookup {
  bool found = false;
  Epoch epoch{0};
};
EpochLookup epoch_at(const LogSummary& s, Seq seq);

}  // namespace drsim::model
