// The region pair simulator's checker (common/sim/pair_run.h): every answer judged the moment
// it is given (on_answer, check_ack_epoch), what a restarted store must have kept, whole logs,
// catch-up and same data, and the end state.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "common/model/replication/lease.h"
#include "common/sim/pair_run.h"

namespace drsim::sim {

using namespace std::chrono_literals;

void PairRun::expect_catch_up(const std::string& after) {
  if (!sim_.run_until([&] { return caught_up(); }, sim_.now() + 10s)) {
    fail("the secondary did not catch up within 10 s " + after);
  } else {
    event("the secondary caught up");
  }
}

bool PairRun::caught_up() {
  auto p = primary_->status();
  auto s = secondary_->status();
  for (const auto& pw : p.workloads()) {
    bool found = false;
    for (const auto& sw : s.workloads()) {
      if (sw.name() != pw.name()) continue;
      found = true;
      if (sw.last_seq() != pw.last_seq()) return false;
    }
    if (!found) return false;
  }
  return true;
}

void PairRun::expect_same_data() {
  if (!primary_->alive() || !secondary_->alive()) return;
  if (!sim_.run_until([&] { return caught_up(); }, sim_.now() + 10s)) {
    fail("the regions' last seqs still differ 10 s after the end of the fault");
    return;
  }
  for (const auto& w : workloads_) {
    const std::string& workload = w.name;
    auto p = primary_->contents(workload);
    auto s = secondary_->contents(workload);
    if (p == s) continue;
    size_t differ = 0;
    std::string first;
    for (const auto& [k, v] : p) {
      auto it = s.find(k);
      if (it != s.end() && it->second == v) continue;
      if (differ++ == 0) first = k;
    }
    for (const auto& [k, v] : s) {
      if (p.count(k) == 0 && differ++ == 0) first = k;
    }
    fail("the regions hold different data for " + workload + " at seq " +
         std::to_string(last_seq_of(*primary_, workload)) + ": " + std::to_string(differ) +
         " key(s) differ, the first " + first + " (primary " + std::to_string(p.size()) +
         " keys, secondary " + std::to_string(s.size()) + ")");
  }
  event("both regions hold the same data");
}

uint64_t PairRun::last_seq_of(SimRegion& r, const std::string& workload) {
  const v1::GetStatusResponse st = r.status();  // the loop must not range over a temporary
  for (const auto& w : st.workloads()) {
    if (w.name() == workload) return w.last_seq();
  }
  return 0;
}

void PairRun::count_rolled_back_acks() {
  SimRegion* serving = primary_->serving() ? primary_.get() : secondary_.get();
  for (const auto& w : acked_) {
    if (deleted_keys_.count(w.key) > 0) continue;
    if (!is_sync(w.workload) && serving->value_of(w.workload, w.key) != w.value) {
      rolled_back_keys_.insert(w.key);
    }
  }
  v_.counts.rolled_back_acks = rolled_back_keys_.size();
}

void PairRun::check_restarted_store(SimRegion& r) {
  for (size_t i = 0; i < acked_.size(); ++i) {
    const Acked& w = acked_[i];
    if (deleted_keys_.count(w.key) > 0) continue;  // a routed client asked to delete it
    const bool own = w.by == r.name;
    // Its own writes from before the pair was last restored that nothing promised (async, or
    // sync while unprotected): the restore's re-protect may have rolled them back.
    if (own && i < episode_acks_from_ && !(is_sync(w.workload) && w.protected_ack)) continue;
    if (!own && !(is_sync(w.workload) && w.protected_ack)) continue;
    // Without fsync a crash loses the region's own acknowledged writes: kill-cut-off's premise
    // (kill --without-fsync reports them, as a configuration that does not keep them).
    if (own && current_ == Nemesis::kKillCutOff) continue;
    if (r.value_of(w.workload, w.key) == w.value) continue;
    fail(own ? "write " + w.key + " (" + w.workload + ") acknowledged by " + r.name +
                   " before its crash is not in its store after the restart"
             : "sync write " + w.key + " acknowledged by " + w.by +
                   " while protected is not in the restarted " + r.name +
                   "'s store: its crash lost a write it had confirmed");
  }
}

void PairRun::check_log(SimRegion& r) {
  for (const auto& w : workloads_) {
    if (std::string problem = r.log_problem(w.name); !problem.empty()) {
      fail(r.name + "'s log of " + w.name + ": " + problem);
    }
  }
}

void PairRun::check_end_state() {
  for (SimRegion* r : {primary_.get(), secondary_.get()}) {
    if (r->alive()) check_log(*r);
  }
  SimRegion* serving = nullptr;
  for (SimRegion* r : {primary_.get(), secondary_.get()}) {
    if (r->serving()) {
      if (serving) fail("both regions serve writes at the end");
      serving = r;
    }
  }
  if (!serving) {
    fail("no region serves writes at the end");
    return;
  }
  event(serving->name + " serves at the end");
  v_.record.final_active = serving->name;
  judge_at_end(*serving);
  check_recoveries();
  for (const auto& [workload, key] : test_keys_) {
    if (serving->value_of(workload, key).has_value()) {
      fail("the test failover's write " + key + " is on " + serving->name + " at the end");
    }
  }
  for (const auto& w : acked_) {
    if (deleted_keys_.count(w.key) > 0) continue;  // judged by the routed clients' history
    if (is_sync(w.workload) && w.protected_ack &&
        serving->value_of(w.workload, w.key) != w.value) {
      fail("acknowledged sync write " + w.key + " is lost on " + serving->name);
    }
  }
}

void PairRun::check_ack_epoch(SimRegion& by, const std::string& what, uint64_t epoch) {
  SimRegion& peer = other(by);
  v1::GetStatusResponse ps = peer.status();
  // One active region at a time: nobody acknowledges once a newer epoch is active.
  if (ps.role() == v1::ROLE_ACTIVE && ps.epoch() > epoch) {
    fail(what + " " + kAckBySupersededRegion + ": " + by.name + " at epoch " +
         std::to_string(epoch) + " while " + peer.name + " was already active at epoch " +
         std::to_string(ps.epoch()));
  }
  // A restarted region resumes at what its store holds, and that is never behind a newer
  // epoch it acknowledges under.
  if (by.restarted && epoch < ps.epoch()) {
    fail(what + " acknowledged by the restarted " + by.name + " at epoch " +
         std::to_string(epoch) + " below " + peer.name + "'s epoch " +
         std::to_string(ps.epoch()));
  }
}

// The checker, at the instant of each answer.
void PairRun::on_answer(SimRegion& by, const std::string& key, const std::string& workload,
                        const std::string& value, const region::WriteOutcome& o) {
  if (!o.status.is_ok()) {
    if (fault_at_) ++v_.counts.refused_after_fault;
    event(by.name + " refused " + key + " (" + workload + "): " + o.status.message());
    return;
  }
  const uint64_t epoch = o.results.empty() ? 0 : o.results.front().epoch();
  // A region failed over serves unprotected until re-protect (docs/replication.md): its sync
  // writes have no standby to wait for, and the sync guarantees do not cover them.
  const bool protected_ack = by.status().protection() == v1::REGION_PROTECTION_PROTECTED;
  acked_.push_back({workload, key, value, by.name, protected_ack});
  event(by.name + " acked " + key + " (" + workload + ") at epoch " + std::to_string(epoch) +
        (protected_ack ? "" : " unprotected"));
  ++v_.counts.acked;
  if (is_sync(workload)) ++v_.counts.acked_sync;
  check_ack_epoch(by, "write " + key + " (" + workload + ")", epoch);
  SimRegion& peer = other(by);
  // Sync: acknowledged only once the standby has it durably. A dead standby's store is judged
  // when it restarts (check_restarted_store).
  if (is_sync(workload) && protected_ack && peer.alive() &&
      peer.value_of(workload, key) != value) {
    fail("sync write " + key + " acknowledged by " + by.name + " but not on " + peer.name);
  }
}

// The bound: the Traffic Manager's detection of the old region (3 probes 100 ms apart, 50 ms
// timeout), the clients' TTL (500 ms), then the longer of the old region's lease (it may answer
// its probes as serving until the lease runs out) and the clients' deadline (a call to a dead
// or frozen region); the slack, 200 ms: a client's 10-30 ms between two operations, a probe's
// and a sync write's round trips on links of up to 20 ms each way, the lease's drift bound.
model::RecoveryBudget recovery_budget() {
  return model::recovery_budget(kProbeInterval, kProbeTimeout, kToleratedFailures, kRouteTtl,
                                model::LeaseTimes{}.lease, kClientDeadline, ms(200));
}

void PairRun::check_recoveries() {
  // The regions run with the default lease (region_options()): the bound's.
  const model::RecoveryBudget budget = recovery_budget();
  for (const model::RecoveryCheck& c :
       model::judge_recoveries(history_, promotions_, interruptions_, budget)) {
    if (!c.judged()) {
      ++v_.counts.recoveries_excused;
      continue;
    }
    ++v_.counts.recoveries_judged;
    if (c.met) {
      v_.longest_recovery = std::max(v_.longest_recovery, *c.first_ack);
      continue;
    }
    char line[320];
    std::snprintf(line, sizeof line,
                  "recovery time: %s acknowledged no write to a routed client within %.0f ms of "
                  "its promotion at epoch %llu (detection %.0f + TTL %.0f + max(lease %.0f, "
                  "client deadline %.0f) + slack %.0f ms); ",
                  c.promotion.region.c_str(), to_ms(budget.total()),
                  static_cast<unsigned long long>(c.promotion.epoch), to_ms(budget.detection),
                  to_ms(budget.ttl), to_ms(budget.lease), to_ms(budget.client_deadline),
                  to_ms(budget.slack));
    char first[96] = "none came before the next promotion or the end";
    if (c.first_ack) {
      std::snprintf(first, sizeof first, "the first came %.0f ms after it", to_ms(*c.first_ack));
    }
    fail(std::string(line) + first);
  }
}

}  // namespace drsim::sim
