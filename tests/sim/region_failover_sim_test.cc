// Two real RegionNodes (the daemon's driver) replicating on virtual time, through the
// simulator `drsim sim` runs (common/sim/region_pair_sim.h): per seed a stale client writes to
// the primary, the replication link and the primary's witness link are partitioned, the
// secondary is failed over with the admin RPC's call (failover_after_lease), the partition
// heals, and the history checker judges every acknowledgement. Fails with the seed when a run
// breaks a guarantee. The other nemesis kinds run through the CLI (tests/sim/CMakeLists.txt).
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "common/sim/region_pair_sim.h"

namespace drsim::sim {
namespace {

std::string describe(const Verdict& v, bool bypassed) {
  std::ostringstream out;
  out << "seed " << v.seed << " (" << nemesis_name(v.nemesis) << "): " << v.violations.size()
      << " violation(s)";
  for (size_t i = 0; i < v.violations.size() && i < 5; ++i) out << "\n  " << v.violations[i];
  out << "\n  replay: build/bin/"
      << (bypassed ? "drsim-testhooks sim --broken-variant lease" : "drsim sim") << " --seed "
      << v.seed << " --nemesis " << nemesis_name(v.nemesis);
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
  SeedOptions options;
  options.lease_check =
      std::getenv("DRSIM_SIM_UNSAFE_NO_LEASE") ? LeaseCheck::kBypassed : LeaseCheck::kEnforced;
  size_t failed = 0, acked = 0, acked_sync = 0, refused = 0, resets = 0;
  Duration max_lease_wait{}, simulated{};
  const auto run = seeds(200);
  for (uint64_t seed : run) {
    Verdict v = run_seed(seed, options);
    acked += v.acked;
    acked_sync += v.acked_sync;
    refused += v.refused_after_fault;
    resets += v.resets;
    max_lease_wait = std::max(max_lease_wait, v.lease_wait);
    simulated += v.simulated;
    if (!v.violations.empty()) {
      ++failed;
      ADD_FAILURE() << describe(v, options.lease_check == LeaseCheck::kBypassed);
    }
  }
  std::printf(
      "[sim] %zu seed(s), %zu failed, %.0f s of virtual time; %zu acknowledged writes checked "
      "(%zu sync), %zu refused after the partition; %zu stream resets; longest lease wait %.0f "
      "ms\n",
      run.size(), failed, to_ms(simulated) / 1000, acked, acked_sync, refused, resets,
      to_ms(max_lease_wait));
  // Not vacuous: the client was acknowledged and refused many times.
  EXPECT_GT(acked_sync, run.size() * 10);
  EXPECT_GT(refused, run.size());
}

TEST_F(RegionFailoverSim, TheSameSeedReplaysTheSameHistory) {
  for (uint64_t seed : {3u, 11u}) {
    Verdict first = run_seed(seed, {});
    Verdict again = run_seed(seed, {});
    EXPECT_GT(first.events.size(), 10u);
    EXPECT_EQ(first.events, again.events) << "seed " << seed << " did not replay";
    EXPECT_EQ(first.lease_wait, again.lease_wait) << "seed " << seed;
  }
}

TEST_F(RegionFailoverSim, CheckerCatchesAcksByTheOldPrimaryWhenTheLeaseCheckIsBypassed) {
  // The same runs with the lease check bypassed: the partitioned old primary keeps acknowledging
  // async writes after the secondary was promoted, and the checker must say so in every seed.
  SeedOptions options;
  options.lease_check = LeaseCheck::kBypassed;
  size_t caught = 0;
  const auto run = seeds(20);
  for (uint64_t seed : run) {
    Verdict v = run_seed(seed, options);
    bool seen = false;
    for (const auto& what : v.violations)
      seen = seen || what.find(kAckBySupersededRegion) != std::string::npos;
    if (seen) {
      ++caught;
    } else {
      ADD_FAILURE() << "seed " << seed << ": the broken variant went unnoticed\n"
                    << describe(v, true);
    }
  }
  std::printf("[sim] lease check bypassed: caught in %zu of %zu seed(s)\n", caught, run.size());
}

TEST_F(RegionFailoverSim, AStandbyOnAFullDiskRefusesBatchesThenCatchesUpLosingNoSyncAck) {
  // Regression: a standby whose disk filled aborted the process (fail-stop) on the first batch
  // it could not make durable. Now it refuses the batch (RESOURCE_EXHAUSTED) and catches up.
  SeedOptions options;
  options.nemesis = Nemesis::kDiskFull;
  size_t refusals = 0, acked_sync = 0;
  const auto run = seeds(30);
  for (uint64_t seed : run) {
    Verdict v = run_seed(seed, options);
    refusals += v.standby_refusals;
    acked_sync += v.acked_sync;
    if (!v.violations.empty()) ADD_FAILURE() << describe(v, false);
  }
  std::printf("[sim] disk-full: %zu seed(s), %zu batches refused by the standby, %zu sync acks\n",
              run.size(), refusals, acked_sync);
  // Not vacuous: the standby refused in every seed, and sync writes were acknowledged.
  EXPECT_GE(refusals, run.size());
  EXPECT_GT(acked_sync, run.size() * 10);
}

}  // namespace
}  // namespace drsim::sim
