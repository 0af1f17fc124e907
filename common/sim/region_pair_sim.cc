// The region pair simulator's run (common/sim/pair_run.h): setting up the pair on virtual time,
// its stale clients, the operator's calls, kills and restarts. The checker is in
// region_pair_checks.cc, the nemeses in region_pair_nemeses.cc, the schedule of faults and the
// workloads in region_pair_schedule.cc, the routed clients in routed_clients.cc.
#include "common/sim/region_pair_sim.h"

#include <rocksdb/env.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "common/core/check.h"
#include "common/model/drill/history_checker.h"
#include "common/model/replication/lease.h"
#include "common/sim/pair_run.h"
#include "common/sim/sim_prober.h"
#include "common/storage/region_store.h"

namespace drsim::sim {

using namespace std::chrono_literals;
using region::RegionNode;
using region::RegionOptions;
using region::ReplicationMode;

namespace {

RegionOptions region_options(const std::string& name, const std::string& peer, model::Role role,
                             const SeedOptions& seed,
                             const std::vector<region::WorkloadSpec>& workloads) {
  RegionOptions o;
  o.name = name;
  o.peer_name = peer;
  o.peer_address = peer;
  o.data_dir = "/sim/" + name;
  o.initial_role = role;
  o.workloads = workloads;
  o.witness_address = kWitness;
  o.unsafe_no_lease = seed.lease_check == LeaseCheck::kBypassed;
  o.unsafe_ack_before_standby = seed.sync_ack == SyncAck::kBeforeStandby;
  o.unsafe_no_unverified_marks = seed.marks == UnverifiedMarks::kSkipped;
  o.unsafe_unfenced_reads = seed.reads == ReadFence::kSkipped;
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

// drsim up's Traffic Manager (cli/topology.h's defaults): one priority profile, the primary
// first; the addresses are never dialled (SimProber probes the members named for the
// endpoints).
trafficmgr::TrafficManagerConfig traffic_manager_config(Detection detection) {
  trafficmgr::FlagProfileConfig flags;
  flags.endpoints = {{kPrimary, "127.0.0.1:1", 1, ""}, {kSecondary, "127.0.0.1:2", 2, ""}};
  flags.monitor.probe_interval = detection == Detection::kSlow ? 3000ms : kProbeInterval;
  flags.monitor.probe_timeout = kProbeTimeout;
  flags.monitor.tolerated_failures = kToleratedFailures;
  flags.ttl = kRouteTtl;
  DRSIM_CHECK(flags.validate().is_ok());
  trafficmgr::TrafficManagerConfig config;
  config.profiles.push_back(flags.to_profile_spec());
  return config;
}

}  // namespace

// The Traffic Manager's routing changes, as events of the run.
class PairRun::RouteEvents final : public trafficmgr::RoutingWatcher {
 public:
  explicit RouteEvents(PairRun& run) : run_(run) {}
  void on_event(const v1::RoutingEvent& e) override {
    if (e.kind() != v1::RoutingEvent::ROUTE_CHANGED) return;
    ++run_.v_.counts.route_changes;
    run_.event("trafficmgr: route " + e.old_route() + " -> " + e.new_route() + ": " + e.reason());
    run_.mark({0, "route", e.reason(), e.new_route(), 0, e.old_route()});
  }
  void on_close() override {}

