// One seeded run of a region pair on virtual time, under one nemesis, judged by a checker.
// Two real RegionNodes (the region daemon's driver), a primary and a secondary, live in one
// process on one SimScheduler: their stores on RocksDB's in-memory Env, their links in memory
// (SimNetwork), the Traffic Manager's real LeaseWitness as the witness. Stale clients keep a
// region's address for the whole run (several requests in flight when it is frozen); the
// nemesis (partition, freeze, double failover, clock drift, a standby's full disk, a killed and
// restarted region whose unsynced writes are lost, a one-way cut of the replication link, a
// primary crashed without fsync and restarted cut off from its standby, operators whose
// planned and unplanned failovers race) and
// the operator's failovers are drawn from the seed. Every acknowledgement is judged the moment
// it is given, and the end state once the run settles. The same seed gives the same events (docs/simulation.md).
//
// Used by `drsim sim` (cli/sim_command.cc) and tests/sim. The daemons never link it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/drill/history_checker.h"
#include "common/model/drill/recovery_bound.h"
#include "common/sim/nemesis.h"

namespace drsim::sim {

// The broken variant: the regions acknowledge without a valid lease (RegionOptions::
// unsafe_no_lease, the test-build daemon's --unsafe-no-lease).
enum class LeaseCheck { kEnforced, kBypassed };
// The other broken variant: the active region acknowledges sync writes before the standby made
// them durable (RegionOptions::unsafe_ack_before_standby, the daemon's
// --unsafe-ack-before-standby); the checker's "sync means on the standby" must catch it.
enum class SyncAck { kAfterStandby, kBeforeStandby };
// The third: a restarted active region that serves on by fence-check timeout does not mark
// where its unverified writes begin (RegionOptions::unsafe_no_unverified_marks); the
// kill-cut-off nemesis's "same data" check must catch the two regions disagreeing.
enum class UnverifiedMarks { kKept, kSkipped };
// The fourth: Get and Scan answered whatever the role and lease (RegionOptions::
// unsafe_unfenced_reads); the routed clients' history check must find a superseded region's
// stale reads.
enum class ReadFence { kEnforced, kSkipped };
// The fifth: the run's Traffic Manager probes every 3 s instead of drsim up's 100 ms (it notices
// a region stopped serving seconds late) while the recovery check keeps drsim up's bound; once
// the clients write on after the fault (--duration), the recovery check must catch the clients
// reaching the promoted region too late.
enum class Detection { kDrsimUp, kSlow };
// Drift nemesis: rates inside the lease's bound (model::check_clock_drift accepts them; the
// checker must find nothing) or beyond it (the checker is expected to find acks by the
// superseded region).
enum class DriftRange { kWithinBound, kBeyondBound };

// The regions' stores: every write synced (the daemon's --fsync, storage.fsync: true; durable
// across power loss) or left in the OS's cache (the default; durable across SIGKILL only). The
// kill nemesis's crash loses what was not synced, so only kEveryWrite is expected to keep every
// acknowledged write (docs/replication.md).
enum class Fsync { kEveryWrite, kOff };

// The workloads' replication modes (`drsim sim --mode`): every workload sync (acknowledged once
// the standby has it: no acknowledged write may be lost), every one async (acknowledged when
// the active region has it: a failover may give up what the standby had not received), or
// alternating, the first sync (the default).
enum class Mode { kSync, kAsync, kMixed };
std::string_view mode_name(Mode m);

struct SeedOptions {
  Nemesis nemesis = Nemesis::kPartition;  // the run's first fault
  // The kinds a --duration run draws its later faults from (later_episode_kinds of what
  // --nemesis names): while the first half of the duration lasts, the pair is restored after
  // each fault (one region active, re-protected, the primary active again by a planned
  // failover) and the next fault drawn. Empty: one fault per run.
  std::vector<Nemesis> later_kinds;
  LeaseCheck lease_check = LeaseCheck::kEnforced;
  SyncAck sync_ack = SyncAck::kAfterStandby;
  DriftRange drift_range = DriftRange::kWithinBound;
  Fsync fsync = Fsync::kEveryWrite;  // kill-cut-off always runs without (its premise)
  UnverifiedMarks marks = UnverifiedMarks::kKept;
  ReadFence reads = ReadFence::kEnforced;
  Detection detection = Detection::kDrsimUp;
  // Clients that ask the Traffic Manager where to go (`drsim sim --clients N`), beside the
  // stale writers: each resolves, keeps the answer for its TTL (every fourth for the whole run)
  // and runs one put or get at a time there with a 1 s deadline; their history is judged by
  // model::check_history. 0: none (the seed's history is then what it was before routed
  // clients existed).
  uint32_t clients = 0;
  Mode mode = Mode::kMixed;
  // Workloads each region protects (`--workloads N`): with kMixed, vm-sync, vm-async,
  // vm-sync-1, vm-async-1, ...; with one mode, vm-sync, vm-sync-1, ... (or vm-async...). Each
  // write goes to one drawn at random.
  uint32_t workloads = 2;
  // How long a run lasts at least (`--duration`): the fault comes within its first half, and
  // once the nemesis is done the clients write on until it has passed. 0: the run ends with
  // the nemesis (a few virtual seconds).
  Duration duration{};
  // Keep what `drsim sim --seed S --html FILE` draws (Verdict::record): a replayed seed only.
  bool record = false;
};

// The phrase every "acknowledged by a superseded region" violation carries.
inline constexpr const char* kAckBySupersededRegion = "acknowledged by a superseded region";
// The phrase of a sync write acknowledged while the standby did not have it.
inline constexpr const char* kSyncAckNotOnStandby = "but not on";

// What a run counted; `drsim sim` adds them up over its seeds.
struct Counts {
  size_t restores = 0;            // the pair restored between two faults
  size_t acked = 0;
  size_t acked_sync = 0;
  size_t refused_after_fault = 0;
  size_t resets = 0;  // replication stream resets before the fault
  size_t standby_refusals = 0;  // disk-full: batches the standby refused (the primary's count)
  size_t failovers = 0;
  size_t kills = 0;                           // kill: regions killed (their unsynced writes lost)
  size_t restarts = 0;                        // kill: regions restarted on their crashed files
  // kill-cut-off: the restarted primary stopped on finding the standby holds writes it lost
  // (then the operator failed over and re-protected), and the async writes it acknowledged
  // while cut off that the re-protect rolled back (a store without fsync does not keep them).
  size_t lost_write_stops = 0;
  size_t reprotects = 0;
  size_t rolled_back_acks = 0;
  size_t planned_failovers = 0;  // failback: the operator's planned failovers that completed
  // racing-failovers: the operators' failovers that were refused (the race's losers); among
  // them those refused because the standby learned a newer epoch while it waited out the old
  // lease (another failover under way: promoting would override it); and the promotions that
  // waited out the old lease yet had to wait for the peer's fence too (the wait proved another
  // epoch than the one promoted to: none since those are refused).
  size_t refused_failovers = 0;
  size_t superseded_during_wait = 0;
  size_t gated_after_lease_wait = 0;
  // Routed clients: their operations (puts, gets, deletes), those acknowledged, the gets, the
  // deletes, the gets that missed an async write a failover gave up (counted, not violations).
  size_t routed_ops = 0;
  size_t routed_ok = 0;
  size_t routed_reads = 0;
  size_t routed_deletes = 0;
  size_t reads_of_given_up_writes = 0;
  size_t reads_of_crash_lost_writes = 0;  // kill-cut-off: what the crash without fsync lost
  size_t route_changes = 0;               // the Traffic Manager's routing changes
  // The recovery check (check_recoveries): promotions judged against the bound, and those not
  // judged because the next fault, operator step, promotion or the clients' stop came first.
  size_t recoveries_judged = 0;
  size_t recoveries_excused = 0;

