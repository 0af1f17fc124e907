// The nemeses of the region pair simulator (docs/simulation.md, the nemesis table): what each
// kind does to the pair, on virtual time, and what it expects afterwards. The checker and the
// operator's calls they use are in region_pair_sim.cc.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/sim/pair_run.h"

namespace drsim::sim {

using namespace std::chrono_literals;
using region::RegionNode;

// The replication link and the primary's witness link cut (clients still reach it),
// failover, heal.
void PairRun::partition_then_failover() {
  fault_at_ = sim_.now();
  net_.partition(kPrimary, kSecondary);
  net_.partition(kPrimary, kWitness);
  event("nemesis: partition primary | secondary, trafficmgr");
  const bool early =
      current_ == Nemesis::kDrift && options_.drift_range == DriftRange::kBeyondBound;
  sim_.run_for(ms(rng_.below(early ? 100 : 1500)));
  if (!failover(*secondary_)) {
    fail("failover refused or unanswered after a partition");
    return;
  }
  sim_.run_for(ms(rng_.below(1000)));
  net_.heal(kPrimary, kSecondary);
  net_.heal(kPrimary, kWitness);
  event("nemesis: heal", Step::kEndsFault);
  wait_step_down(*primary_, "heal");
}

// The primary's process stops (its tasks held, its clients' requests pile up), the
// secondary is failed over past the lease, then the primary resumes with them in flight.
void PairRun::freeze_then_failover() {
  fault_at_ = sim_.now();
  primary_->freezer.freeze();
  event("nemesis: freeze primary");
  sim_.run_for(ms(rng_.below(1500)));
  if (!failover(*secondary_)) {
    fail("failover refused or unanswered while the primary was frozen");
    return;
  }
  sim_.run_for(ms(rng_.below(1000)));
  event("nemesis: resume primary with " + std::to_string(primary_->freezer.held()) +
            " held tasks",
        Step::kEndsFault);
  primary_->freezer.thaw();
  wait_step_down(*primary_, "resume");
}

// Failover, then at once failover back, under load on both regions.
void PairRun::double_failover() {
  fault_at_ = sim_.now();
  if (!failover(*secondary_)) {
    fail("the first failover (to the secondary) was refused or unanswered");
    return;
  }
  failover(*primary_);  // may be refused: it must never leave two actives
  sim_.run_for(3s);
  const int actives = (primary_->active() ? 1 : 0) + (secondary_->active() ? 1 : 0);
  if (actives != 1) {
    fail(std::to_string(actives) + " regions active 3 s after the second failover");
  }
}

// The standby's disk fills under load (every write there fails ENOSPC), then has room
// again: the standby refuses what it cannot make durable instead of stopping, no sync write
// is acknowledged meanwhile without being on it (on_answer checks), and once there is room
// it catches up with every write the primary made.
void PairRun::disk_full_then_free() {
  fault_at_ = sim_.now();
  disk_->fill("/sim/" + std::string(kSecondary));
  event("nemesis: the secondary's disk is full");
  sim_.run_for(ms(200 + rng_.below(1300)));
  disk_->free_space();
  event("nemesis: the secondary's disk has room again", Step::kEndsFault);
  sim_.run_for(ms(rng_.below(500)));
  stop_clients();
  expect_catch_up("of its disk having room again");
  v_.counts.standby_refusals = primary_->status().replication_refusals();
}

// Only one direction of the replication link is cut for 0.3–1.5 s, drawn: primary →
// secondary (the frames are lost) or secondary → primary (the acks are lost, the standby has
// the writes). No failover. The streams break when gRPC's keepalive notices; new ones are
// refused until the heal. Then the standby catches up within 10 s, and no sync write is
// acknowledged that the standby lacks (on_answer).
void PairRun::partition_one_way_then_heal() {
  fault_at_ = sim_.now();
  const bool frames_lost = rng_.below(2) == 0;
  const std::string from = frames_lost ? kPrimary : kSecondary;
  const std::string to = frames_lost ? kSecondary : kPrimary;
  net_.cut_one_way(from, to);
  event("nemesis: one-way partition " + from + " -> " + to + " (" +
        (frames_lost ? "the frames" : "the acks") + " lost)");
  sim_.run_for(ms(300 + rng_.below(1200)));
  net_.heal_one_way(from, to);
  event("nemesis: heal", Step::kEndsFault);
  sim_.run_for(ms(rng_.below(500)));
  stop_clients();
  expect_catch_up("of the heal");
  v_.counts.standby_refusals = primary_->status().replication_refusals();
}

// A region's host crashes: the process gets SIGKILL (no orderly shutdown, nothing of it runs
// again) and what its store had not synced is lost (CrashFs). 0.2–3 s later it restarts on
// the same files with the same options. A killed primary is failed over to the secondary in
// half of the seeds (the operator does not wait for it), and then must stay down as a
// standby when it comes back; otherwise it resumes as active after its fence check with the
// peer. Without a failover the standby (restarted or not) must catch up within 10 s.
void PairRun::kill_then_restart() {
  fault_at_ = sim_.now();
  const std::string victim = rng_.below(2) == 0 ? kPrimary : kSecondary;
  const Duration down = ms(200 + rng_.below(2800));
  const bool fail_over = victim == kPrimary && rng_.below(2) == 0;
  kill(victim);
  bool back = false;
  sim_.schedule_after(down, [this, victim, &back] {
    restart(victim);
    back = true;
  });
  bool failed_over = false;
  if (fail_over) {
    sim_.run_for(ms(rng_.below(1000)));
    // May be refused: a primary back before the lease ran out renews it.
    failed_over = failover(*secondary_);
  }
  sim_.run_until([&] { return back; }, *fault_at_ + down + 1ms);
  sim_.run_for(ms(500 + rng_.below(1000)));
  stop_clients();
  if (failed_over) {
    wait_step_down(*primary_, "restart");
  } else {
    expect_catch_up("after the " + victim + "'s restart");
  }
  v_.counts.standby_refusals =
      primary_->status().replication_refusals() + secondary_->status().replication_refusals();
}

// The primary's host crashes with writes its store had not synced (no fsync: they are
// lost, acknowledged ones among them), and it restarts cut off from its standby: its fence
// check gets no answer, so after --fence-check-timeout it serves again at the same epoch and
// its clients' writes take the seqs the lost ones had. The link heals 0.5-2.5 s later. Then
// either the standby holds nothing the primary lost (replication resumes and the standby
// catches up), or the primary finds out at the standby's welcome and stops, and the operator
// fails over to the standby, which has the lost writes, and re-protects. Either way the two
// regions must end holding the same data: never the same seqs with different writes (the
// hole the tenth session closed, docs/replication.md "lost writes").
void PairRun::kill_cut_off_then_heal() {
  fault_at_ = sim_.now();
  kill(kPrimary);
  net_.partition(kPrimary, kSecondary);
  event("nemesis: partition primary | secondary (the replication link; the witness is reachable)");
  sim_.run_for(ms(200 + rng_.below(800)));
  restart(kPrimary);
  if (!primary_ || !primary_->alive()) return;
  const Time restarted_at = sim_.now();
  if (!sim_.run_until([&] { return primary_->serving(); }, sim_.now() + 10s)) {
    fail("the restarted primary, cut off from its standby, never served again");
    return;
  }
  event("the restarted primary serves, not having heard from the secondary, after " +
        std::to_string(static_cast<int>(to_ms(sim_.now() - restarted_at))) + " ms");
  sim_.run_for(ms(500 + rng_.below(2000)));
  net_.heal(kPrimary, kSecondary);
  event("nemesis: heal", Step::kEndsFault);
  auto stopped = [&] {
    return primary_->active() && !primary_->serving() &&
           primary_->status().fenced_reason().find("lost acknowledged writes") !=
               std::string::npos;
  };
  auto welcomed = [&] { return primary_->status().replication_connected(); };
  if (!sim_.run_until([&] { return stopped() || welcomed(); }, sim_.now() + 10s)) {
    fail("10 s after the heal the primary neither replicates to the secondary nor stopped: " +
         primary_->status().fenced_reason());
    return;
  }
  if (stopped()) {
    ++v_.counts.lost_write_stops;
    event("the primary stopped: " + primary_->status().fenced_reason());
    sim_.run_for(ms(rng_.below(500)));
    stop_clients();
    if (!failover(*secondary_)) {
      fail("the failover to the secondary, which has the writes the primary lost, was refused");
      return;
    }
    if (!reprotect(*secondary_)) return;
  } else {
    event("replication to the secondary resumed: the primary lost nothing it had");
    sim_.run_for(ms(rng_.below(500)));
    stop_clients();
    expect_catch_up("of the heal");
  }
  expect_same_data();
  count_rolled_back_acks();
}

// The operator's planned failover and failback under load on both regions (a client each;
// the standby's refuses): `drsim failover --planned --reprotect` to the secondary, 0.3-1.5 s
// of writes there, then back to the primary the same way. Planned failover loses nothing by
// construction, so every write acknowledged by either region, async ones too, must be in the
// primary at the end; both regions must end with the same data, protected, one active.
void PairRun::planned_failover_and_back() {
  fault_at_ = sim_.now();
  if (!planned_failover(*secondary_)) return;
  sim_.run_for(ms(300 + rng_.below(1200)));
  if (!planned_failover(*primary_)) return;
  sim_.run_for(ms(rng_.below(500)));
  stop_clients();
  if (!sim_.run_until(
          [&] {
            return primary_->status().protection() == v1::REGION_PROTECTION_PROTECTED &&
                   caught_up();
          },
          sim_.now() + 10s)) {
    fail("the primary is not protected with the secondary caught up 10 s after the failback");
  }
  expect_same_data();
  // Since the pair was last restored: what an earlier fault's unplanned failover gave up is
  // not this planned one's to keep.
  for (size_t i = episode_acks_from_; i < acked_.size(); ++i) {
    const Acked& w = acked_[i];
    if (deleted_keys_.count(w.key) > 0) continue;  // judged by the routed clients' history
    if (primary_->value_of(w.workload, w.key) != w.value) {
      fail("write " + w.key + " (" + w.workload + ") acknowledged by " + w.by +
           " is not on the primary after the failback: a planned failover lost it");
    }
  }
}

// The replication link turns slow, both ways, and in half the seeds the primary's link to
// the witness too: a one-way delay of 20-200 ms drawn (a round trip under gRPC's 500 ms
// keepalive timeout, so the streams stay up, as they would), for 0.5-2 s, then back to what
// it was. In half the seeds the operator fails over to the secondary while it is slow (a
// region that looks sick). Sync acks must be on the standby when given (on_answer), one
// lease at a time (the sampler); without a failover the standby catches up, with one the old
// primary steps down and, re-protected, both end with the same data.
void PairRun::slow_link() {
  fault_at_ = sim_.now();
  const uint64_t slow_ms = 20 + rng_.below(181);
  const Duration slow = ms(slow_ms);
  const bool witness_too = rng_.below(2) == 0;
  const bool fail_over = rng_.below(2) == 0;
  std::vector<std::pair<std::string, std::string>> links{{kPrimary, kSecondary},
                                                         {kSecondary, kPrimary}};
  if (witness_too) {
    links.push_back({kPrimary, kWitness});
    links.push_back({kWitness, kPrimary});
  }
  std::vector<Duration> before;
  for (const auto& [from, to] : links) {
    before.push_back(net_.delay(from, to));
    net_.set_delay(from, to, slow);
  }
  event("nemesis: slow link: " + std::to_string(slow_ms) +
        " ms one way on primary <-> secondary" +
        (witness_too ? " and primary <-> trafficmgr" : ""));
  const uint64_t lasts_ms = 500 + rng_.below(1501);
  bool failed_over = false;
  if (fail_over) {
    sim_.run_for(ms(rng_.below(lasts_ms)));
    failed_over = failover(*secondary_);
  }
  if (const Time end = *fault_at_ + ms(lasts_ms); sim_.now() < end) sim_.run_for(end - sim_.now());
  for (size_t i = 0; i < links.size(); ++i) {
    net_.set_delay(links[i].first, links[i].second, before[i]);
  }
  event("nemesis: the links are fast again", Step::kEndsFault);
  sim_.run_for(ms(rng_.below(500)));
  stop_clients();
  if (!failed_over) {
    expect_catch_up("of the links being fast again");
    return;
  }
  wait_step_down(*primary_, "links being fast again");
  if (!reprotect(*secondary_)) return;
  expect_same_data();
  count_rolled_back_acks();
}

// Operators who do not see each other (docs/simulation.md, racing-failovers): one starts the
// planned failover to the secondary (`drsim failover --planned --reprotect`); over the next
// 0-1.2 s, 2-4 unplanned `drsim failover`s to a region drawn each time, not waiting for each
// other's answers. Any may be refused; none may go unanswered. Among them: an unplanned
// failover of the secondary while its planned one drains, one of the primary as it hands
// over, and failovers of a region that is still waiting out the lease of a promotion made
// meanwhile (it learns a newer epoch during its wait, so its wait proved the wrong epoch and
// it must serve only once the peer stepped down). 3 s after the last answer exactly one
// region is active; it is re-protected if an unplanned failover left it unprotected, and both
// regions end with the same data. The checker's rules hold throughout.
void PairRun::racing_failovers() {
  fault_at_ = sim_.now();
  won_ = {};
  sim_.run_until([&] { return primary_->status().replication_connected(); }, sim_.now() + 5s);
  auto pending = std::make_shared<size_t>(0);
  ++*pending;
  event("operator 1: planned failover to secondary (re-protect at once)");
  secondary_->node->planned_failover(
      "simulated race", 5s, /*reprotect=*/true,
      [this, pending](Result<v1::PlannedFailoverResponse> r) {
        --*pending;
        racing_planned_answered(r);
      });
  const uint64_t unplanned = 2 + rng_.below(3);
  auto launched = std::make_shared<uint64_t>(0);
  Duration at{};
  for (uint64_t i = 0; i < unplanned; ++i) {
    at += ms(rng_.below(400));
    const std::string to = rng_.below(2) == 0 ? kPrimary : kSecondary;
    const std::string who = "operator " + std::to_string(i + 2);
    sim_.schedule_after(at, [this, pending, launched, to, who] {
      ++*launched;
      ++*pending;
      event(who + ": failover to " + to);
      slot(to)->node->failover_after_lease(
          "simulated race", RegionNode::WitnessOverride::kRequireWitness,
          [this, pending, to, who](Result<v1::FailoverResponse> r) {
            --*pending;
            racing_failover_answered(to, who, r);
          });
    });
  }
  if (!sim_.run_until([&] { return *launched == unplanned && *pending == 0; },
                      sim_.now() + at + 30s)) {
    fail(std::to_string(*pending) + " of the racing failovers did not answer within 30 s");
    return;
  }
  sim_.run_for(3s);
  settle_race();
}

void PairRun::racing_planned_answered(const Result<v1::PlannedFailoverResponse>& r) {
  if (!r.is_ok()) {
    ++v_.counts.refused_failovers;
    event("operator 1's planned failover refused: " + r.status().to_string());
    return;
  }
  ++v_.counts.planned_failovers;
  ++v_.counts.failovers;
  if (r->new_epoch() > won_.first) won_ = {r->new_epoch(), kSecondary};
  event("operator 1's planned failover done: secondary active at epoch " +
        std::to_string(r->new_epoch()));
}

void PairRun::racing_failover_answered(const std::string& to, const std::string& who,
                                       const Result<v1::FailoverResponse>& r) {
  if (!r.is_ok()) {
    ++v_.counts.refused_failovers;
    if (r.status().message().find("waited out the old lease to become active") !=
        std::string::npos) {
      ++v_.counts.superseded_during_wait;
    }
    event(who + "'s failover to " + to + " refused: " + r.status().to_string());
    return;
  }
  ++v_.counts.failovers;
  if (r->new_epoch() > won_.first) won_ = {r->new_epoch(), to};
  v_.lease_wait = std::max(v_.lease_wait, ms(r->lease_wait_ms()));
  // Answered at promotion (the wait proved this epoch; serving still needs a
  // lease) or once the peer stepped down (answer_fence_waiters: "; serving: <how>").
  const bool gated = r->message().find("; serving: ") != std::string::npos;
  if (gated && r->lease_wait_ms() > 0) ++v_.counts.gated_after_lease_wait;
  char wait[32];
  std::snprintf(wait, sizeof wait, "%.0f", r->lease_wait_ms());
  event(who + "'s failover to " + to + " done: epoch " + std::to_string(r->new_epoch()) +
        ", lease wait " + wait + " ms, " +
        (gated ? "answered once the peer stepped down" : "answered at promotion"));
  promoted(to, r->new_epoch());
}

void PairRun::settle_race() {
  const int actives = (primary_->active() ? 1 : 0) + (secondary_->active() ? 1 : 0);
  if (actives != 1) {
    fail(std::to_string(actives) + " regions active 3 s after the racing failovers answered");
    return;
  }
  stop_clients();
  SimRegion& active = primary_->active() ? *primary_ : *secondary_;
  // What the operators were told holds: the region active now is the one the successful
  // failover with the newest epoch made active (or the primary, if none succeeded). Of two
  // that succeeded the newer epoch wins, whichever answered last; a failover its operator was
  // told was refused must not take effect later and override them.
  const std::string expected = won_.second.empty() ? kPrimary : won_.second;
  if (active.name != expected) {
    fail(active.name + " is active, but the successful failover with the newest epoch (" +
         std::to_string(won_.first) + ") made " + expected +
         " active: a failover its operator was told was refused took effect");
  }
  if (active.status().protection() != v1::REGION_PROTECTION_PROTECTED && !reprotect(active)) {
    return;
  }
  expect_same_data();
  count_rolled_back_acks();
}

// A host's wall clock steps (an operator or NTP sets it; `drsim inject clock-skew` on a real
// topology): each region's by ±1 s to ±1 h drawn, forward or back, while it serves and
// replicates; then the partition nemesis's failover under that skew, and the clocks are set
// right again (a second step). Leases, deadlines and timers run on monotonic time, which a
// wall-clock step does not move, so nothing may change: the checker's rules hold as for a
// partition.
void PairRun::skew_then_failover() {
  for (const char* name : {kPrimary, kSecondary}) {
    const int64_t step_ms =
        (rng_.below(2) == 0 ? -1 : 1) * static_cast<int64_t>(1000 + rng_.below(3'600'000));
    slot(name)->clock.set_offset(std::chrono::milliseconds(step_ms));
    v_.skew_ms[name] = step_ms;
    event("nemesis: " + std::string(name) + "'s wall clock steps " +
          (step_ms < 0 ? "back " : "forward ") + std::to_string(std::abs(step_ms)) + " ms");
  }
  sim_.run_for(ms(rng_.below(1000)));
  partition_then_failover();
  for (const char* name : {kPrimary, kSecondary}) slot(name)->clock.set_offset(Duration{});
  event("nemesis: the wall clocks are right again", Step::kEndsFault);
}

// The operator's test failover (Site Recovery's `drsim failover --test`, to the latest point):
// once replication is connected, the secondary's store is checkpointed and the checkpoint
// opened as an isolated copy (active, unprotected, no peer and no witness: the daemon's
// --isolated), as SiteRecoveryDriver::make_test_copy and the test failover's daemon do. The
// copy must serve at once, hold every sync write acknowledged while protected before the cut
// (the standby had them), and take reads and writes; meanwhile the pair goes on under load for
// 0.2-1.2 s. Then the copy is cleaned up (its process stops) and none of its writes may be on
// either region, then or at the end: the drill runs beside production without touching it.
void PairRun::test_failover() {
  fault_at_ = sim_.now();
  sim_.run_until([&] { return primary_->status().replication_connected(); }, sim_.now() + 5s);
  const std::string name = "test-copy-" + std::to_string(++test_copies_);
  event("operator: test failover of the secondary's latest point (copy " + name + ")");
  const size_t promised_until = acked_.size();
  std::unique_ptr<SimRegion> copy = open_test_copy(name);
  if (!copy) return;
  size_t missing = 0;
  for (size_t i = 0; i < promised_until; ++i) {
    const Acked& w = acked_[i];
    if (deleted_keys_.count(w.key) > 0 || !is_sync(w.workload) || !w.protected_ack) continue;
    if (copy->value_of(w.workload, w.key) == w.value) continue;
    if (missing++ == 0) {
      fail("the test failover's copy lacks sync write " + w.key + " (" + w.workload +
           "), acknowledged by " + w.by + " while protected before the copy was cut");
    }
  }
  // The drill's own writes and reads on the copy.
  const uint64_t n = 3 + rng_.below(6);
  auto answered = std::make_shared<uint64_t>(0);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string workload = draw_workload();
    const std::string key = name + "-k" + std::to_string(i);
    test_keys_.emplace_back(workload, key);
    v1::WriteOp op;
    op.mutable_put()->set_workload(workload);
    op.mutable_put()->set_key(key);
    op.mutable_put()->set_value("drill");
    copy->node->write({op}, [this, answered, key, name](region::WriteOutcome o) {
      ++*answered;
      if (!o.status.is_ok()) {
        fail("the test failover's copy " + name + " refused the drill's write of " + key + ": " +
             o.status.to_string());
      }
    });
  }
  if (!sim_.run_until([&] { return *answered == n; }, sim_.now() + 2s)) {
    fail("the test failover's copy " + name + " did not answer its writes within 2 s");
  }
  v1::GetRequest get;
  get.set_workload(test_keys_.back().first);
  get.set_key(test_keys_.back().second);
  v1::GetResponse got;
  if (Status st = copy->node->get(get, &got); !st.is_ok() || !got.found()) {
    fail("the test failover's copy " + name + " did not read back " + get.key() + ": " +
         (st.is_ok() ? "not found" : st.to_string()));
  }
  event("test failover: " + name + " serves at epoch " + std::to_string(copy->status().epoch()) +
        ", " + std::to_string(n) + " drill writes acknowledged");
  sim_.run_for(ms(200 + rng_.below(1000)));
  // Clean up the test failover: the copy's process stops; the pair never saw it.
  event("operator: clean up the test failover (" + name + " stops)");
  net_.crash(name);
  copy->kill();
  dead_.push_back(std::move(copy));
  for (const auto& [workload, key] : test_keys_) {
    for (SimRegion* r : {primary_.get(), secondary_.get()}) {
      if (r->alive() && r->value_of(workload, key).has_value()) {
        fail("the test failover's write " + key + " is on " + r->name);
      }
    }
  }
}

