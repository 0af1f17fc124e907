// Operator flows on a running topology that change which region protects which: planned
// failover, re-protect and failback. `drsim failover --planned`, `drsim reprotect`,
// `drsim failback` and the drill steps of the same names all run here, so a drill does
// exactly what an operator would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/topology.h"
#include "common/core/status.h"
#include "drsim/v1/admin.pb.h"

namespace drsim::cli {

inline constexpr uint32_t kDefaultDrainTimeoutMs = 10'000;
// Re-protect answers when the resync finished; a full copy of a large region takes a while.
inline constexpr std::chrono::milliseconds kReprotectDeadline{600'000};

struct PlannedFailoverOutcome {
  std::string from, to;  // former and new active region
  drsim::v1::PlannedFailoverResponse response;
  std::vector<std::string> lines;  // what happened, one line each
  int items_failed_over = 0;       // protected items moved to FailedOver with the region pair
};

// Planned failover to `to` ("" = the standby): the active region stops accepting writes,
// replication drains, `to` is promoted with nothing lost. `reprotect` replicates back at once.
Result<PlannedFailoverOutcome> run_planned_failover(const TopologyState& state, std::string to,
                                                    const std::string& reason,
                                                    uint32_t drain_timeout_ms, bool reprotect);

struct ReprotectOutcome {
  std::string active, standby;
  drsim::v1::ReprotectResponse response;
  std::vector<std::string> lines;
};

// Re-protect from `active` ("" = the region that is active now) to the other region: a delta
// from the last common (epoch, seq) when the other region still has its state, else a full copy.
Result<ReprotectOutcome> run_reprotect(const TopologyState& state, std::string active,
                                       const std::string& reason);

struct FailbackOutcome {
  PlannedFailoverOutcome failover;
  ReprotectOutcome reprotect;
};

// Failback: a planned failover back to the primary region (zero loss), then re-protect so the
// secondary protects it again. Refused, with what to do instead, when the primary is already
// active or is not yet protected by the secondary.
Result<FailbackOutcome> run_failback(const TopologyState& state, const std::string& reason,
                                     uint32_t drain_timeout_ms);

// "delta, 1,204 changes, 131 KB in 28 ms; 3 entries rolled back (2 keys restored)" and one
// line per workload.
std::vector<std::string> describe_resync(const drsim::v1::ResyncStats& stats);

}  // namespace drsim::cli