  Counts& operator+=(const Counts& o);
};

// What one run did and what the checker found.
struct Verdict {
  uint64_t seed = 0;
  Nemesis nemesis = Nemesis::kPartition;
  std::vector<Nemesis> episodes;  // every fault of the run in order, the first = nemesis
  std::vector<std::string> violations;
  Counts counts;
  // The longest time with no put acknowledged to any routed client (from their first ack to
  // the end of the load).
  Duration longest_write_gap{};
  Duration lease_wait{};                      // longest wait of a failover
  // The longest recovery time the check judged: from a promotion to the first write a routed
  // client had acknowledged by the promoted region.
  Duration longest_recovery{};
  Duration simulated{};                       // virtual time the run covered
  std::map<std::string, double> drift_rates;  // drift only: region → rate
  std::map<std::string, int64_t> skew_ms;      // skew only: region → wall-clock step (last)
  // Every step and every write's outcome with its virtual instant, in order: equal for equal
  // seeds (the replay determinism `drsim sim --seed` and the tests rely on).
  std::vector<std::string> events;

  // With SeedOptions::record: what the drill report draws, at the run's virtual wall instants.
  struct Mark {
    int64_t unix_nanos = 0;
    std::string kind;  // "nemesis", "operator", "promoted", "route"
    std::string text;
    std::string region;  // promoted: the region; route: the new route
    uint64_t epoch = 0;  // promoted
    std::string old_route;
  };
  struct Record {
    std::vector<Mark> marks;
    std::vector<model::OpRecord> history;  // the routed clients' operations
    model::CheckResult check;              // model::check_history's verdict on them
    std::string final_active;              // the region serving at the end
  };
  Record record;
};

Verdict run_seed(uint64_t seed, const SeedOptions& options);

// The bound every promotion's recovery time is judged against (Verdict::longest_recovery,
// Counts::recoveries_judged): drsim up's Traffic Manager (3 probes 100 ms apart, 50 ms
// timeout, TTL 500 ms), the regions' lease (1 s), the clients' deadline (1 s), 200 ms of slack.
model::RecoveryBudget recovery_budget();

}  // namespace drsim::sim