std::unique_ptr<SimRegion> PairRun::open_test_copy(const std::string& name) {
  const std::string dir = "/sim/" + name;
  if (Status s = secondary_->store->create_checkpoint(dir); !s.is_ok()) {
    fail("the test failover's checkpoint of the secondary failed: " + s.to_string());
    return nullptr;
  }
  auto opened = storage::RegionStore::open(dir, storage::Durability::kProcessCrash,
                                           region::RegionOptions{}.log_retention, env_.get());
  if (!opened.is_ok()) {
    fail("the test failover's copy did not open: " + opened.status().to_string());
    return nullptr;
  }
  auto meta = (*opened)->load_meta();
  storage::RegionMeta m = meta.is_ok() && *meta ? **meta : storage::RegionMeta{};
  m.active = true;  // isolated: active, no peer to replicate to
  m.protected_ = false;
  if (Status s = (*opened)->save_meta(m); !s.is_ok()) {
    fail("the test failover's copy: " + s.to_string());
    return nullptr;
  }
  region::RegionOptions o;
  o.name = name;
  o.data_dir = dir;
  o.initial_role = model::Role::kActive;
  o.workloads = workload_specs();
  o.isolated = true;
  auto copy = std::make_unique<SimRegion>(sim_, std::move(opened).value(), std::move(o), net_);
  if (Status s = copy->node->start(name); !s.is_ok()) {
    fail("the test failover's copy did not start: " + s.to_string());
    return nullptr;
  }
  if (!sim_.run_until([&] { return copy->serving(); }, sim_.now() + 2s)) {
    fail("the test failover's copy " + name + " does not serve 2 s after it started: " +
         copy->status().fenced_reason());
    return nullptr;
  }
  return copy;
}

}  // namespace drsim::sim