 private:
  PairRun& run_;
};

PairRun::PairRun(uint64_t seed, const SeedOptions& options)
    : options_(options),
      workloads_(make_workloads(options)),
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
  tm_ = std::make_unique<trafficmgr::TrafficManager>(
      traffic_manager_config(options.detection), sim_, sim_,
      [this](const trafficmgr::ProberConfig& config, trafficmgr::Prober::ResultHandler done) {
        return std::make_unique<SimProber>(net_, sim_, kWitness, config, std::move(done));
      });
  route_events_ = std::make_unique<RouteEvents>(*this);
  tm_->state().subscribe(route_events_.get(), trafficmgr::ReplayMode::kLiveOnly);
  net_.on_now_serving([this](const std::string&, uint64_t) { tm_->probe_now(); });
  primary_ = make_region(kPrimary);
  secondary_ = make_region(kSecondary);
  DRSIM_CHECK(primary_ && secondary_);
}

PairRun::~PairRun() {
  // Nothing the clients or the nemesis left on the scheduler may run after this.
  clients_running_ = false;
  tm_->stop();
  primary_->freezer.thaw();
  secondary_->freezer.thaw();
}

std::unique_ptr<SimRegion> PairRun::make_region(const std::string& name) {
  const bool primary = name == kPrimary;
  RegionOptions o = region_options(name, primary ? kSecondary : kPrimary,
                                   primary ? model::Role::kActive : model::Role::kStandby, options_,
                                   workload_specs());
  auto opened = storage::RegionStore::open(
      o.data_dir, synced() ? storage::Durability::kPowerLoss : storage::Durability::kProcessCrash,
      o.log_retention, env_.get());
  if (!opened.is_ok()) {
    fail("the " + name + "'s store did not open: " + opened.status().to_string());
    return nullptr;
  }
  return std::make_unique<SimRegion>(sim_, std::move(opened).value(), std::move(o), net_);
}

Verdict PairRun::run() {
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
  tm_->start();
  stale_targets_.push_back(&primary_);
  if (writes_to_both(options_.nemesis)) stale_targets_.push_back(&secondary_);
  start_clients();
  schedule_resets();
  schedule_lease_sampler();

  // Replicate a while, then the fault (within the first half of a --duration; its first
  // eighth when later faults may follow); while that half lasts, the pair is restored and the
  // next fault drawn.
  const std::vector<Nemesis> later = later_episode_kinds(options_.later_kinds, synced());
  const uint64_t half_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.duration).count() / 2;
  sim_.run_for(
      ms(300 + rng_.below(std::max<uint64_t>(1200, later.empty() ? half_ms : half_ms / 4))));
  run_episode(options_.nemesis);
  while (!later.empty() && v_.violations.empty() &&
         sim_.now() - kTimeZero < options_.duration / 2) {
    if (!clients_running_) {
      clients_running_ = true;
      event("the clients write on");
      start_clients();
      schedule_lease_sampler();
    }
    if (!restore_pair()) break;
    sim_.run_for(ms(1000 + rng_.below(4000)));
    run_episode(later[rng_.below(later.size())]);
  }
  // A --duration run goes on with its clients once the nemesis is done.
  if (sim_.now() - kTimeZero < options_.duration) {
    if (!clients_running_) {
      clients_running_ = true;
      event("the clients write on until " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(options_.duration).count()) +
            " s");
      start_clients();
      schedule_lease_sampler();
    }
    sim_.run_until([] { return false; }, kTimeZero + options_.duration);
  }
  stop_clients();
  sim_.run_for(1s);
  check_end_state();
  return finish();
}

bool PairRun::synced() const {
  return options_.fsync == Fsync::kEveryWrite && options_.nemesis != Nemesis::kKillCutOff;
}

void PairRun::event(const std::string& what, Step step) {
  char at[32];
  std::snprintf(at, sizeof at, "%10.3f ms  ", to_ms(sim_.now() - kTimeZero));
  v_.events.push_back(at + what);
  const bool nemesis_or_operator =
      what.rfind("nemesis: ", 0) == 0 || what.rfind("operator", 0) == 0;
  if (nemesis_or_operator && step == Step::kAny) {
    interruptions_.push_back({sim_.wall_unix_nanos(), what});
  }
  if (!options_.record) return;
  if (what.rfind("nemesis: ", 0) == 0) {
    mark({0, "nemesis", what.substr(9), "", 0, ""});
  } else if (what.rfind("operator", 0) == 0) {
    mark({0, "operator", what, "", 0, ""});
  }
}

void PairRun::mark(Verdict::Mark m) {
  if (!options_.record) return;
  m.unix_nanos = sim_.wall_unix_nanos();
  v_.record.marks.push_back(std::move(m));
}

void PairRun::promoted(const std::string& region, uint64_t epoch) {
  promotions_.push_back({epoch, sim_.wall_unix_nanos(), {}, region});
  mark({0, "promoted", "", region, epoch, ""});
}

void PairRun::stop_clients() {
  clients_running_ = false;
  interruptions_.push_back({sim_.wall_unix_nanos(), "the clients stopped"});
}

void PairRun::fail(std::string what) {
  event("VIOLATION: " + what);
  v_.violations.push_back(std::move(what));
}

