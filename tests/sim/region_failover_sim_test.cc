// Two real RegionNodes (the daemon's driver) replicating on virtual time: a primary and a
// secondary in one process on one SimScheduler, their stores on RocksDB's in-memory Env, their
// links in-memory (tests/sim/sim_network.h) and the Traffic Manager's real LeaseWitness as the
// witness. Per seed: a stale client writes to the primary (sync and async workloads), the
// replication link and the primary's witness link are partitioned, the secondary is failed over
// with the admin RPC's call (failover_after_lease), the partition heals. A small history
// checker judges every acknowledgement. Fails with the seed when a run breaks a guarantee.
#include <gtest/gtest.h>

#include <rocksdb/env.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/core/rng.h"
#include "common/core/scheduler.h"
#include "common/net/health_service.h"
#include "common/region/region_node.h"
#include "common/storage/region_store.h"
#include "tests/sim/sim_network.h"
#include "trafficmgr/lease_witness.h"

namespace drsim::sim {
namespace {

using namespace std::chrono_literals;
using region::RegionNode;
using region::RegionOptions;
using region::ReplicationMode;

constexpr const char* kPrimary = "primary";
constexpr const char* kSecondary = "secondary";
constexpr const char* kWitness = "trafficmgr";
constexpr const char* kSyncWorkload = "vm-sync";
constexpr const char* kAsyncWorkload = "vm-async";
constexpr const char* kAckAfterPromotion = "while the secondary was already promoted";

// The broken variant: the old primary acknowledges without a valid lease (RegionOptions::
// unsafe_no_lease, the daemon's --unsafe-no-lease test hook).
enum class LeaseCheck { kEnforced, kBypassed };

// One client write and what became of it.
struct WriteRecord {
  std::string workload;
  std::string key;
  std::string value;
  Time issued;
  bool acked = false;
  Time acked_at;
  uint64_t epoch = 0;  // of the acknowledging region
};

// What the checker found in one run.
struct Verdict {
  std::vector<std::string> violations;
  size_t acked = 0;
  size_t acked_sync = 0;
  size_t refused_after_partition = 0;
  size_t resets = 0;  // replication stream resets before the partition
  Duration lease_wait{};
  Duration failover_after_partition{};
  Duration simulated{};  // virtual time the run covered
  // Every write's outcome and instant, in order: equal for equal seeds (determinism).
  std::string history;
};

struct Region {
  Region(SimScheduler& scheduler, rocksdb::Env* env, RegionOptions options, SimNetwork& net)
      : clock(scheduler) {
    auto opened = storage::RegionStore::open(
        "/sim/" + options.name, storage::Durability::kProcessCrash, options.log_retention, env);
    DRSIM_CHECK(opened.is_ok());
    store = std::move(opened).value();
    const std::string name = options.name;
    node = std::make_unique<RegionNode>(std::move(options), net.links_for(name),
                                        net::Transport::insecure(), io, scheduler, clock, *store,
                                        health);
    net.attach_region(name, *node);
  }
  ~Region() { node->stop(); }

