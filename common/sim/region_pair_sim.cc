#include "common/sim/region_pair_sim.h"

#include <rocksdb/env.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "common/core/rng.h"
#include "common/core/scheduler.h"
#include "common/model/replication/lease.h"
#include "common/region/region_node.h"
#include "common/sim/crash_fs.h"
#include "common/sim/disk_full_fs.h"
#include "common/sim/sim_network.h"
#include "common/sim/sim_region.h"
#include "common/storage/region_store.h"
#include "trafficmgr/lease_witness.h"

namespace drsim::sim {

using namespace std::chrono_literals;
using region::RegionNode;
using region::RegionOptions;
using region::ReplicationMode;

namespace {

constexpr const char* kPrimary = "primary";
constexpr const char* kSecondary = "secondary";
constexpr const char* kWitness = "trafficmgr";
constexpr const char* kSyncWorkload = "vm-sync";
constexpr const char* kAsyncWorkload = "vm-async";

Duration ms(uint64_t n) { return std::chrono::milliseconds(n); }

RegionOptions region_options(const std::string& name, const std::string& peer, model::Role role,
                             const SeedOptions& seed) {
  RegionOptions o;
  o.name = name;
  o.peer_name = peer;
  o.peer_address = peer;
  o.data_dir = "/sim/" + name;
  o.initial_role = role;
  o.workloads = {{kSyncWorkload, ReplicationMode::kSync},
                 {kAsyncWorkload, ReplicationMode::kAsync}};
  o.witness_address = kWitness;
  o.unsafe_no_lease = seed.lease_check == LeaseCheck::kBypassed;
  o.unsafe_ack_before_standby = seed.sync_ack == SyncAck::kBeforeStandby;
  o.unsafe_no_unverified_marks = seed.marks == UnverifiedMarks::kSkipped;
  return o;
}

// Rates for the two regions' clocks (the witness runs at 0): inside the lease's bound, the
// checker must find nothing; beyond it, the primary runs slow (holds its lease longer in real
// time) and the secondary fast (waits it out sooner).
std::map<std::string, double> draw_drift(Rng& rng, DriftRange range) {
  const model::LeaseTimes times;
  if (range == DriftRange::kBeyondBound) {
    std::map<std::string, double> rates{{kPrimary, -(0.15 + rng.unit() * 0.15)},
                                        {kSecondary, 0.15 + rng.unit() * 0.15},
                                        {kWitness, 0.0}};
    DRSIM_CHECK(!model::check_clock_drift(times, rates).is_ok());
    return rates;
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::map<std::string, double> rates{{kPrimary, (rng.unit() * 2 - 1) * times.drift},
                                        {kSecondary, (rng.unit() * 2 - 1) * times.drift},
                                        {kWitness, 0.0}};
    if (model::check_clock_drift(times, rates).is_ok()) return rates;
  }
  return {{kPrimary, 0.0}, {kSecondary, 0.0}, {kWitness, 0.0}};
}

// One run: the pair, its clients, the nemesis and the checker. Members are declared in the
// order they must outlive each other (the Env first, the regions last).
class Run {
 public:
  Run(uint64_t seed, const SeedOptions& options)
      : options_(options),
        mem_env_(rocksdb::NewMemEnv(rocksdb::Env::Default())),
        disk_(std::make_shared<DiskFullFs>(mem_env_->GetFileSystem())),
        crash_(std::make_shared<CrashFs>(disk_)),
        env_(env_on(crash_)),
        rng_(seed),
        net_(sim_, ms(1 + rng_.below(10))),
        witness_(sim_) {
    v_.seed = seed;
    v_.nemesis = options.nemesis;
    for (const char* a : {kPrimary, kSecondary, kWitness}) {
      for (const char* b : {kPrimary, kSecondary, kWitness}) {
        if (std::string(a) != b) net_.set_delay(a, b, ms(1 + rng_.below(20)));
      }
    }
    net_.attach_witness(kWitness, witness_);
    primary_ = make_region(kPrimary);
    secondary_ = make_region(kSecondary);
    DRSIM_CHECK(primary_ && secondary_);
  }
  ~Run() {
    // Nothing the clients or the nemesis left on the scheduler may run after this.
    clients_running_ = false;
    primary_->freezer.thaw();
    secondary_->freezer.thaw();
  }

