// One seeded run of the region pair simulator (common/sim/region_pair_sim.h): the pair, its
// clients, the operator's calls and the checker (region_pair_sim.cc), and the nemeses
// (region_pair_nemeses.cc). Internal to common/sim: run_seed() is the interface.
#pragma once

#include <rocksdb/env.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/core/check.h"
#include "common/core/rng.h"
#include "common/model/drill/history.h"
#include "common/model/drill/recovery_bound.h"
#include "common/core/scheduler.h"
#include "common/region/region_node.h"
#include "common/sim/crash_fs.h"
#include "common/sim/disk_full_fs.h"
#include "common/sim/region_pair_sim.h"
#include "common/sim/sim_network.h"
#include "common/sim/sim_region.h"
#include "trafficmgr/lease_witness.h"
#include "trafficmgr/traffic_manager.h"

namespace drsim::sim {

inline constexpr const char* kPrimary = "primary";
inline constexpr const char* kSecondary = "secondary";
inline constexpr const char* kWitness = "trafficmgr";

inline Duration ms(uint64_t n) { return std::chrono::milliseconds(n); }

// drsim up's Traffic Manager (cli/topology.h's defaults), as the run's Traffic Manager probes
// and answers.
inline constexpr Duration kProbeInterval = std::chrono::milliseconds(100);
inline constexpr Duration kProbeTimeout = std::chrono::milliseconds(50);
inline constexpr uint32_t kToleratedFailures = 2;
inline constexpr Duration kRouteTtl = std::chrono::milliseconds(500);
// A routed client gives up on a call after this long (as `drsim load`'s TTL clients).
inline constexpr Duration kClientDeadline = std::chrono::milliseconds(1000);

// Members are declared in the order they must outlive each other (the Env first, the regions
// last).
class PairRun {
 public:
  PairRun(uint64_t seed, const SeedOptions& options);
  ~PairRun();

  // The region `name` as the daemon starts it: its store opened on its files (the same ones
  // after a crash), the same options. nullptr (and a violation) when the store does not open.
  std::unique_ptr<SimRegion> make_region(const std::string& name);

  Verdict run();

 private:
  // The workloads both regions protect (SeedOptions::mode and ::workloads), in order.
  struct SimWorkload {
    std::string name;
    bool sync;
  };
  static std::vector<SimWorkload> make_workloads(const SeedOptions& options);
  bool is_sync(const std::string& workload) const;
  std::vector<region::WorkloadSpec> workload_specs() const;
  // The workload of the next write, drawn from rng_.
  const std::string& draw_workload();

  // Whether the stores sync every write. kill-cut-off's premise is a store without fsync, whose
  // crash loses acknowledged writes.
  bool synced() const;

  // A line of the run's trace. A step of the nemesis ("nemesis: ...") or of an operator
  // ("operator...") is also an interruption of the recovery check (check_recoveries) unless it
  // ends a fault (Step::kEndsFault: a heal, a resume, a restart).
  enum class Step { kAny, kEndsFault };
  void event(const std::string& what, Step step = Step::kAny);
  // With SeedOptions::record: a mark for the HTML report, stamped now.
  void mark(Verdict::Mark m);
  void fail(std::string what);
  // A failover (planned or not) to `region` answered: a mark, and a promotion the recovery check
  // judges.
  void promoted(const std::string& region, uint64_t epoch);
  // The clients stop writing (until start_clients()): an interruption of the recovery check.
  void stop_clients();
  Verdict finish();
  SimRegion& other(SimRegion& r) { return &r == primary_.get() ? *secondary_ : *primary_; }
  std::unique_ptr<SimRegion>& slot(const std::string& name);

  // A stale client: keeps `target`'s address for the whole run and writes every 2–9 ms, not
  // waiting for answers (a frozen region piles up requests in flight; a dead one never answers,
  // a restarted one answers at the same address).
  void start_client(std::unique_ptr<SimRegion>& target_slot);

  // The checker of an acknowledgement's epoch (`what` names the write): none by a superseded
  // region, none by a restarted region below its peer's epoch.
  void check_ack_epoch(SimRegion& by, const std::string& what, uint64_t epoch);

  // The checker, at the instant of each answer.
  void on_answer(SimRegion& by, const std::string& key, const std::string& workload,
                 const std::string& value, const region::WriteOutcome& o);

  // Every client of the run: the stale ones on their regions, the routed ones.
  void start_clients();

