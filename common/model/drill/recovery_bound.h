// The recovery-time bound after a promotion: how long the clients that follow the Traffic
// Manager may go without a write acknowledged by the region just promoted, and its judgement
// over a client history. The simulator judges every failover of every seed with it
// (docs/simulation.md, "Recovery time"); pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/core/time.h"
#include "common/model/drill/history.h"
#include "common/model/drill/history_checker.h"

namespace drsim::model {

// The parts of the bound, each from the topology's own settings.
struct RecoveryBudget {
  // The Traffic Manager's detection of a region that stopped serving: (tolerated failures + 1)
  // probes, one interval apart, the last one given its timeout.
  Duration detection{};
  // How long a client keeps an answer of the Traffic Manager.
  Duration ttl{};
  // The old active region may still report itself serving (and so stay routed) until its
  // lease runs out; a client stuck in a call to a dead or frozen region waits its deadline.
  // The two do not add up: a region that still answers probes answers its clients too.
  Duration lease{};
  Duration client_deadline{};
  // Everything else: the clients' pause between two operations, link delays, clock drift
  // within the lease's bound.
  Duration slack{};

  // detection + ttl + max(lease, client_deadline) + slack.
  Duration total() const;
};

// The budget of a Traffic Manager probing every `probe_interval` with `probe_timeout`,
// tolerating `tolerated_failures`, answering with `ttl`; regions holding `lease`; clients
// giving up on a call after `client_deadline`.
RecoveryBudget recovery_budget(Duration probe_interval, Duration probe_timeout,
                               uint32_t tolerated_failures, Duration ttl, Duration lease,
                               Duration client_deadline, Duration slack);

// Something after which the promoted region is no longer promised to serve the clients within
// the bound: another fault, another operator call, the clients stopped.
struct Interruption {
  int64_t at_ns = 0;
  std::string what;
};

struct RecoveryCheck {
  Promotion promotion;  // a failover's answer (planned or not): promoted_ns and region
  // The first write the promoted region acknowledged to a client that follows the Traffic
  // Manager (ClientKind::kTtl), completing after the promotion, minus the promotion.
  std::optional<Duration> first_ack;
  // Why the promotion is not judged: the first interruption within the bound (or a later
  // promotion) when no write was acknowledged before it. Empty when judged.
  std::string excused_by;
  bool met = false;  // judged, and first_ack within the bound
  bool judged() const { return excused_by.empty(); }
};

// One check per promotion, in order. A promotion meets the bound when a TTL client's write is
// acknowledged by its region within budget.total() of it; it is excused (not judged) when,
// before such a write, the window is cut by an interruption or by a promotion to a newer epoch
// (answered before or after it: racing operators' answers come in any order). With no TTL
// client in `ops` at all nothing is judged (excused_by says so).
std::vector<RecoveryCheck> judge_recoveries(const std::vector<OpRecord>& ops,
                                            const std::vector<Promotion>& promotions,
                                            const std::vector<Interruption>& interruptions,
                                            const RecoveryBudget& budget);

}  // namespace drsim::model