  // The region `name` as the daemon starts it: its store opened on its files (the same ones
  // after a crash), the same options. nullptr (and a violation) when the store does not open.
  std::unique_ptr<SimRegion> make_region(const std::string& name) {
    const bool primary = name == kPrimary;
    RegionOptions o = region_options(name, primary ? kSecondary : kPrimary,
                                     primary ? model::Role::kActive : model::Role::kStandby,
                                     options_);
    auto opened = storage::RegionStore::open(o.data_dir,
                                             synced() ? storage::Durability::kPowerLoss
                                                      : storage::Durability::kProcessCrash,
                                             o.log_retention, env_.get());
    if (!opened.is_ok()) {
      fail("the " + name + "'s store did not open: " + opened.status().to_string());
      return nullptr;
    }
    return std::make_unique<SimRegion>(sim_, std::move(opened).value(), std::move(o), net_);
  }

  Verdict run() {
    if (options_.nemesis == Nemesis::kDrift) {
      v_.drift_rates = draw_drift(rng_, options_.drift_range);
      primary_->scheduler.set_rate(v_.drift_rates[kPrimary]);
      secondary_->scheduler.set_rate(v_.drift_rates[kSecondary]);
      v_.drift_rates.erase(kWitness);
      char line[160];
      std::snprintf(line, sizeof line, "clock drift: primary %+.0f ppm, secondary %+.0f ppm (%s)",
                    v_.drift_rates[kPrimary] * 1e6, v_.drift_rates[kSecondary] * 1e6,
                    options_.drift_range == DriftRange::kWithinBound
                        ? "within the lease's bound"
                        : "BEYOND the lease's bound: acks by the superseded region expected");
      event(line);
    }
    DRSIM_CHECK(secondary_->node->start(kSecondary).is_ok());
    DRSIM_CHECK(primary_->node->start(kPrimary).is_ok());
    if (!sim_.run_until([&] { return primary_->serving(); }, sim_.now() + 10s)) {
      fail("the primary never served writes (no lease from the secondary or the witness)");
      return finish();
    }
    event("primary serves");
    start_client(primary_);
    if (options_.nemesis == Nemesis::kDoubleFailover || options_.nemesis == Nemesis::kFailback ||
        options_.nemesis == Nemesis::kRacingFailovers) {
      start_client(secondary_);
    }
    schedule_resets();
    schedule_lease_sampler();

    // Replicate a while, then the fault.
    sim_.run_for(ms(300 + rng_.below(1200)));
    switch (options_.nemesis) {
      case Nemesis::kPartition:
      case Nemesis::kDrift:
        partition_then_failover();
        break;
      case Nemesis::kFreeze:
        freeze_then_failover();
        break;
      case Nemesis::kDoubleFailover:
        double_failover();
        break;
      case Nemesis::kDiskFull:
        disk_full_then_free();
        break;
      case Nemesis::kKill:
        kill_then_restart();
        break;
      case Nemesis::kPartitionOneWay:
        partition_one_way_then_heal();
        break;
      case Nemesis::kKillCutOff:
        kill_cut_off_then_heal();
        break;
      case Nemesis::kFailback:
        planned_failover_and_back();
        break;
      case Nemesis::kRacingFailovers:
        racing_failovers();
        break;
      case Nemesis::kSlowLink:
        slow_link();
        break;
    }
    clients_running_ = false;
    sim_.run_for(1s);
    check_end_state();
    return finish();
  }

 private:
  // Whether the stores sync every write. kill-cut-off's premise is a store without fsync, whose
  // crash loses acknowledged writes.
  bool synced() const {
    return options_.fsync == Fsync::kEveryWrite && options_.nemesis != Nemesis::kKillCutOff;
  }

  void event(const std::string& what) {
    char at[32];
    std::snprintf(at, sizeof at, "%10.3f ms  ", to_ms(sim_.now() - kTimeZero));
    v_.events.push_back(at + what);
  }
  void fail(std::string what) {
    event("VIOLATION: " + what);
    v_.violations.push_back(std::move(what));
  }
  Verdict finish() {
    v_.simulated = sim_.now() - kTimeZero;
    return std::move(v_);
  }
  SimRegion& other(SimRegion& r) { return &r == primary_.get() ? *secondary_ : *primary_; }
  std::unique_ptr<SimRegion>& slot(const std::string& name) {
    return name == kPrimary ? primary_ : secondary_;
  }