  // A client that follows the Traffic Manager (SeedOptions::clients): resolves when its cached
  // answer's TTL has run out (every fourth client, a stale one, only once: it keeps its first
  // answer), then one operation at a time at the answered region: 2 in 8 a get of a key an
  // earlier routed put wrote (half the time one of the 16 newest), 1 in 8 a delete of a key an
  // acknowledged put wrote (each once), the rest puts of new keys. A call is given up after
  // kClientDeadline (indeterminate, as `drsim load`'s TTL clients); the next starts 10–30 ms
  // after the last ended. Every operation goes into history_.
  struct RoutedClient;
  void start_routed_client(uint32_t id);
  void routed_step(const std::shared_ptr<RoutedClient>& c);
  // routed_step's parts: the client's answer, asked again when its TTL ran out (false when the
  // Traffic Manager gave none: the step is retried 100 ms later), and its next operation drawn
  // (kind, workload, key) as a history record.
  bool routed_resolve(const std::shared_ptr<RoutedClient>& c);
  model::OpRecord draw_routed_op(const RoutedClient& c);
  void routed_write(const std::shared_ptr<RoutedClient>& c, SimRegion& target, size_t index);
  // The checker at a delete's answer: no ack by a superseded region, and a sync delete
  // acknowledged while protected is applied on the standby. Returns whether it was protected.
  bool on_delete_answer(SimRegion& by, const std::string& key, const std::string& workload,
                        const region::WriteOutcome& o);
  void routed_get(const std::shared_ptr<RoutedClient>& c, SimRegion& target, size_t index);
  // Ends operation `index` (once: its answer or its deadline) and schedules the client's next.
  bool end_op(const std::shared_ptr<RoutedClient>& c, size_t index);

  // At the end, the drill's expectations judged by the drill's judge (model::judge_drill):
  // the Traffic Manager routes to `serving`, and the routed clients' history lost no sync
  // write acknowledged while protected and read nothing stale (check_history_at_end).
  void judge_at_end(SimRegion& serving);
  // The routed clients' history, checked by the drill's checker (model::check_history) against
  // what `serving` holds at the end: the acknowledged sync writes and deletes it lost that the
  // standby had confirmed, and the reads that missed a write they were promised or read a
  // superseded region (each described); counts what nothing promised.
  struct HistoryFindings {
    std::vector<std::string> lost;
    std::vector<std::string> stale;
  };
  HistoryFindings check_history_at_end(SimRegion& serving);

  // Up to two connection resets of the replication stream before the fault: the primary
  // reconnects and resends what the standby has not acknowledged.
  void schedule_resets();

  void reset_stream(const std::string& what);

  // Every 10 ms: never two regions active with a lease each believes valid.
  void schedule_lease_sampler();

  // The operator's `drsim failover` toward `to`, as the admin RPC calls it; false when it
  // refused or did not answer within 10 s.
  bool failover(SimRegion& to);

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

  void wait_step_down(SimRegion& old, const char* after);

  // The nemeses (region_pair_nemeses.cc; docs/simulation.md, the nemesis table).
  void partition_then_failover();
  void freeze_then_failover();
  void double_failover();
  void disk_full_then_free();
  void partition_one_way_then_heal();
  void kill_then_restart();
  void kill_cut_off_then_heal();
  void planned_failover_and_back();
  void slow_link();
  void racing_failovers();
  // racing-failovers' parts: each operator's answer counted and recorded (the newest epoch
  // that succeeded wins), and the end: one region active, the winner, re-protected, same data.
  void racing_planned_answered(const Result<v1::PlannedFailoverResponse>& r);
  void racing_failover_answered(const std::string& to, const std::string& who,
                                const Result<v1::FailoverResponse>& r);
  void settle_race();
  void skew_then_failover();
  void test_failover();
  // test-failover's copy: the secondary's store checkpointed now, opened as an isolated active
  // region (no peer, no witness: RegionOptions::isolated) named `name`, started and serving;
  // nullptr (and a violation) when it does not open or serve.
  std::unique_ptr<SimRegion> open_test_copy(const std::string& name);

  // One fault of the run: `n`'s nemesis, its events and checks (region_pair_schedule.cc).
  void run_episode(Nemesis n);
  // Kinds whose stale clients write to the secondary too (it becomes active during the fault).
  static bool writes_to_both(Nemesis n);
  // Between two faults of a --duration run: heal what is left, wait for one region to serve,
  // re-protect it if it is not protected, and, if it is the secondary, fail back to the
  // primary by a planned failover (re-protect at once), until the primary replicates to a
  // caught-up standby. false (and a violation) when the pair cannot be brought back.
  bool restore_pair();

  // With the clients stopped, the standby holds every write of the active region within 10 s.
  void expect_catch_up(const std::string& after);

  // Both regions hold the same last seq of every workload.
  bool caught_up();

  // The operator's `drsim failover --planned --reprotect` to `to` (the standby), as the admin RPC
  // calls it; false (and a violation) when it failed or did not answer within 20 s.
  bool planned_failover(SimRegion& to);

  // The operator's `drsim reprotect` on `from` (the active region), waited for; false (and a
  // violation) when it failed or did not answer within 30 s of virtual time.
  bool reprotect(SimRegion& from);