  std::optional<std::string> value_of(const std::string& workload, const std::string& key) {
    auto v = store->get(workload, key);
    DRSIM_CHECK(v.is_ok());
    return *v;
  }
  bool serving() {
    return health.status("drsim.v1.Workload") == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  boost::asio::io_context io;  // never run: only the gRPC services would post to it
  SkewedClock clock;
  std::unique_ptr<storage::RegionStore> store;
  net::HealthService health;
  std::unique_ptr<RegionNode> node;
};

RegionOptions region_options(const std::string& name, const std::string& peer, model::Role role,
                             LeaseCheck lease_check) {
  RegionOptions o;
  o.name = name;
  o.peer_name = peer;
  o.peer_address = peer;
  o.data_dir = "/sim/" + name;
  o.initial_role = role;
  o.workloads = {{kSyncWorkload, ReplicationMode::kSync},
                 {kAsyncWorkload, ReplicationMode::kAsync}};
  o.witness_address = kWitness;
  o.unsafe_no_lease = lease_check == LeaseCheck::kBypassed;
  return o;
}

Duration ms(uint64_t n) { return std::chrono::milliseconds(n); }

// One seeded run: partition, failover, heal; returns the checker's verdict.
Verdict run_seed(uint64_t seed, LeaseCheck lease_check) {
  // Both stores in memory, fresh per run (outlives them: declared first).
  std::unique_ptr<rocksdb::Env> mem_env(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  rocksdb::Env* env = mem_env.get();
  Rng rng(seed);
  SimScheduler scheduler;
  SimNetwork net(scheduler, ms(1 + rng.below(10)));
  for (const char* a : {kPrimary, kSecondary, kWitness}) {
    for (const char* b : {kPrimary, kSecondary, kWitness}) {
      if (std::string(a) != b) net.set_delay(a, b, ms(1 + rng.below(20)));
    }
  }
  trafficmgr::LeaseWitness witness(scheduler);
  net.attach_witness(kWitness, witness);
  Region primary(scheduler, env,
                 region_options(kPrimary, kSecondary, model::Role::kActive, lease_check), net);
  Region secondary(scheduler, env,
                   region_options(kSecondary, kPrimary, model::Role::kStandby, lease_check), net);
  Verdict v;
  auto fail = [&v](std::string what) { v.violations.push_back(std::move(what)); };

  DRSIM_CHECK(secondary.node->start(kSecondary).is_ok());
  DRSIM_CHECK(primary.node->start(kPrimary).is_ok());
  if (!scheduler.run_until([&] { return primary.serving(); }, scheduler.now() + 10s)) {
    fail("the primary never served writes (no lease from the secondary or the witness)");
    return v;
  }

  // A stale client: keeps the primary's address for the whole run and writes every few ms.
  std::vector<std::shared_ptr<WriteRecord>> history;
  bool client_running = true;
  std::optional<Time> partitioned_at;
  std::function<void()> client = [&] {
    if (!client_running) return;
    auto w = std::make_shared<WriteRecord>();
    const size_t n = history.size();
    w->workload = rng.below(2) == 0 ? kSyncWorkload : kAsyncWorkload;
    w->key = "k" + std::to_string(n);
    w->value = "v" + std::to_string(n) + "-" + std::to_string(seed);
    w->issued = scheduler.now();
    history.push_back(w);
    v1::WriteOp op;
    op.mutable_put()->set_workload(w->workload);
    op.mutable_put()->set_key(w->key);
    op.mutable_put()->set_value(w->value);
    primary.node->write({op}, [&, w](region::WriteOutcome outcome) {
      if (!outcome.status.is_ok()) {
        if (partitioned_at) ++v.refused_after_partition;
        return;
      }
      w->acked = true;
      w->acked_at = scheduler.now();
      w->epoch = outcome.results.empty() ? 0 : outcome.results.front().epoch();
      // Checked at the instant of the ack: one active region at a time.
      if (!secondary.node->is_standby()) {
        fail("write " + w->key + " (" + w->workload +
             ") acknowledged by the old primary at epoch " + std::to_string(w->epoch) + " " +
             kAckAfterPromotion);
      }
      // Sync: acknowledged only once the standby has it durably.
      if (w->workload == kSyncWorkload && secondary.value_of(w->workload, w->key) != w->value) {
        fail("sync write " + w->key + " acknowledged but not on the secondary");
      }
    });
    scheduler.schedule_after(ms(2 + rng.below(8)), client);
  };
  client();

  // Up to two connection resets of the replication stream while it replicates: the primary
  // reconnects and resends what the standby has not acknowledged.
  for (uint64_t i = 0, resets = rng.below(3); i < resets; ++i) {
    scheduler.schedule_after(ms(50 + rng.below(1200)), [&] {
      if (partitioned_at) return;
      net.reset(kPrimary, kSecondary);
      ++v.resets;
    });
  }

  // Replicate a while, then cut the primary off from the secondary and the witness (clients
  // still reach it).
  scheduler.run_for(ms(300 + rng.below(1200)));
  partitioned_at = scheduler.now();
  net.partition(kPrimary, kSecondary);
  net.partition(kPrimary, kWitness);

  // The operator fails over some time later, as `drsim failover` does through the admin RPC.
  scheduler.run_for(ms(rng.below(1500)));
  std::optional<Result<v1::FailoverResponse>> failover;
  secondary.node->failover_after_lease(
      "simulated regional outage", RegionNode::WitnessOverride::kRequireWitness,
      [&](Result<v1::FailoverResponse> r) { failover = std::move(r); });
  if (!scheduler.run_until([&] { return failover.has_value(); }, scheduler.now() + 10s)) {
    fail("the failover did not answer within 10 s of virtual time");
    return v;
  }
  if (!failover->is_ok()) {
    fail("failover refused: " + failover->status().to_string());
    return v;
  }
  v.lease_wait = ms((*failover)->lease_wait_ms());
  v.failover_after_partition = scheduler.now() - *partitioned_at;

  // The partition heals; the old primary must learn it was superseded and step down.
  scheduler.run_for(ms(rng.below(1000)));
  net.heal(kPrimary, kSecondary);
  net.heal(kPrimary, kWitness);
  if (!scheduler.run_until([&] { return primary.node->is_standby(); }, scheduler.now() + 5s)) {
    fail("the old primary did not step down within 5 s of the heal");
  }
  client_running = false;
  scheduler.run_for(1s);

  // No acknowledged sync write lost: every one is on the new primary.
  for (const auto& w : history) {
    v.history += w->key +
                 (w->acked ? "@" + std::to_string(w->acked_at.time_since_epoch().count())
                           : std::string("x")) +
                 ";";
    if (!w->acked) continue;
    ++v.acked;
    if (w->workload != kSyncWorkload) continue;
    ++v.acked_sync;
    if (secondary.value_of(w->workload, w->key) != w->value) {
      fail("acknowledged sync write " + w->key + " is lost on the new primary");
    }
  }
  if (!secondary.serving()) fail("the new primary does not serve writes");
  v.simulated = scheduler.now() - kTimeZero;
  return v;
}

std::string describe(uint64_t seed, const Verdict& v) {
  std::ostringstream out;
  out << "seed " << seed << ": " << v.violations.size() << " violation(s)";
  for (size_t i = 0; i < v.violations.size() && i < 5; ++i) out << "\n  " << v.violations[i];
  out << "\n  replay: DRSIM_SIM_SEED=" << seed
      << " build/bin/drsim_sim_tests --gtest_filter='RegionFailoverSim.*'";
  return out.str();
}

// Seeds: DRSIM_SIM_SEED=S runs that one seed (a replay), else 1..count.
std::vector<uint64_t> seeds(uint64_t count) {
  if (const char* one = std::getenv("DRSIM_SIM_SEED")) return {std::strtoull(one, nullptr, 10)};
  std::vector<uint64_t> out;
  for (uint64_t s = 1; s <= count; ++s) out.push_back(s);
  return out;
}

class RegionFailoverSim : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }
};

TEST_F(RegionFailoverSim, PartitionThenFailoverNeverTwoActivesAndLosesNoSyncAck) {
  // DRSIM_SIM_UNSAFE_NO_LEASE=1 runs the broken variant through this same test (to see it fail).
  const LeaseCheck check =
      std::getenv("DRSIM_SIM_UNSAFE_NO_LEASE") ? LeaseCheck::kBypassed : LeaseCheck::kEnforced;
  size_t failed = 0, acked = 0, acked_sync = 0, refused = 0, resets = 0;
  Duration max_lease_wait{}, max_failover{}, simulated{};
  const auto run = seeds(200);
  for (uint64_t seed : run) {
    Verdict v = run_seed(seed, check);
    acked += v.acked;
    acked_sync += v.acked_sync;
    refused += v.refused_after_partition;
    resets += v.resets;
    max_lease_wait = std::max(max_lease_wait, v.lease_wait);
    max_failover = std::max(max_failover, v.failover_after_partition);
    simulated += v.simulated;
    if (!v.violations.empty()) {
      ++failed;
      ADD_FAILURE() << describe(seed, v);
    }
  }
  std::printf(
      "[sim] %zu seed(s), %zu failed, %.0f s of virtual time; %zu acknowledged writes checked "
      "(%zu sync), %zu refused after the partition; %zu stream resets; longest lease wait %.0f "
      "ms, longest partition-to-failover %.0f ms\n",
      run.size(), failed, to_ms(simulated) / 1000, acked, acked_sync, refused, resets,
      to_ms(max_lease_wait), to_ms(max_failover));
  // Not vacuous: the client was acknowledged and refused many times.
  EXPECT_GT(acked_sync, run.size() * 10);
  EXPECT_GT(refused, run.size());
}

TEST_F(RegionFailoverSim, TheSameSeedReplaysTheSameHistory) {
  for (uint64_t seed : {3u, 11u}) {
    Verdict first = run_seed(seed, LeaseCheck::kEnforced);
    Verdict again = run_seed(seed, LeaseCheck::kEnforced);
    EXPECT_FALSE(first.history.empty());
    EXPECT_EQ(first.history, again.history) << "seed " << seed << " did not replay";
    EXPECT_EQ(first.lease_wait, again.lease_wait) << "seed " << seed;
  }
}

TEST_F(RegionFailoverSim, CheckerCatchesAcksByTheOldPrimaryWhenTheLeaseCheckIsBypassed) {
  // The same runs with the lease check bypassed: the partitioned old primary keeps acknowledging
  // async writes after the secondary was promoted, and the checker must say so in every seed.
  size_t caught = 0;
  const auto run = seeds(20);
  for (uint64_t seed : run) {
    Verdict v = run_seed(seed, LeaseCheck::kBypassed);
    bool seen = false;
    for (const auto& what : v.violations)
      seen = seen || what.find(kAckAfterPromotion) != std::string::npos;
    if (seen) {
      ++caught;
    } else {
      ADD_FAILURE() << "seed " << seed << ": the broken variant went unnoticed\n"
                    << describe(seed, v);
    }
  }
  std::printf("[sim] lease check bypassed: caught in %zu of %zu seed(s)\n", caught, run.size());
}

}  // namespace
}  // namespace drsim::sim