  // A stale client: keeps `target`'s address for the whole run and writes every 2–9 ms, not
  // waiting for answers (a frozen region piles up requests in flight; a dead one never answers,
  // a restarted one answers at the same address).
  void start_client(std::unique_ptr<SimRegion>& target_slot) {
    // The next write is the scheduled task's (a strong reference); the function itself holds a
    // weak one, else it would own itself and never be freed (LeakSanitizer, every seed).
    auto write = std::make_shared<std::function<void()>>();
    std::weak_ptr<std::function<void()>> self = write;
    *write = [this, &target_slot, self] {
      if (!clients_running_) return;
      SimRegion& target = *target_slot;
      const std::string key = "k" + std::to_string(next_key_++);
      const std::string workload = rng_.below(2) == 0 ? kSyncWorkload : kAsyncWorkload;
      const std::string value = key + "-" + std::to_string(v_.seed);
      v1::WriteOp op;
      op.mutable_put()->set_workload(workload);
      op.mutable_put()->set_key(key);
      op.mutable_put()->set_value(value);
      target.freezer.run([this, &target, op, key, workload, value] {
        target.node->write({op}, [this, &target, key, workload, value](region::WriteOutcome o) {
          on_answer(target, key, workload, value, o);
        });
      });
      if (auto next = self.lock()) {
        sim_.schedule_after(ms(2 + rng_.below(8)), [next] { (*next)(); });
      }
    };
    (*write)();
  }

  // The checker, at the instant of each answer.
  void on_answer(SimRegion& by, const std::string& key, const std::string& workload,
                 const std::string& value, const region::WriteOutcome& o) {
    if (!o.status.is_ok()) {
      if (fault_at_) ++v_.refused_after_fault;
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
    ++v_.acked;
    if (workload == kSyncWorkload) ++v_.acked_sync;
    SimRegion& peer = other(by);
    v1::GetStatusResponse ps = peer.status();
    // One active region at a time: nobody acknowledges once a newer epoch is active.
    if (ps.role() == v1::ROLE_ACTIVE && ps.epoch() > epoch) {
      fail("write " + key + " (" + workload + ") " + kAckBySupersededRegion + ": " + by.name +
           " at epoch " + std::to_string(epoch) + " while " + peer.name +
           " was already active at epoch " + std::to_string(ps.epoch()));
    }
    // A restarted region resumes at what its store holds, and that is never behind a newer
    // epoch it acknowledges under.
    if (by.restarted && epoch < ps.epoch()) {
      fail("write " + key + " (" + workload + ") acknowledged by the restarted " + by.name +
           " at epoch " + std::to_string(epoch) + " below " + peer.name + "'s epoch " +
           std::to_string(ps.epoch()));
    }
    // Sync: acknowledged only once the standby has it durably. A dead standby's store is judged
    // when it restarts (check_restarted_store).
    if (workload == kSyncWorkload && protected_ack && peer.alive() &&
        peer.value_of(workload, key) != value) {
      fail("sync write " + key + " acknowledged by " + by.name + " but not on " + peer.name);
    }
  }

  // Up to two connection resets of the replication stream before the fault: the primary
  // reconnects and resends what the standby has not acknowledged.
  void schedule_resets() {
    for (uint64_t i = 0, n = rng_.below(3); i < n; ++i) {
      sim_.schedule_after(ms(50 + rng_.below(1200)), [this] {
        if (!fault_at_) reset_stream("replication stream reset");
      });
    }
  }

  void reset_stream(const std::string& what) {
    net_.reset(kPrimary, kSecondary);
    ++v_.resets;
    event(what);
  }

  // Every 10 ms: never two regions active with a lease each believes valid.
  void schedule_lease_sampler() {
    sim_.schedule_after(10ms, [this] {
      if (!clients_running_) return;
      auto p = primary_->status();
      auto s = secondary_->status();
      if (p.role() == v1::ROLE_ACTIVE && s.role() == v1::ROLE_ACTIVE &&
          p.lease().state() == "held" && s.lease().state() == "held" && !two_leases_seen_) {
        two_leases_seen_ = true;
        fail("two regions hold a valid lease at once: primary at epoch " +
             std::to_string(p.epoch()) + ", secondary at epoch " + std::to_string(s.epoch()));
      }
      // A region that handed over (planned failover) released its lease and says so in its
      // health: the promoted peer may hold one already.
      for (auto [r, st] : {std::pair{primary_.get(), &p}, std::pair{secondary_.get(), &s}}) {
        if (st->planned_failover() == "handed over" && !handed_over_serving_seen_ &&
            (st->lease().state() != "handed over" || r->serving())) {
          handed_over_serving_seen_ = true;
          fail(r->name + " handed over but its lease says \"" + st->lease().state() +
               "\" and its health " + (r->serving() ? "SERVING" : "NOT_SERVING"));
        }
      }
      schedule_lease_sampler();
    });
  }

  // The operator's `drsim failover` toward `to`, as the admin RPC calls it; false when it
  // refused or did not answer within 10 s.
  bool failover(SimRegion& to) {
    event("operator: failover to " + to.name);
    std::optional<Result<v1::FailoverResponse>> answer;
    to.node->failover_after_lease("simulated " + std::string(nemesis_name(options_.nemesis)),
                                  RegionNode::WitnessOverride::kRequireWitness,
                                  [&](Result<v1::FailoverResponse> r) { answer = std::move(r); });
    if (!await_answer(answer, "the failover to " + to.name, 10s)) return false;
    if (!answer->is_ok()) {
      event("failover to " + to.name + " refused: " + answer->status().to_string());
      return false;
    }
    ++v_.failovers;
    v_.lease_wait = std::max(v_.lease_wait, ms((*answer)->lease_wait_ms()));
    char wait[32];
    std::snprintf(wait, sizeof wait, "%.0f", (*answer)->lease_wait_ms());
    event("failover to " + to.name + " done: epoch " + std::to_string(to.status().epoch()) +
          ", lease wait " + wait + " ms");
    return true;
  }

  // Runs the simulation until an operator call's `answer` is set; false, and a violation naming
  // `what`, when it is not within `within` of virtual time.
  template <typename T>
  bool await_answer(const std::optional<T>& answer, const std::string& what, Duration within) {
    if (sim_.run_until([&] { return answer.has_value(); }, sim_.now() + within)) return true;
    fail(what + " did not answer within " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(within).count()) +
         " s of virtual time");
    return false;
  }

