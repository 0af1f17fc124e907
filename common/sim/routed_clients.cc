// The region pair simulator's routed clients (common/sim/pair_run.h): clients that follow the
// Traffic Manager's answers as `drsim load`'s TTL clients do, their history, and its judgement
// by the drill's own checker (model::check_history) at the end of the run.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/model/drill/expectations.h"
#include "common/model/drill/history_checker.h"
#include "common/sim/pair_run.h"

namespace drsim::sim {

using namespace std::chrono_literals;

struct PairRun::RoutedClient {
  uint32_t id = 0;
  // A stale client keeps its first answer for the whole run (`drsim load --stale-clients`):
  // after a failover it still asks the old region, where a superseded region shows.
  bool stale = false;
  std::string cached;  // the region the last answer named ("" before the first)
  Time expires = kTimeZero;
  // The operation in flight, and whether it has ended (answered or given up).
  size_t op = 0;
  bool ended = true;
  // The start_clients() that started it: one that was stopped and whose last operation ended
  // after the clients were started again does not go on beside its successor.
  uint64_t generation = 0;
};

void PairRun::start_routed_client(uint32_t id) {
  auto c = std::make_shared<RoutedClient>();
  c->id = id;
  c->stale = id % 4 == 3;
  c->generation = clients_generation_;
  routed_step(c);
}

void PairRun::routed_step(const std::shared_ptr<RoutedClient>& c) {
  if (!clients_running_ || c->generation != clients_generation_) {
    if (!clients_running_ && !paused_since_) paused_since_ = sim_.wall_unix_nanos();
    return;
  }
  if (!routed_resolve(c)) return;
  SimRegion& target = *slot(c->cached);
  model::OpRecord op = draw_routed_op(*c);
  const bool get = op.kind == model::OpKind::kGet;
  const size_t index = history_.size();
  history_.push_back(std::move(op));
  protected_op_.push_back(false);
  ++v_.counts.routed_ops;
  c->op = index;
  c->ended = false;
  sim_.schedule_after(kClientDeadline, [this, c, index] {
    if (!end_op(c, index)) return;
    history_[index].end = model::CallEnd::kDeadline;
    history_[index].error = "DEADLINE_EXCEEDED: no answer from " + c->cached + " within 1 s";
  });
  if (get) {
    routed_get(c, target, index);
  } else {
    routed_write(c, target, index);
  }
}

bool PairRun::routed_resolve(const std::shared_ptr<RoutedClient>& c) {
  if (c->cached.empty() || (!c->stale && sim_.now() >= c->expires)) {
    trafficmgr::Resolved r = tm_->state().resolve("drsim", "", std::nullopt);
    if (r.resolution.answers.empty()) {
      // No answer (NXDOMAIN-like): ask again a little later.
      c->cached.clear();
      sim_.schedule_after(100ms, [this, c] { routed_step(c); });
      return false;
    }
    c->cached = r.resolution.answers.front().endpoint;
    c->expires = sim_.now() + r.ttl;
  }
  return true;
}

model::OpRecord PairRun::draw_routed_op(const RoutedClient& c) {
  model::OpRecord op;
  op.id = history_.size();
  op.client = c.id;
  op.run = "sim";
  op.client_kind = c.stale ? model::ClientKind::kStale : model::ClientKind::kTtl;
  op.invoke_ns = sim_.wall_unix_nanos();
  op.outcome = model::Outcome::kIndeterminate;
  // 2 in 8 gets, 1 in 8 deletes (of a key an acknowledged put wrote, once), the rest puts.
  const uint64_t draw = rng_.below(8);
  const bool get = !routed_puts_.empty() && draw < 2;
  const bool del = !get && draw == 2 && !deletable_.empty();
  if (del) {
    const size_t pick = rng_.below(deletable_.size());
    const model::OpRecord& put = history_[deletable_[pick]];
    deletable_.erase(deletable_.begin() + static_cast<std::ptrdiff_t>(pick));
    op.kind = model::OpKind::kDelete;
    op.workload = put.workload;
    op.key = put.key;
    // From now on the key may be gone: the checks of the put's ack at the end leave it out
    // (the history check judges it, delete included).
    deleted_keys_.insert(put.key);
    ++v_.counts.routed_deletes;
  } else if (get) {
    // Half the gets read one of the 16 newest puts (what a client reads back soon after it was
    // written: where a stale region shows), the others any put.
    const size_t n = routed_puts_.size();
    const size_t pick =
        rng_.below(2) == 0 ? n - 1 - rng_.below(std::min<size_t>(n, 16)) : rng_.below(n);
    const model::OpRecord& put = history_[routed_puts_[pick]];
    op.kind = model::OpKind::kGet;
    op.workload = put.workload;
    op.key = put.key;
  } else {
    op.kind = model::OpKind::kPut;
    op.workload = draw_workload();
    op.key = "k" + std::to_string(next_key_++);
    op.value = op.key + "-" + std::to_string(v_.seed);
    routed_puts_.push_back(history_.size());
  }
  return op;
}

void PairRun::routed_write(const std::shared_ptr<RoutedClient>& c, SimRegion& target,
                           size_t index) {
  const model::OpRecord& asked = history_[index];
  v1::WriteOp w;
  if (asked.kind == model::OpKind::kDelete) {
    w.mutable_delete_()->set_workload(asked.workload);
    w.mutable_delete_()->set_key(asked.key);
  } else {
    w.mutable_put()->set_workload(asked.workload);
    w.mutable_put()->set_key(asked.key);
    w.mutable_put()->set_value(asked.value);
  }
  target.freezer.run([this, c, &target, w, index] {
    target.node->write({w}, [this, c, &target, index](region::WriteOutcome o) {
      const model::OpRecord& op = history_[index];
      // The region's answer is judged even when the client gave up on it already.
      if (op.kind == model::OpKind::kDelete) {
        protected_op_[index] = on_delete_answer(target, op.key, op.workload, o);
      } else {
        on_answer(target, op.key, op.workload, op.value, o);
        if (o.status.is_ok()) {
          protected_op_[index] =
              !acked_.empty() && acked_.back().key == op.key && acked_.back().protected_ack;
          if (deleted_keys_.count(op.key) == 0) deletable_.push_back(index);
        }
      }
      if (!end_op(c, index)) return;
      model::OpRecord& rec = history_[index];
      rec.region = target.name;
      if (o.status.is_ok()) {
        rec.outcome = model::Outcome::kOk;
        if (!o.results.empty()) {
          rec.epoch = o.results.front().epoch();
          rec.seq = o.results.front().seq();
        }
      } else {
        rec.outcome = o.applied == region::Applied::kNo ? model::Outcome::kFail
                                                        : model::Outcome::kIndeterminate;
        rec.error = o.status.to_string();
      }
    });
  });
}

void PairRun::routed_get(const std::shared_ptr<RoutedClient>& c, SimRegion& target, size_t index) {
  ++v_.counts.routed_reads;
  target.freezer.run([this, c, &target, index] {
    v1::GetRequest req;
    req.set_workload(history_[index].workload);
    req.set_key(history_[index].key);
    v1::GetResponse resp;
    Status s = target.node->get(req, &resp);
    if (!end_op(c, index)) return;
    model::OpRecord& rec = history_[index];
    rec.region = target.name;
    if (!s.is_ok()) {
      rec.outcome = model::Outcome::kFail;
      rec.error = s.to_string();
      event(target.name + " refused the read of " + rec.key + " (" + rec.workload +
            "): " + s.message());
      return;
    }
    event(target.name + " read " + rec.key + " (" + rec.workload + ") at epoch " +
          std::to_string(resp.epoch()) + ": " + (resp.found() ? "found" : "not found"));
    rec.outcome = model::Outcome::kOk;
    rec.found = resp.found();
    rec.value = resp.found() ? resp.value() : "";
    rec.epoch = resp.epoch();
  });
}

bool PairRun::on_delete_answer(SimRegion& by, const std::string& key, const std::string& workload,
                               const region::WriteOutcome& o) {
  if (!o.status.is_ok()) {
    event(by.name + " refused the delete of " + key + " (" + workload + "): " + o.status.message());
    return false;
  }
  const uint64_t epoch = o.results.empty() ? 0 : o.results.front().epoch();
  const bool protected_ack = by.status().protection() == v1::REGION_PROTECTION_PROTECTED;
  event(by.name + " acked the delete of " + key + " (" + workload + ") at epoch " +
        std::to_string(epoch) + (protected_ack ? "" : " unprotected"));
  check_ack_epoch(by, "delete of " + key + " (" + workload + ")", epoch);
  SimRegion& peer = other(by);
  // Sync: the standby has applied the delete before it is acknowledged.
  if (is_sync(workload) && protected_ack && peer.alive() &&
      peer.value_of(workload, key).has_value()) {
    fail("sync delete of " + key + " acknowledged by " + by.name + " but " + key + " is still on " +
         peer.name);
  }
  return protected_ack;
}

bool PairRun::end_op(const std::shared_ptr<RoutedClient>& c, size_t index) {
  if (c->ended || c->op != index) return false;
  c->ended = true;
  history_[index].complete_ns = sim_.wall_unix_nanos();
  sim_.schedule_after(ms(10 + rng_.below(21)), [this, c] { routed_step(c); });
  return true;
}

void PairRun::judge_at_end(SimRegion& serving) {
  // The drill's expectations of a sync-mode drill, judged by the drill's own judge: the
  // Traffic Manager routes to the region serving, no sync write acknowledged while protected
  // is lost, no read misses a write it was promised (or reads a superseded region's copy).
  model::DrillExpectations ex;
  ex.final_routing = serving.name;
  ex.max_lost_sync_writes = 0;
  ex.max_stale_reads = 0;
  model::DrillMeasures m;
  trafficmgr::Resolved r = tm_->state().resolve("drsim", "", std::nullopt);
  m.final_route = r.resolution.answers.empty() ? "nothing" : r.resolution.answers.front().endpoint;
  const HistoryFindings found = check_history_at_end(serving);
  m.lost_sync_writes = found.lost.size();
  m.stale_reads = found.stale.size();
  for (const model::Expectation& e : model::judge_drill(ex, m)) {
    if (e.pass) continue;
    const std::vector<std::string>& why =
        e.measure == model::Measure::kStaleReads ? found.stale : found.lost;
    std::string what = "drill expectation '" + e.name + "' " + e.want + ", got " + e.got;
    if (e.measure == model::Measure::kFinalRoute) {
      what += ": the Traffic Manager routes to " + e.got + " at the end, but " + serving.name +
              " serves";
    } else if (!why.empty()) {
      what += ": " + why.front() +
              (why.size() > 1 ? " (and " + std::to_string(why.size() - 1) + " more in the events)"
                              : "");
    }
    for (size_t i = 1; i < why.size(); ++i) event("  also: " + why[i]);
    fail(what);
  }
}

PairRun::HistoryFindings PairRun::check_history_at_end(SimRegion& serving) {
  HistoryFindings found;
  if (history_.empty()) return found;
  // What the clients never heard back about stays indeterminate, ended now.
  for (auto& op : history_) {
    if (op.complete_ns == 0) op.complete_ns = sim_.wall_unix_nanos();
  }
  model::FinalState final_state;
  for (const auto& w : workloads_) {
    for (auto& [k, v] : serving.contents(w.name)) final_state[{w.name, k}] = std::move(v);
  }
  model::CheckOptions opts;
  opts.max_stale_read_examples = history_.size();
  const model::CheckResult check = model::check_history(history_, final_state, opts);
  if (options_.record) v_.record.check = check;
  v_.counts.routed_ok += check.writes.ok + check.reads.ok;
  for (const auto& l : check.lost) {
    if (is_sync(l.workload) && protected_op_[l.id]) {
      found.lost.push_back("routed client: acknowledged sync " +
                           std::string(l.kind == model::OpKind::kDelete ? "delete of " : "write ") +
                           l.key + " (" + l.region + ", epoch " + std::to_string(l.epoch) +
                           ") is lost on " + serving.name);
    }
  }
  // A get that missed a write it should have seen: a violation when that write was a sync
  // write the standby had confirmed, or when a region answered at an older epoch than the
  // write's (a superseded region served the read). Otherwise the write was an async one a
  // failover gave up (not promised): counted.
  for (const auto& st : check.stale_read_examples) {
    const model::OpRecord& w = history_[st.newer_write_id];
    const model::OpRecord& r = history_[st.read_id];
    // kill-cut-off's premise: a crash without fsync loses what its region acknowledged, and
    // the restarted region serves without it until it learns so (docs/replication.md).
    const bool lost_by_crash =
        !synced() && std::any_of(crashes_.begin(), crashes_.end(), [&](const auto& c) {
          return c.first == w.region && w.complete_ns <= c.second && r.region == w.region;
        });
    const bool promised = is_sync(w.workload) && protected_op_[w.id];
    if (lost_by_crash) {
      ++v_.counts.reads_of_crash_lost_writes;
    } else if (promised || r.epoch < w.epoch) {
      found.stale.push_back("routed client: stale read of " + st.key + " (" + st.workload +
                            ") from " + r.region + " at epoch " + std::to_string(r.epoch) + ": " +
                            (st.seen_found ? "saw " + st.seen_value : "found nothing") + ", but " +
                            w.key + " was acknowledged by " + w.region + " at epoch " +
                            std::to_string(w.epoch) + " before the read began");
    } else {
      ++v_.counts.reads_of_given_up_writes;
    }
  }
  // The longest time no routed put was acknowledged while the clients were writing (a gap
  // across a pause, while a nemesis checked the regions with the clients stopped, is not one).
  std::vector<int64_t> acks;
  for (const auto& op : history_) {
    if (op.kind == model::OpKind::kPut && op.outcome == model::Outcome::kOk) {
      acks.push_back(op.complete_ns);
    }
  }
  std::sort(acks.begin(), acks.end());
  for (size_t i = 1; i < acks.size(); ++i) {
    const bool paused = std::any_of(pauses_.begin(), pauses_.end(), [&](const auto& p) {
      return p.first < acks[i] && p.second > acks[i - 1];
    });
    if (!paused) {
      v_.longest_write_gap = std::max(v_.longest_write_gap, Duration(acks[i] - acks[i - 1]));
    }
  }
  return found;
}

}  // namespace drsim::sim