  // Both regions alive and holding, for every workload, the same last seq and the same keys
  // and values: two regions never go on with different writes under the same seqs.
  void expect_same_data();

  static uint64_t last_seq_of(SimRegion& r, const std::string& workload);

  // The async writes acknowledged that the region serving at the end does not have: the ones a
  // crash without fsync lost, and the ones the restarted primary wrote under lost seqs, which
  // the re-protect rolled back. Counted, not violations: without fsync nothing promises them.
  void count_rolled_back_acks();

  void kill(const std::string& name);

  void restart(const std::string& name);

  // What the crash must have kept (the stores sync every write): every write the region
  // acknowledged itself, and every sync write its peer acknowledged while protected (this
  // region, its standby, had confirmed it durable).
  void check_restarted_store(SimRegion& r);

  void check_log(SimRegion& r);

  // After the run settles: one region serves, and it has every sync write acknowledged while
  // protected.
  void check_end_state();

  // Every promotion's recovery time: a routed client's write acknowledged by the promoted
  // region within the bound of drsim up's settings (model::judge_recoveries), unless the next
  // fault, operator step, promotion or the clients' stop came first.
  void check_recoveries();

  struct Acked {
    std::string workload, key, value;
    std::string by;  // the region that acknowledged it
    bool protected_ack;
  };

  SeedOptions options_;
  std::vector<SimWorkload> workloads_;
  std::unique_ptr<rocksdb::Env> mem_env_;  // the in-memory files, under disk_
  std::shared_ptr<DiskFullFs> disk_;
  std::shared_ptr<CrashFs> crash_;     // over disk_
  std::unique_ptr<rocksdb::Env> env_;  // on crash_; outlives the stores
  Rng rng_;
  SimScheduler sim_;
  SimNetwork net_;
  trafficmgr::LeaseWitness witness_;
  // The Traffic Manager driver as the daemon runs it (drsim up's defaults: priority routing,
  // probes every 100 ms, 50 ms timeout, 2 tolerated failures, TTL 500 ms), probing through
  // net_ (SimProber); its routing changes are events of the run.
  class RouteEvents;
  std::unique_ptr<RouteEvents> route_events_;
  std::unique_ptr<trafficmgr::TrafficManager> tm_;
  std::unique_ptr<SimRegion> primary_;
  std::unique_ptr<SimRegion> secondary_;
  // Killed incarnations: their freezers drop what the scheduler still holds for them.
  std::vector<std::unique_ptr<SimRegion>> dead_;
  Verdict v_;
  uint64_t bugs_at_start_ = bugs_counted();  // DRSIM_BUG reports before this run
  bool clients_running_ = true;
  // Counts start_clients(): a client of an earlier start stops at its next step.
  uint64_t clients_generation_ = 0;
  bool handed_over_serving_seen_ = false;
  bool two_leases_seen_ = false;
  uint64_t next_key_ = 0;
  std::optional<Time> fault_at_;
  Nemesis current_ = Nemesis::kPartition;  // the fault under way (or the last one)
  std::vector<Acked> acked_;
  // acked_'s first index since the pair was last restored (0: the run's start): what a
  // planned failover of this episode must keep; what an earlier unplanned failover gave up is
  // not promised.
  size_t episode_acks_from_ = 0;
  // Async acks the region serving at the time does not have (count_rolled_back_acks), each
  // counted once across the run's faults.
  std::set<std::string> rolled_back_keys_;
  // test-failover: the keys written to the isolated copies (never to be on either region) and
  // how many copies were made.
  std::vector<std::pair<std::string, std::string>> test_keys_;  // workload, key
  size_t test_copies_ = 0;
  std::vector<std::unique_ptr<SimRegion>*> stale_targets_;
  // The routed clients' operations (model::check_history's input), and per operation whether
  // the region acknowledged it protected (a sync write the standby confirmed).
  std::vector<model::OpRecord> history_;
  std::vector<bool> protected_op_;
  std::vector<size_t> routed_puts_;  // indexes of history_'s puts, for the gets to read
  std::vector<size_t> deletable_;    // acknowledged puts no delete has asked for yet
  // Keys a delete was asked for: the end checks of their puts' acks leave them out.
  std::set<std::string> deleted_keys_;
  // When the routed clients were stopped and started again (wall unix nanos of the run).
  std::optional<int64_t> paused_since_;
  std::vector<std::pair<int64_t, int64_t>> pauses_;
  // Regions killed and when (wall unix nanos of the run).
  std::vector<std::pair<std::string, int64_t>> crashes_;
  // racing-failovers: the newest epoch a successful failover answered and the region it made
  // active.
  std::pair<uint64_t, std::string> won_;
  // The recovery check's input: every promotion, and every step that may keep the promoted
  // region from serving the routed clients within the bound.
  std::vector<model::Promotion> promotions_;
  std::vector<model::Interruption> interruptions_;
};

}  // namespace drsim::sim