  void wait_step_down(SimRegion& old, const char* after) {
    if (!sim_.run_until([&] { return !old.active(); }, sim_.now() + 5s)) {
      fail("the old " + old.name + " did not step down within 5 s of the " + after);
    } else {
      event(old.name + " stepped down");
    }
  }

  // The replication link and the primary's witness link cut (clients still reach it),
  // failover, heal.
  void partition_then_failover() {
    fault_at_ = sim_.now();
    net_.partition(kPrimary, kSecondary);
    net_.partition(kPrimary, kWitness);
    event("nemesis: partition primary | secondary, trafficmgr");
    const bool early =
        options_.nemesis == Nemesis::kDrift && options_.drift_range == DriftRange::kBeyondBound;
    sim_.run_for(ms(rng_.below(early ? 100 : 1500)));
    if (!failover(*secondary_)) {
      fail("failover refused or unanswered after a partition");
      return;
    }
    sim_.run_for(ms(rng_.below(1000)));
    net_.heal(kPrimary, kSecondary);
    net_.heal(kPrimary, kWitness);
    event("nemesis: heal");
    wait_step_down(*primary_, "heal");
  }

  // The primary's process stops (its tasks held, its clients' requests pile up), the
  // secondary is failed over past the lease, then the primary resumes with them in flight.
  void freeze_then_failover() {
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
          " held tasks");
    primary_->freezer.thaw();
    wait_step_down(*primary_, "resume");
  }

