#include "common/model/drill/recovery_bound.h"

#include <algorithm>
#include <limits>

namespace drsim::model {

Duration RecoveryBudget::total() const {
  return detection + ttl + std::max(lease, client_deadline) + slack;
}

RecoveryBudget recovery_budget(Duration probe_interval, Duration probe_timeout,
                               uint32_t tolerated_failures, Duration ttl, Duration lease,
                               Duration client_deadline, Duration slack) {
  RecoveryBudget b;
  b.detection = probe_interval * (int64_t{tolerated_failures} + 1) + probe_timeout;
  b.ttl = ttl;
  b.lease = lease;
  b.client_deadline = client_deadline;
  b.slack = slack;
  return b;
}

namespace {

// The first ok write `region` acknowledged to a TTL client, completing in (from, until).
std::optional<int64_t> first_ack_by(const std::vector<OpRecord>& ops, const std::string& region,
                                    int64_t from, int64_t until) {
  std::optional<int64_t> first;
  for (const OpRecord& op : ops) {
    if (!is_write(op.kind) || op.outcome != Outcome::kOk || op.region != region ||
        op.client_kind != ClientKind::kTtl || op.complete_ns <= from || op.complete_ns >= until) {
      continue;
    }
    if (!first || op.complete_ns < *first) first = op.complete_ns;
  }
  return first;
}

// Why a promotion whose region acknowledged nothing within the bound is not judged: the
// earliest of the promotion that superseded it (`superseding`, nullptr when none) and the
// interruptions in (at, window_end]; "" when none.
std::string excuse(const Promotion* superseding, const std::vector<Interruption>& interruptions,
                   int64_t at, int64_t window_end, bool ttl_clients) {
  if (!ttl_clients) return "no client follows the Traffic Manager";
  std::string why;
  int64_t cut = std::numeric_limits<int64_t>::max();
  if (superseding && superseding->promoted_ns <= window_end) {
    cut = superseding->promoted_ns;
    why = "the promotion of " + superseding->region + " to epoch " +
          std::to_string(superseding->epoch) + (cut <= at ? ", answered first" : "");
  }
  for (const Interruption& x : interruptions) {
    if (x.at_ns > at && x.at_ns <= window_end && x.at_ns < cut) {
      why = x.what;
      cut = x.at_ns;
    }
  }
  return why;
}

}  // namespace

std::vector<RecoveryCheck> judge_recoveries(const std::vector<OpRecord>& ops,
                                            const std::vector<Promotion>& promotions,
                                            const std::vector<Interruption>& interruptions,
                                            const RecoveryBudget& budget) {
  const bool ttl_clients = std::any_of(ops.begin(), ops.end(), [](const OpRecord& op) {
    return op.client_kind == ClientKind::kTtl;
  });
  const int64_t bound = budget.total().count();
  std::vector<RecoveryCheck> checks;
  for (const Promotion& promotion : promotions) {
    RecoveryCheck c;
    c.promotion = promotion;
    const int64_t at = c.promotion.promoted_ns;
    // A promotion to a newer epoch supersedes this one, whenever it was answered (racing
    // operators' answers may arrive in any order).
    const Promotion* superseding = nullptr;
    for (const Promotion& p : promotions) {
      if (p.epoch > promotion.epoch && (!superseding || p.promoted_ns < superseding->promoted_ns)) {
        superseding = &p;
      }
    }
    const int64_t next =
        superseding ? superseding->promoted_ns : std::numeric_limits<int64_t>::max();
    if (const auto ack = first_ack_by(ops, c.promotion.region, at, next)) {
      c.first_ack = Duration(*ack - at);
    }
    c.met = c.first_ack && c.first_ack->count() <= bound;
    if (!c.met) c.excused_by = excuse(superseding, interruptions, at, at + bound, ttl_clients);
    checks.push_back(std::move(c));
  }
  return checks;
}

}  // namespace drsim::model