Verdict PairRun::finish() {
  // A DRSIM_BUG report in either region (one process: the count is the run's) fails the seed.
  if (const uint64_t bugs = bugs_counted() - bugs_at_start_; bugs > 0) {
    fail(std::to_string(bugs) + " DRSIM_BUG report(s) counted during the run: a drsim bug (the "
         "replay's log names where)");
  }
  v_.simulated = sim_.now() - kTimeZero;
  if (options_.record) v_.record.history = history_;
  return std::move(v_);
}

std::unique_ptr<SimRegion>& PairRun::slot(const std::string& name) {
  return name == kPrimary ? primary_ : secondary_;
}

void PairRun::start_clients() {
  ++clients_generation_;
  if (paused_since_) {
    pauses_.emplace_back(*paused_since_, sim_.wall_unix_nanos());
    paused_since_.reset();
  }
  for (auto* target : stale_targets_) start_client(*target);
  for (uint32_t i = 0; i < options_.clients; ++i) start_routed_client(i);
}

void PairRun::start_client(std::unique_ptr<SimRegion>& target_slot) {
  // The next write is the scheduled task's (a strong reference); the function itself holds a
  // weak one, else it would own itself and never be freed (LeakSanitizer, every seed).
  auto write = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> self = write;
  *write = [this, &target_slot, self, generation = clients_generation_] {
    if (!clients_running_ || generation != clients_generation_) return;
    SimRegion& target = *target_slot;
    const std::string key = "k" + std::to_string(next_key_++);
    const std::string workload = draw_workload();
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

void PairRun::schedule_resets() {
  for (uint64_t i = 0, n = rng_.below(3); i < n; ++i) {
    sim_.schedule_after(ms(50 + rng_.below(1200)), [this] {
      if (!fault_at_) reset_stream("replication stream reset");
    });
  }
}

void PairRun::reset_stream(const std::string& what) {
  net_.reset(kPrimary, kSecondary);
  ++v_.counts.resets;
  event(what);
}

void PairRun::schedule_lease_sampler() {
  sim_.schedule_after(10ms, [this] {
    if (!clients_running_) return;
    auto p = primary_->status();
    auto s = secondary_->status();
    if (p.role() == v1::ROLE_ACTIVE && s.role() == v1::ROLE_ACTIVE && p.lease().state() == "held" &&
        s.lease().state() == "held" && !two_leases_seen_) {
      two_leases_seen_ = true;
      fail("two regions hold a valid lease at once: primary at epoch " + std::to_string(p.epoch()) +
           ", secondary at epoch " + std::to_string(s.epoch()));
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

bool PairRun::failover(SimRegion& to) {
  event("operator: failover to " + to.name);
  std::optional<Result<v1::FailoverResponse>> answer;
  to.node->failover_after_lease("simulated " + std::string(nemesis_name(current_)),
                                RegionNode::WitnessOverride::kRequireWitness,
                                [&](Result<v1::FailoverResponse> r) { answer = std::move(r); });
  if (!await_answer(answer, "the failover to " + to.name, 10s)) return false;
  if (!answer->is_ok()) {
    event("failover to " + to.name + " refused: " + answer->status().to_string());
    return false;
  }
  ++v_.counts.failovers;
  v_.lease_wait = std::max(v_.lease_wait, ms((*answer)->lease_wait_ms()));
  // "Failed over" means "takes writes": the answer waits for the first lease of the new epoch.
  if (to.active() && to.status().epoch() == (*answer)->new_epoch() && !to.serving()) {
    fail("the failover to " + to.name + " answered (epoch " +
         std::to_string((*answer)->new_epoch()) + ") before " + to.name +
         " served: a client writing at once is refused");
  }
  char wait[32];
  std::snprintf(wait, sizeof wait, "%.0f", (*answer)->lease_wait_ms());
  event("failover to " + to.name + " done: epoch " + std::to_string(to.status().epoch()) +
        ", lease wait " + wait + " ms");
  promoted(to.name, to.status().epoch());
  return true;
}

void PairRun::wait_step_down(SimRegion& old, const char* after) {
  if (!sim_.run_until([&] { return !old.active(); }, sim_.now() + 5s)) {
    fail("the old " + old.name + " did not step down within 5 s of the " + after);
  } else {
    event(old.name + " stepped down");
  }
}

bool PairRun::planned_failover(SimRegion& to) {
  // A planned failover the replication stream's reset cuts short is refused with "nothing
  // changed"; the operator asks again (at most 3 times). A refusal must leave `to` standby.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    // As an operator would, first check the active region replicates to `to` (a planned
    // failover needs it to drain there; a stream reset may have just cut it).
    sim_.run_until([&] { return other(to).status().replication_connected(); }, sim_.now() + 5s);
    event("operator: planned failover to " + to.name + " (re-protect at once)");
    if (attempt == 1 && rng_.below(2) == 0) {
      // Half the first attempts lose the stream 0-29 ms in: while the active region drains,
      // after it handed over (its lease released) or after the standby promoted. Each must
      // end with one active region, every ack kept, and writes resumed or moved.
      sim_.schedule_after(ms(rng_.below(30)), [this, from = &other(to)] {
        std::string phase = from->alive() ? from->status().planned_failover() : "";
        reset_stream("replication stream reset during the planned failover (" + from->name + ": " +
                     (phase.empty() ? "not handing over" : phase) + ")");
      });
    }
    std::optional<Result<v1::PlannedFailoverResponse>> answer;
    to.node->planned_failover(
        "simulated failback", 5s, /*reprotect=*/true,
        [&](Result<v1::PlannedFailoverResponse> r) { answer = std::move(r); });
    if (!await_answer(answer, "the planned failover to " + to.name, 20s)) return false;
    if (answer->is_ok()) {
      ++v_.counts.planned_failovers;
      ++v_.counts.failovers;
      char paused[32];
      std::snprintf(paused, sizeof paused, "%.0f", (*answer)->writes_paused_ms());
      event("planned failover to " + to.name + " done: epoch " +
            std::to_string(to.status().epoch()) + ", writes paused " + paused + " ms");
      promoted(to.name, to.status().epoch());
      return true;
    }
    event("planned failover to " + to.name + " refused: " + answer->status().to_string());
    if (to.active()) {
      fail("the planned failover to " + to.name + " was refused (" + answer->status().message() +
           ") but " + to.name + " is active");
      return false;
    }
    sim_.run_for(ms(100 + rng_.below(400)));
  }
  fail("the planned failover to " + to.name + " was refused 3 times");
  return false;
}

bool PairRun::reprotect(SimRegion& from) {
  event("operator: re-protect from " + from.name);
  std::optional<Result<v1::ReprotectResponse>> answer;
  from.node->reprotect("simulated " + std::string(nemesis_name(current_)),
                       /*no_wait=*/false,
                       [&](Result<v1::ReprotectResponse> r) { answer = std::move(r); });
  if (!await_answer(answer, "the re-protect from " + from.name, 30s)) return false;
  if (!answer->is_ok()) {
    fail("the re-protect from " + from.name + " failed: " + answer->status().to_string());
    return false;
  }
  ++v_.counts.reprotects;
  const auto& r = (*answer)->resync();
  event(
      "re-protect done: " + std::string(r.kind() == v1::RESYNC_KIND_FULL ? "full copy" : "delta") +
      ", " + std::to_string(r.rolled_back_entries()) + " entries of " + other(from).name +
      " rolled back, " + std::to_string(r.changes()) + " changes sent");
  return true;
}

void PairRun::kill(const std::string& name) {
  const std::string dir = "/sim/" + name + "/";
  crash_->kill(dir);  // from this instant nothing of it reaches the disk
  net_.crash(name);
  slot(name)->kill();
  crash_->drop_unsynced(dir);
  crashes_.emplace_back(name, sim_.wall_unix_nanos());
  ++v_.counts.kills;
  event("nemesis: kill " + name + " (its host crashes: what its store had not synced is lost)");
}

void PairRun::restart(const std::string& name) {
  std::unique_ptr<SimRegion> fresh = make_region(name);
  if (!fresh) return;
  fresh->restarted = true;
  check_restarted_store(*fresh);
  dead_.push_back(std::move(slot(name)));
  slot(name) = std::move(fresh);
  SimRegion& r = *slot(name);
  ++v_.counts.restarts;
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
  event(what, Step::kEndsFault);
}

Verdict run_seed(uint64_t seed, const SeedOptions& options) {
  PairRun run(seed, options);
  return run.run();
}

}  // namespace drsim::sim