  // Failover, then at once failover back, under load on both regions.
  void double_failover() {
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
  void disk_full_then_free() {
    fault_at_ = sim_.now();
    disk_->fill("/sim/" + std::string(kSecondary));
    event("nemesis: the secondary's disk is full");
    sim_.run_for(ms(200 + rng_.below(1300)));
    disk_->free_space();
    event("nemesis: the secondary's disk has room again");
    sim_.run_for(ms(rng_.below(500)));
    clients_running_ = false;
    expect_catch_up("of its disk having room again");
    v_.standby_refusals = primary_->status().replication_refusals();
  }

  // Only one direction of the replication link is cut for 0.3–1.5 s, drawn: primary →
  // secondary (the frames are lost) or secondary → primary (the acks are lost, the standby has
  // the writes). No failover. The streams break when gRPC's keepalive notices; new ones are
  // refused until the heal. Then the standby catches up within 10 s, and no sync write is
  // acknowledged that the standby lacks (on_answer).
  void partition_one_way_then_heal() {
    fault_at_ = sim_.now();
    const bool frames_lost = rng_.below(2) == 0;
    const std::string from = frames_lost ? kPrimary : kSecondary;
    const std::string to = frames_lost ? kSecondary : kPrimary;
    net_.cut_one_way(from, to);
    event("nemesis: one-way partition " + from + " -> " + to + " (" +
          (frames_lost ? "the frames" : "the acks") + " lost)");
    sim_.run_for(ms(300 + rng_.below(1200)));
    net_.heal_one_way(from, to);
    event("nemesis: heal");
    sim_.run_for(ms(rng_.below(500)));
    clients_running_ = false;
    expect_catch_up("of the heal");
    v_.standby_refusals = primary_->status().replication_refusals();
  }

  // With the clients stopped, the standby holds every write of the active region within 10 s.
  void expect_catch_up(const std::string& after) {
    if (!sim_.run_until([&] { return caught_up(); }, sim_.now() + 10s)) {
      fail("the secondary did not catch up within 10 s " + after);
    } else {
      event("the secondary caught up");
    }
  }

  // Both regions hold the same last seq of every workload.
  bool caught_up() {
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

  // A region's host crashes: the process gets SIGKILL (no orderly shutdown, nothing of it runs
  // again) and what its store had not synced is lost (CrashFs). 0.2–3 s later it restarts on
  // the same files with the same options. A killed primary is failed over to the secondary in
  // half of the seeds (the operator does not wait for it), and then must stay down as a
  // standby when it comes back; otherwise it resumes as active after its fence check with the
  // peer. Without a failover the standby (restarted or not) must catch up within 10 s.
  void kill_then_restart() {
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
    clients_running_ = false;
    if (failed_over) {
      wait_step_down(*primary_, "restart");
    } else {
      expect_catch_up("after the " + victim + "'s restart");
    }
    v_.standby_refusals =
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
  void kill_cut_off_then_heal() {
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
    event("nemesis: heal");
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
      ++v_.lost_write_stops;
      event("the primary stopped: " + primary_->status().fenced_reason());
      sim_.run_for(ms(rng_.below(500)));
      clients_running_ = false;
      if (!failover(*secondary_)) {
        fail("the failover to the secondary, which has the writes the primary lost, was refused");
        return;
      }
      if (!reprotect(*secondary_)) return;
    } else {
      event("replication to the secondary resumed: the primary lost nothing it had");
      sim_.run_for(ms(rng_.below(500)));
      clients_running_ = false;
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
  void planned_failover_and_back() {
    fault_at_ = sim_.now();
    if (!planned_failover(*secondary_)) return;
    sim_.run_for(ms(300 + rng_.below(1200)));
    if (!planned_failover(*primary_)) return;
    sim_.run_for(ms(rng_.below(500)));
    clients_running_ = false;
    if (!sim_.run_until(
            [&] {
              return primary_->status().protection() == v1::REGION_PROTECTION_PROTECTED &&
                     caught_up();
            },
            sim_.now() + 10s)) {
      fail("the primary is not protected with the secondary caught up 10 s after the failback");
    }
    expect_same_data();
    for (const auto& w : acked_) {
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
  void slow_link() {
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
    event("nemesis: the links are fast again");
    sim_.run_for(ms(rng_.below(500)));
    clients_running_ = false;
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
  void racing_failovers() {
    fault_at_ = sim_.now();
    sim_.run_until([&] { return primary_->status().replication_connected(); }, sim_.now() + 5s);
    auto pending = std::make_shared<size_t>(0);
    ++*pending;
    event("operator 1: planned failover to secondary (re-protect at once)");
    secondary_->node->planned_failover(
        "simulated race", 5s, /*reprotect=*/true,
        [this, pending](Result<v1::PlannedFailoverResponse> r) {
          --*pending;
          if (!r.is_ok()) {
            ++v_.refused_failovers;
            event("operator 1's planned failover refused: " + r.status().to_string());
            return;
          }
          ++v_.planned_failovers;
          ++v_.failovers;
          if (r->new_epoch() > won_->first) *won_ = {r->new_epoch(), kSecondary};
          event("operator 1's planned failover done: secondary active at epoch " +
                std::to_string(r->new_epoch()));
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
              if (!r.is_ok()) {
                ++v_.refused_failovers;
                if (r.status().message().find("waited out the old lease to become active") !=
                    std::string::npos) {
                  ++v_.superseded_during_wait;
                }
                event(who + "'s failover to " + to + " refused: " + r.status().to_string());
                return;
              }
              ++v_.failovers;
              if (r->new_epoch() > won_->first) *won_ = {r->new_epoch(), to};
              v_.lease_wait = std::max(v_.lease_wait, ms(r->lease_wait_ms()));
              // Answered at promotion (the wait proved this epoch; serving still needs a
              // lease) or once the peer stepped down (answer_fence_waiters: "; serving: <how>").
              const bool gated = r->message().find("; serving: ") != std::string::npos;
              if (gated && r->lease_wait_ms() > 0) ++v_.gated_after_lease_wait;
              char wait[32];
              std::snprintf(wait, sizeof wait, "%.0f", r->lease_wait_ms());
              event(who + "'s failover to " + to + " done: epoch " +
                    std::to_string(r->new_epoch()) + ", lease wait " + wait + " ms, " +
                    (gated ? "answered once the peer stepped down" : "answered at promotion"));
            });
      });
    }
    if (!sim_.run_until([&] { return *launched == unplanned && *pending == 0; },
                        sim_.now() + at + 30s)) {
      fail(std::to_string(*pending) + " of the racing failovers did not answer within 30 s");
      return;
    }
    sim_.run_for(3s);
    const int actives = (primary_->active() ? 1 : 0) + (secondary_->active() ? 1 : 0);
    if (actives != 1) {
      fail(std::to_string(actives) + " regions active 3 s after the racing failovers answered");
      return;
    }
    clients_running_ = false;
    SimRegion& active = primary_->active() ? *primary_ : *secondary_;
    // What the operators were told holds: the region active now is the one the successful
    // failover with the newest epoch made active (or the primary, if none succeeded). Of two
    // that succeeded the newer epoch wins, whichever answered last; a failover its operator was
    // told was refused must not take effect later and override them.
    const std::string expected = won_->second.empty() ? kPrimary : won_->second;
    if (active.name != expected) {
      fail(active.name + " is active, but the successful failover with the newest epoch (" +
           std::to_string(won_->first) + ") made " + expected +
           " active: a failover its operator was told was refused took effect");
    }
    if (active.status().protection() != v1::REGION_PROTECTION_PROTECTED && !reprotect(active)) {
      return;
    }
    expect_same_data();
    count_rolled_back_acks();
  }

  // The operator's `drsim failover --planned --reprotect` to `to` (the standby), as the admin RPC
  // calls it; false (and a violation) when it failed or did not answer within 20 s.
  bool planned_failover(SimRegion& to) {
    // A planned failover the replication stream's reset cuts short is refused with "nothing
    // changed"; the operator asks again (at most 3 times). A refusal must leave `to` standby.
    for (int attempt = 1; attempt <= 3; ++attempt) {
      // As an operator would, first check the active region replicates to `to` (a planned
      // failover needs it to drain there; a stream reset may have just cut it).
      sim_.run_until([&] { return other(to).status().replication_connected(); },
                     sim_.now() + 5s);
      event("operator: planned failover to " + to.name + " (re-protect at once)");
      if (attempt == 1 && rng_.below(2) == 0) {
        // Half the first attempts lose the stream 0-29 ms in: while the active region drains,
        // after it handed over (its lease released) or after the standby promoted. Each must
        // end with one active region, every ack kept, and writes resumed or moved.
        sim_.schedule_after(ms(rng_.below(30)), [this, from = &other(to)] {
          std::string phase = from->alive() ? from->status().planned_failover() : "";
          reset_stream("replication stream reset during the planned failover (" + from->name +
                       ": " + (phase.empty() ? "not handing over" : phase) + ")");
        });
      }
      std::optional<Result<v1::PlannedFailoverResponse>> answer;
      to.node->planned_failover("simulated failback", 5s, /*reprotect=*/true,
                                [&](Result<v1::PlannedFailoverResponse> r) {
                                  answer = std::move(r);
                                });
      if (!await_answer(answer, "the planned failover to " + to.name, 20s)) return false;
      if (answer->is_ok()) {
        ++v_.planned_failovers;
        ++v_.failovers;
        char paused[32];
        std::snprintf(paused, sizeof paused, "%.0f", (*answer)->writes_paused_ms());
        event("planned failover to " + to.name + " done: epoch " +
              std::to_string(to.status().epoch()) + ", writes paused " + paused + " ms");
        return true;
      }
      event("planned failover to " + to.name + " refused: " + answer->status().to_string());
      if (to.active()) {
        fail("the planned failover to " + to.name + " was refused (" +
             answer->status().message() + ") but " + to.name + " is active");
        return false;
      }
      sim_.run_for(ms(100 + rng_.below(400)));
    }
    fail("the planned failover to " + to.name + " was refused 3 times");
    return false;
  }

  // The operator's `drsim reprotect` on `from` (the active region), waited for; false (and a
  // violation) when it failed or did not answer within 30 s of virtual time.
  bool reprotect(SimRegion& from) {
    event("operator: re-protect from " + from.name);
    std::optional<Result<v1::ReprotectResponse>> answer;
    from.node->reprotect("simulated " + std::string(nemesis_name(options_.nemesis)),
                         /*no_wait=*/false,
                         [&](Result<v1::ReprotectResponse> r) { answer = std::move(r); });
    if (!await_answer(answer, "the re-protect from " + from.name, 30s)) return false;
    if (!answer->is_ok()) {
      fail("the re-protect from " + from.name + " failed: " + answer->status().to_string());
      return false;
    }
    ++v_.reprotects;
    const auto& r = (*answer)->resync();
    event("re-protect done: " +
          std::string(r.kind() == v1::RESYNC_KIND_FULL ? "full copy" : "delta") + ", " +
          std::to_string(r.rolled_back_entries()) + " entries of " + other(from).name +
          " rolled back, " + std::to_string(r.changes()) + " changes sent");
    return true;
  }

  // Both regions alive and holding, for every workload, the same last seq and the same keys
  // and values: two regions never go on with different writes under the same seqs.
  void expect_same_data() {
    if (!primary_->alive() || !secondary_->alive()) return;
    if (!sim_.run_until([&] { return caught_up(); }, sim_.now() + 10s)) {
      fail("the regions' last seqs still differ 10 s after the end of the fault");
      return;
    }
    for (const char* workload : {kSyncWorkload, kAsyncWorkload}) {
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
      fail("the regions hold different data for " + std::string(workload) + " at seq " +
           std::to_string(last_seq_of(*primary_, workload)) + ": " + std::to_string(differ) +
           " key(s) differ, the first " + first + " (primary " + std::to_string(p.size()) +
           " keys, secondary " + std::to_string(s.size()) + ")");
    }
    event("both regions hold the same data");
  }

  static uint64_t last_seq_of(SimRegion& r, const std::string& workload) {
    const v1::GetStatusResponse st = r.status();  // the loop must not range over a temporary
    for (const auto& w : st.workloads()) {
      if (w.name() == workload) return w.last_seq();
    }
    return 0;
  }

  // The async writes acknowledged that the region serving at the end does not have: the ones a
  // crash without fsync lost, and the ones the restarted primary wrote under lost seqs, which
  // the re-protect rolled back. Counted, not violations: without fsync nothing promises them.
  void count_rolled_back_acks() {
    SimRegion* serving = primary_->serving() ? primary_.get() : secondary_.get();
    for (const auto& w : acked_) {
      if (w.workload == kAsyncWorkload && serving->value_of(w.workload, w.key) != w.value) {
        ++v_.rolled_back_acks;
      }
    }
  }

  void kill(const std::string& name) {
    const std::string dir = "/sim/" + name + "/";
    crash_->kill(dir);  // from this instant nothing of it reaches the disk
    net_.crash(name);
    slot(name)->kill();
    crash_->drop_unsynced(dir);
    ++v_.kills;
    event("nemesis: kill " + name + " (its host crashes: what its store had not synced is lost)");
  }

  void restart(const std::string& name) {
    std::unique_ptr<SimRegion> fresh = make_region(name);
    if (!fresh) return;
    fresh->restarted = true;
    check_restarted_store(*fresh);
    dead_.push_back(std::move(slot(name)));
    slot(name) = std::move(fresh);
    SimRegion& r = *slot(name);
    ++v_.restarts;
    if (Status st = r.node->start(name); !st.is_ok()) {
      fail("the restarted " + name + " did not start: " + st.to_string());
      return;
    }
    auto st = r.status();
    std::string what = "nemesis: restart " + name + ": " +
                       (st.role() == v1::ROLE_ACTIVE ? "active" : "standby") + " at epoch " +
                       std::to_string(st.epoch());
    for (const auto& w : st.workloads()) {
      what += ", " + w.name() + " at seq " + std::to_string(w.last_seq());
    }
    event(what);
  }

  // What the crash must have kept (the stores sync every write): every write the region
  // acknowledged itself, and every sync write its peer acknowledged while protected (this
  // region, its standby, had confirmed it durable).
  void check_restarted_store(SimRegion& r) {
    for (const auto& w : acked_) {
      const bool own = w.by == r.name;
      if (!own && !(w.workload == kSyncWorkload && w.protected_ack)) continue;
      // Without fsync a crash loses the region's own acknowledged writes: kill-cut-off's premise
      // (kill --without-fsync reports them, as a configuration that does not keep them).
      if (own && options_.nemesis == Nemesis::kKillCutOff) continue;
      if (r.value_of(w.workload, w.key) == w.value) continue;
      fail(own ? "write " + w.key + " (" + w.workload + ") acknowledged by " + r.name +
                     " before its crash is not in its store after the restart"
               : "sync write " + w.key + " acknowledged by " + w.by +
                     " while protected is not in the restarted " + r.name +
                     "'s store: its crash lost a write it had confirmed");
    }
  }

  void check_log(SimRegion& r) {
    for (const char* workload : {kSyncWorkload, kAsyncWorkload}) {
      if (std::string problem = r.log_problem(workload); !problem.empty()) {
        fail(r.name + "'s log of " + workload + ": " + problem);
      }
    }
  }

  // After the run settles: one region serves, and it has every sync write acknowledged while
  // protected.
  void check_end_state() {
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
    for (const auto& w : acked_) {
      if (w.workload == kSyncWorkload && w.protected_ack &&
          serving->value_of(w.workload, w.key) != w.value) {
        fail("acknowledged sync write " + w.key + " is lost on " + serving->name);
      }
    }
  }

  struct Acked {
    std::string workload, key, value;
    std::string by;  // the region that acknowledged it
    bool protected_ack;
  };

  SeedOptions options_;
  std::unique_ptr<rocksdb::Env> mem_env_;  // the in-memory files, under disk_
  std::shared_ptr<DiskFullFs> disk_;
  std::shared_ptr<CrashFs> crash_;     // over disk_
  std::unique_ptr<rocksdb::Env> env_;  // on crash_; outlives the stores
  Rng rng_;
  SimScheduler sim_;
  SimNetwork net_;
  trafficmgr::LeaseWitness witness_;
  std::unique_ptr<SimRegion> primary_;
  std::unique_ptr<SimRegion> secondary_;
  // Killed incarnations: their freezers drop what the scheduler still holds for them.
  std::vector<std::unique_ptr<SimRegion>> dead_;
  Verdict v_;
  bool clients_running_ = true;
  bool handed_over_serving_seen_ = false;
  bool two_leases_seen_ = false;
  uint64_t next_key_ = 0;
  std::optional<Time> fault_at_;
  std::vector<Acked> acked_;
  // racing-failovers: the newest epoch a successful failover answered and the region it made
  // active (shared with the operators' callbacks).
  std::shared_ptr<std::pair<uint64_t, std::string>> won_ =
      std::make_shared<std::pair<uint64_t, std::string>>();
};

}  // namespace

Verdict run_seed(uint64_t seed, const SeedOptions& options) {
  Run run(seed, options);
  return run.run();
}

}  // namespace drsim::sim
