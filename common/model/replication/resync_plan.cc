#include "common/model/replication/resync_plan.h"

#include <algorithm>
#include <limits>

namespace drsim::model {
namespace {

std::string seq_str(Seq s) { return std::to_string(s.value()); }

// The spans plus the cursor: a region knows the epoch of its newest entry even when its log no
// longer holds it (after a full copy).
std::vector<EpochSpan> known_points(const LogSummary& s) {
  std::vector<EpochSpan> v = s.spans;
  if (!s.empty() && (v.empty() || v.back().last < s.last)) {
    v.push_back({s.last_epoch, s.last, s.last});
  }
  return v;
}

}  // namespace

const char* resync_kind_name(ResyncKind k) { return k == ResyncKind::kDelta ? "delta" : "full"; }

Status validate_log_summary(const std::string& where, const LogSummary& s, size_t max_spans) {
  if (s.spans.size() > max_spans) {
    return invalid_argument(where + ": " + std::to_string(s.spans.size()) +
                            " epoch spans exceed the limit of " + std::to_string(max_spans));
  }
  if (s.empty() && s.last_epoch.value() != 0) {
    return invalid_argument(where + ": an empty history cannot have an epoch");
  }
  if (!s.empty() && s.last_epoch.value() == 0) {
    return invalid_argument(where + ": seq " + seq_str(s.last) + " has epoch 0");
  }
  if (s.first_retained.value() == 0 || s.first_retained.value() > s.last.value() + 1) {
    return invalid_argument(where + ": first_retained " + seq_str(s.first_retained) +
                            " is outside 1.." + std::to_string(s.last.value() + 1));
  }
  Seq expect = s.first_retained;
  Epoch prev{0};
  for (size_t i = 0; i < s.spans.size(); ++i) {
    const auto& sp = s.spans[i];
    std::string at = where + ".spans[" + std::to_string(i) + "]";
    if (sp.first != expect || sp.last < sp.first) {
      return invalid_argument(at + ": spans must be contiguous from first_retained (expected " +
                              seq_str(expect) + ".., got " + seq_str(sp.first) + ".." +
                              seq_str(sp.last) + ")");
    }
    if (sp.epoch.value() == 0 || sp.epoch <= prev) {
      return invalid_argument(at + ": epochs must be > 0 and ascending");
    }
    prev = sp.epoch;
    expect = sp.last.next();
  }
  if (!s.spans.empty()) {
    if (s.spans.back().last != s.last || s.spans.back().epoch != s.last_epoch) {
      return invalid_argument(where + ": the last span must end at the cursor (seq " +
                              seq_str(s.last) + ", epoch " + std::to_string(s.last_epoch.value()) +
                              ")");
    }
  } else if (s.first_retained != s.last.next()) {
    return invalid_argument(where + ": no spans but first_retained " + seq_str(s.first_retained) +
                            " says the log holds entries");
  }
  return Status::ok();
}

EpochLookup epoch_at(const LogSummary& s, Seq seq) {
  if (seq.value() == 0) return {true, Epoch(0)};
  for (const auto& p : known_points(s)) {
    if (p.first <= seq && seq <= p.last) return {true, p.epoch};
  }
  return {};
}

ResyncPlan plan_resync(const LogSummary& standby, const LogSummary& active,
                       bool standby_incomplete, std::optional<Seq> standby_own_after) {
  ResyncPlan plan;
  if (standby_incomplete) {
    plan.reason = "an earlier full copy into the standby did not finish";
    return plan;
  }
  if (standby.empty()) {
    if (active.empty()) {
      plan.kind = ResyncKind::kDelta;
      plan.reason = "no writes on either side";
      return plan;
    }
    plan.reason = "the standby has no data for this workload (new or wiped data directory)";
    return plan;
  }
  // Newest seq at which both logs hold an entry of the same epoch — on the standby's side no
  // later than where its own branch may begin.
  const Seq cap = standby_own_after.value_or(Seq(std::numeric_limits<uint64_t>::max()));
  bool found = false;
  Seq common{0};
  Epoch common_epoch{0};
  for (const auto& a : known_points(standby)) {
    for (const auto& b : known_points(active)) {
      if (a.epoch != b.epoch) continue;
      Seq lo = std::max(a.first, b.first);
      Seq hi = std::min({a.last, b.last, cap});
      if (lo <= hi && (!found || hi > common)) {
        found = true;
        common = hi;
        common_epoch = a.epoch;
      }
    }
  }
  if (!found) {
    if (standby.first_retained.value() == 1 && active.first_retained.value() == 1) {
      // Both logs are complete and differ from their first entry: share the empty prefix.
      found = true;
    } else {
      plan.reason = "no common entry in the retained logs (standby keeps seq " +
                    seq_str(standby.first_retained) + "..., the active region " +
                    seq_str(active.first_retained) + "...)";
      return plan;
    }
  }
  if (common < standby.last && standby.first_retained > common.next()) {
    plan.reason = "the standby's log no longer holds seq " + seq_str(common.next()) +
                  ", the first entry to roll back";
    return plan;
  }
  if (common < active.last && active.first_retained > common.next()) {
    plan.reason = "the common point seq " + seq_str(common) +
                  " is older than the active region's retained log (from seq " +
                  seq_str(active.first_retained) + ")";
    return plan;
  }
  plan.kind = ResyncKind::kDelta;
  plan.common = common;
  plan.common_epoch = common_epoch;
  plan.rollback_entries = standby.last.value() - common.value();
  plan.changes_to_send = active.last.value() - common.value();
  plan.reason = "delta from seq " + seq_str(common) + " (epoch " +
                std::to_string(common_epoch.value()) + "): roll back " +
                std::to_string(plan.rollback_entries) + ", send " +
                std::to_string(plan.changes_to_send);
  if (standby_own_after && *standby_own_after < standby.last) {
    plan.reason += " (the standby wrote after seq " + seq_str(*standby_own_after) +
                   " without its peer's word: those entries are its own)";
  }
  return plan;
}

}  // namespace drsim::model
