#include "common/model/drill/history_checker.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/core/check.h"

namespace drsim::model {
namespace {

constexpr int64_t kMinNs = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxNs = std::numeric_limits<int64_t>::max();

// Latest instant at which an op may have taken effect. An indeterminate op may still be
// applied after the client gave up (a delayed request, a write replicated late), so it may
// take effect at any time after its invocation.
int64_t effective_complete(const OpRecord& op) {
  return op.outcome == Outcome::kOk ? op.complete_ns : kMaxNs;
}

// Ok or indeterminate: may have been applied.
bool maybe_applied(const OpRecord& op) { return op.outcome != Outcome::kFail; }

struct OkWrite {
  int64_t complete_ns;
  int64_t invoke_ns;
  size_t op;  // index into the history
};

// What the history says about one (workload, key).
struct KeyIndex {
  // Per value: the latest effective completion of an ok or indeterminate put of it.
  std::map<std::string, int64_t> latest_put_of_value;
  // Latest effective completion of an ok or indeterminate delete; kMinNs when none.
  int64_t latest_delete = kMinNs;
  bool has_delete = false;
  // Ok puts and deletes sorted by completion, with the running maximum of their invocation
  // (and which op has it) for "the newest write acknowledged before t".
  std::vector<OkWrite> ok_writes;
  std::vector<size_t> newest_invoked_prefix;  // index into ok_writes
};

std::map<WorkloadKey, KeyIndex> index_history(const std::vector<OpRecord>& ops) {
  std::map<WorkloadKey, KeyIndex> index;
  for (size_t i = 0; i < ops.size(); ++i) {
    const OpRecord& op = ops[i];
    if (!is_write(op.kind) || !maybe_applied(op)) continue;
    KeyIndex& k = index[WorkloadKey(op.workload, op.key)];
    const int64_t eff = effective_complete(op);
    if (op.kind == OpKind::kPut) {
      auto [it, inserted] = k.latest_put_of_value.emplace(op.value, eff);
      if (!inserted) it->second = std::max(it->second, eff);
    } else {
      k.has_delete = true;
      k.latest_delete = std::max(k.latest_delete, eff);
    }
    if (op.outcome == Outcome::kOk) k.ok_writes.push_back({op.complete_ns, op.invoke_ns, i});
  }
  for (auto& [key, k] : index) {
    std::stable_sort(
        k.ok_writes.begin(), k.ok_writes.end(),
        [](const OkWrite& a, const OkWrite& b) { return a.complete_ns < b.complete_ns; });
    k.newest_invoked_prefix.resize(k.ok_writes.size());
    for (size_t j = 0; j < k.ok_writes.size(); ++j) {
      const bool newer = j == 0 || k.ok_writes[j].invoke_ns >
                                       k.ok_writes[k.newest_invoked_prefix[j - 1]].invoke_ns;
      k.newest_invoked_prefix[j] = newer ? j : k.newest_invoked_prefix[j - 1];
    }
  }
  return index;
}

void count(OpCounts& c, Outcome outcome) {
  ++c.attempted;
  switch (outcome) {
    case Outcome::kOk:
      ++c.ok;
      break;
    case Outcome::kFail:
      ++c.failed;
      break;
    case Outcome::kIndeterminate:
      ++c.indeterminate;
      break;
  }
}

std::optional<std::string> final_value_of(const FinalState& final_state, const OpRecord& op) {
  auto it = final_state.find(WorkloadKey(op.workload, op.key));
  if (it == final_state.end()) return std::nullopt;
  return it->second;
}

bool put_is_lost(const OpRecord& w, const std::optional<std::string>& final_value,
                 const KeyIndex& k) {
  if (!final_value) {
    // Absent: only a delete that could be linearized after w explains it.
    return !(k.has_delete && k.latest_delete >= w.invoke_ns);
  }
  if (*final_value == w.value) return false;
  // Another put of the final value that could be linearized after w overwrote it. (w itself
  // does not qualify: its value differs.)
  auto it = k.latest_put_of_value.find(*final_value);
  return it == k.latest_put_of_value.end() || it->second < w.invoke_ns;
}

bool delete_is_lost(const OpRecord& d, const std::optional<std::string>& final_value,
                    const KeyIndex& k) {
  if (!final_value) return false;
  // A value no put wrote is not evidence about this delete.
  auto it = k.latest_put_of_value.find(*final_value);
  if (it == k.latest_put_of_value.end()) return false;
  return it->second < d.invoke_ns;
}

LostOp lost_op(const OpRecord& op, const std::optional<std::string>& final_value) {
  LostOp l;
  l.id = op.id;
  l.kind = op.kind;
  l.workload = op.workload;
  l.key = op.key;
  l.value = op.kind == OpKind::kPut ? op.value : std::string();
  l.region = op.region;
  l.epoch = op.epoch;
  l.seq = op.seq;
  l.complete_ns = op.complete_ns;
  l.final_value = final_value;
  return l;
}

// The ok write with the latest invocation among those completing strictly before `t`.
const OkWrite* newest_acked_before(const KeyIndex& k, int64_t t) {
  auto end = std::lower_bound(k.ok_writes.begin(), k.ok_writes.end(), t,
                              [](const OkWrite& w, int64_t v) { return w.complete_ns < v; });
  if (end == k.ok_writes.begin()) return nullptr;
  const size_t last = static_cast<size_t>(end - k.ok_writes.begin()) - 1;
  return &k.ok_writes[k.newest_invoked_prefix[last]];
}

Duration clamped_part(int64_t from_ns, int64_t to_ns, bool& clamped) {
  if (to_ns < from_ns) {
    clamped = true;
    return Duration(0);
  }
  return Duration(to_ns - from_ns);
}

// How long the call lane that made `first` (same run, client, lane) spent, between `from_ns`
// and invoking `first`, blocked in calls the client gave up on (its deadline or keepalive
// expired). A lane runs one call at a time, so its calls do not overlap.
Duration deadline_wait(const std::vector<OpRecord>& ops, const OpRecord& first, int64_t from_ns) {
  int64_t blocked = 0;
  for (const OpRecord& op : ops) {
    if (!client_gave_up(op.end) || op.client != first.client || op.lane != first.lane ||
        op.run != first.run) {
      continue;
    }
    const int64_t start = std::max(op.invoke_ns, from_ns);
    const int64_t end = std::min(op.complete_ns, first.invoke_ns);
    if (end > start) blocked += end - start;
  }
  return Duration(blocked);
}

}  // namespace

CheckResult check_history(const std::vector<OpRecord>& ops, const FinalState& final_state,
                          const CheckOptions& opts) {
  CheckResult result;
  const std::map<WorkloadKey, KeyIndex> index = index_history(ops);
  static const KeyIndex kEmpty;
  auto index_of = [&](const OpRecord& op) -> const KeyIndex& {
    auto it = index.find(WorkloadKey(op.workload, op.key));
    return it == index.end() ? kEmpty : it->second;
  };

  for (const OpRecord& op : ops) {
    if (is_write(op.kind)) {
      count(result.writes, op.outcome);
      if (op.outcome == Outcome::kOk) ++result.ok_writes_by_region[op.region];
    } else {
      count(result.reads, op.outcome);
    }

    if (op.kind == OpKind::kPut && op.outcome == Outcome::kOk) {
      const auto final_value = final_value_of(final_state, op);
      if (put_is_lost(op, final_value, index_of(op))) {
        result.lost.push_back(lost_op(op, final_value));
      }
    } else if (op.kind == OpKind::kDelete && op.outcome == Outcome::kOk) {
      const auto final_value = final_value_of(final_state, op);
      if (delete_is_lost(op, final_value, index_of(op))) {
        result.lost.push_back(lost_op(op, final_value));
      }
    } else if (op.kind == OpKind::kPut && op.outcome == Outcome::kIndeterminate) {
      const auto final_value = final_value_of(final_state, op);
      if (final_value && *final_value == op.value) {
        result.recovered.push_back({op.id, op.workload, op.key, op.value});
      }
    } else if (op.kind == OpKind::kGet && op.outcome == Outcome::kOk) {
      const KeyIndex& k = index_of(op);
      // The latest moment a write producing what the read saw may have taken effect.
      int64_t latest_source = kMinNs;  // not found, never deleted: the initial state
      if (op.found) {
        auto it = k.latest_put_of_value.find(op.value);
        if (it == k.latest_put_of_value.end()) {
          ++result.unexplained_read_count;
          continue;
        }
        latest_source = it->second;
      } else if (k.has_delete) {
        latest_source = k.latest_delete;
      }
      const OkWrite* w = newest_acked_before(k, op.invoke_ns);
      if (w == nullptr || w->invoke_ns <= latest_source) continue;
      ++result.stale_read_count;
      if (result.stale_read_examples.size() < opts.max_stale_read_examples) {
        const OpRecord& newer = ops[w->op];
        StaleRead s;
        s.read_id = op.id;
        s.workload = op.workload;
        s.key = op.key;
        s.region = op.region;
        s.seen_found = op.found;
        s.seen_value = op.found ? op.value : std::string();
        s.read_invoke_ns = op.invoke_ns;
        s.newer_write_id = newer.id;
        s.newer_write_kind = newer.kind;
        s.newer_value = newer.kind == OpKind::kPut ? newer.value : std::string();
        s.newer_write_complete_ns = newer.complete_ns;
        result.stale_read_examples.push_back(std::move(s));
      }
    }
  }
  result.lost_count = result.lost.size();
  result.recovered_count = result.recovered.size();
  return result;
}

RtoBreakdown measure_rto(const std::vector<OpRecord>& ops, const OutageMarks& marks) {
  RtoBreakdown rto;
  rto.missing.fault = marks.fault_ns == 0;
  rto.missing.detected = marks.detected_ns == 0;
  rto.missing.promoted = marks.promoted_ns == 0;
  rto.missing.routed = marks.routed_ns == 0;

  std::vector<int64_t> ok_write_completions;
  int64_t span_start = kMaxNs;
  int64_t span_end = kMinNs;
  const OpRecord* first_ack_new = nullptr;
  for (const OpRecord& op : ops) {
    span_start = std::min(span_start, op.invoke_ns);
    span_end = std::max(span_end, op.complete_ns);
    if (!is_write(op.kind) || op.outcome != Outcome::kOk) continue;
    ok_write_completions.push_back(op.complete_ns);
    if (rto.missing.fault) continue;
    if (op.complete_ns < marks.fault_ns) {
      if (!rto.last_ok_write_before_fault_ns ||
          op.complete_ns > *rto.last_ok_write_before_fault_ns) {
        rto.last_ok_write_before_fault_ns = op.complete_ns;
      }
    } else if (!marks.new_region.empty() && op.region == marks.new_region &&
               (!rto.first_ack_new_ns || op.complete_ns < *rto.first_ack_new_ns)) {
      rto.first_ack_new_ns = op.complete_ns;
      rto.first_ack_new_id = op.id;
      first_ack_new = &op;
    }
  }

  if (rto.first_ack_new_ns) rto.total = Duration(*rto.first_ack_new_ns - marks.fault_ns);
  if (!rto.missing.fault && !rto.missing.detected) {
    rto.detection = clamped_part(marks.fault_ns, marks.detected_ns, rto.clamped);
  }
  if (!rto.missing.detected && !rto.missing.promoted) {
    rto.promotion = clamped_part(marks.detected_ns, marks.promoted_ns, rto.clamped);
  }
  if (!rto.missing.promoted && !rto.missing.routed) {
    rto.routing = clamped_part(marks.promoted_ns, marks.routed_ns, rto.clamped);
  }
  if (!rto.missing.routed && rto.first_ack_new_ns) {
    rto.client = clamped_part(marks.routed_ns, *rto.first_ack_new_ns, rto.clamped);
    const Duration blocked = deadline_wait(ops, *first_ack_new, marks.routed_ns);
    rto.client_deadline = std::min(blocked, *rto.client);
    rto.client_ttl = *rto.client - *rto.client_deadline;
  }

  if (!ops.empty()) {
    std::sort(ok_write_completions.begin(), ok_write_completions.end());
    WriteGap best{span_start, span_start};
    int64_t prev = span_start;
    auto consider = [&](int64_t t) {
      if (t - prev > best.end_ns - best.start_ns) best = WriteGap{prev, t};
      prev = std::max(prev, t);
    };
    for (int64_t t : ok_write_completions) consider(t);
    consider(span_end);
    rto.longest_write_gap = best;
  }
  return rto;
}

RpoEstimate rpo(const std::vector<OpRecord>& ops, const std::string& old_region, int64_t fault_ns,
                const std::vector<WorkloadRecoveryPoint>& points) {
  RpoEstimate estimate;
  for (const WorkloadRecoveryPoint& p : points) {
    WorkloadRpo w;
    w.workload = p.workload;
    w.acked_seq_at_old = p.acked_seq_at_old;
    w.recovered_seq = p.recovered_seq;
    w.writes = p.acked_seq_at_old > p.recovered_seq ? p.acked_seq_at_old - p.recovered_seq : 0;

    std::optional<int64_t> newest_before_fault;
    std::optional<int64_t> newest_recovered;
    for (const OpRecord& op : ops) {
      if (!is_write(op.kind) || op.outcome != Outcome::kOk || op.workload != p.workload ||
          op.region != old_region) {
        continue;
      }
      if (fault_ns == 0 || op.complete_ns < fault_ns) {
        newest_before_fault = std::max(newest_before_fault.value_or(kMinNs), op.complete_ns);
      }
      if (op.seq > 0 && op.seq <= p.recovered_seq) {
        newest_recovered = std::max(newest_recovered.value_or(kMinNs), op.complete_ns);
      }
    }
    if (w.writes == 0) {
      w.time = Duration(0);
    } else if (newest_before_fault && newest_recovered) {
      w.time = Duration(std::max<int64_t>(0, *newest_before_fault - *newest_recovered));
    }

    estimate.total_writes += w.writes;
    if (w.time) estimate.max_time = std::max(estimate.max_time.value_or(Duration(0)), *w.time);
    estimate.workloads.push_back(std::move(w));
  }
  return estimate;
}

OutcomeCounts Bucket::total() const {
  OutcomeCounts t;
  for (const auto& [region, c] : by_region) {
    t.ok += c.ok;
    t.fail += c.fail;
    t.indeterminate += c.indeterminate;
  }
  return t;
}

std::vector<Bucket> availability(const std::vector<OpRecord>& ops, int64_t start_ns,
                                 int64_t bucket_ns) {
  DRSIM_CHECK(bucket_ns > 0);
  std::vector<Bucket> buckets;
  for (const OpRecord& op : ops) {
    if (op.complete_ns < start_ns) continue;
    const size_t b = static_cast<size_t>((op.complete_ns - start_ns) / bucket_ns);
    while (buckets.size() <= b) {
      Bucket next;
      next.start_ns = start_ns + static_cast<int64_t>(buckets.size()) * bucket_ns;
      buckets.push_back(std::move(next));
    }
    OutcomeCounts& c = buckets[b].by_region[op.region];
    switch (op.outcome) {
      case Outcome::kOk:
        ++c.ok;
        break;
      case Outcome::kFail:
        ++c.fail;
        break;
      case Outcome::kIndeterminate:
        ++c.indeterminate;
        break;
    }
  }
  return buckets;
}

ClientSwitch measure_client_switch(const std::vector<OpRecord>& ops, const std::string& new_region,
                                   int64_t fault_ns) {
  // (run, client) -> first ok at new_region
  std::map<std::pair<std::string, uint32_t>, std::optional<int64_t>> moved_at;
  for (const OpRecord& op : ops) {
    if (op.client_kind != ClientKind::kTtl) continue;
    if (op.invoke_ns < fault_ns && op.complete_ns < fault_ns) continue;
    auto& at = moved_at[{op.run, op.client}];
    if (op.outcome == Outcome::kOk && op.region == new_region && op.complete_ns >= fault_ns &&
        (!at || op.complete_ns < *at)) {
      at = op.complete_ns;
    }
  }
  ClientSwitch out;
  out.clients = static_cast<uint32_t>(moved_at.size());
  std::optional<int64_t> first, last;
  for (const auto& [client, at] : moved_at) {
    if (!at) continue;
    ++out.moved;
    if (!first || *at < *first) first = *at;
    if (!last || *at > *last) last = *at;
  }
  if (first) out.first = Duration(*first - fault_ns);
  if (last && out.moved == out.clients) out.last = Duration(*last - fault_ns);
  return out;
}

FencedWrites writes_acked_after_fencing(const std::vector<OpRecord>& ops,
                                        const std::vector<Promotion>& promotions) {
  FencedWrites out;
  for (const OpRecord& op : ops) {
    if (!is_write(op.kind) || op.outcome != Outcome::kOk || op.epoch == 0) continue;
    for (const Promotion& p : promotions) {
      if (op.epoch >= p.epoch || op.complete_ns <= p.promoted_ns) continue;
      const bool invoked_after = p.promoted_ns < op.invoke_ns;
      if (!invoked_after) {
        auto it = p.continued_from.find(op.workload);
        if (it != p.continued_from.end() && op.seq > 0 && op.seq <= it->second) continue;
      }
      out.ids.push_back(op.id);
      ++(invoked_after ? out.invoked_after_promotion : out.in_flight_across);
      break;
    }
  }
  return out;
}

std::vector<uint64_t> acked_beyond_drain(const std::vector<OpRecord>& ops,
                                         const std::string& from_region, uint64_t new_epoch,
                                         const std::vector<DrainedCursor>& drained) {
  std::map<std::string, uint64_t> cursor;
  for (const DrainedCursor& c : drained) cursor[c.workload] = c.seq;
  std::vector<uint64_t> out;
  for (const OpRecord& op : ops) {
    if (!is_write(op.kind) || op.outcome != Outcome::kOk || op.region != from_region ||
        op.epoch == 0 || op.epoch >= new_epoch) {
      continue;
    }
    auto it = cursor.find(op.workload);
    if (it == cursor.end() || op.seq > it->second) out.push_back(op.id);
  }
  return out;
}

}  // namespace drsim::model
