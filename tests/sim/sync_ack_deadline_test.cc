// A sync write's deadline in the real region driver (RegionNode over model::SyncAckTracker) on
// virtual time: a write the standby never acknowledges is answered "outcome unknown" at its
// deadline — started + --sync-ack-timeout-ms — to the virtual millisecond; a write it does
// acknowledge is answered ok and never again; a later ack of a timed-out write changes nothing.
// (Before the tracker, a 100 ms ticker answered timed-out writes up to 100 ms late.)
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

#include "common/core/check.h"
#include "common/sim/pair_run.h"
#include "common/sim/sim_network.h"
#include "common/sim/sim_region.h"
#include "common/storage/region_store.h"
#include "trafficmgr/lease_witness.h"

namespace drsim::sim {
namespace {

using namespace std::chrono_literals;

constexpr auto kTimeout = 700ms;

struct Answer {
  std::optional<region::WriteOutcome> outcome;
  Time at{};
  int times = 0;
};

class SyncAckDeadline : public ::testing::Test {
 protected:
  SyncAckDeadline() : mem_(rocksdb::NewMemEnv(rocksdb::Env::Default())), net_(sim_, 1ms), witness_(sim_) {
    spdlog::set_level(spdlog::level::off);
    net_.attach_witness(kWitness, witness_);
    primary_ = region(kPrimary, kSecondary, model::Role::kActive);
    secondary_ = region(kSecondary, kPrimary, model::Role::kStandby);
  }
  ~SyncAckDeadline() override { spdlog::set_level(spdlog::level::info); }

  std::unique_ptr<SimRegion> region(const std::string& name, const std::string& peer,
                                    model::Role role) {
    region::RegionOptions o;
    o.name = name;
    o.peer_name = peer;
    o.peer_address = peer;
    o.data_dir = "/sim/" + name;
    o.initial_role = role;
    o.workloads = {{"vm-sync", region::ReplicationMode::kSync}};
    o.witness_address = kWitness;
    o.sync_ack_timeout = kTimeout;
    auto store = storage::RegionStore::open(o.data_dir, storage::Durability::kPowerLoss,
                                            o.log_retention, mem_.get());
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return std::make_unique<SimRegion>(sim_, std::move(store).value(), std::move(o), net_);
  }

  // A put of `key` to the primary, answered into the returned Answer.
  std::shared_ptr<Answer> put(const std::string& key) {
    auto answer = std::make_shared<Answer>();
    v1::WriteOp op;
    op.mutable_put()->set_workload("vm-sync");
    op.mutable_put()->set_key(key);
    op.mutable_put()->set_value("v");
    primary_->node->write({op}, [this, answer](region::WriteOutcome o) {
      answer->outcome = std::move(o);
      answer->at = sim_.now();
      ++answer->times;
    });
    return answer;
  }

  std::unique_ptr<rocksdb::Env> mem_;
  SimScheduler sim_;
  SimNetwork net_;
  trafficmgr::LeaseWitness witness_;
  std::unique_ptr<SimRegion> primary_;
  std::unique_ptr<SimRegion> secondary_;
};

TEST_F(SyncAckDeadline, AWriteTheStandbyNeverAcksIsAnsweredUnknownAtItsDeadlineToTheMillisecond) {
  ASSERT_TRUE(secondary_->node->start(kSecondary).is_ok());
  ASSERT_TRUE(primary_->node->start(kPrimary).is_ok());
  ASSERT_TRUE(sim_.run_until([&] { return primary_->serving(); }, sim_.now() + 10s));
  // Protected and replicating: a sync write is acknowledged once the standby has it.
  auto first = put("k1");
  ASSERT_TRUE(sim_.run_until([&] { return first->times > 0; }, sim_.now() + 5s));
  ASSERT_TRUE(first->outcome->status.is_ok()) << first->outcome->status.to_string();

  // The acks' way is cut: the standby gets the frames, the primary never hears it has them.
  net_.cut_one_way(kSecondary, kPrimary);
  sim_.run_for(37ms);  // off any 100 ms grid a ticker would have
  const Time started = sim_.now();
  auto lost = put("k2");
  sim_.run_for(13ms);
  auto later = put("k3");
  ASSERT_TRUE(sim_.run_until([&] { return lost->times > 0; }, started + 5s));
  EXPECT_EQ(lost->at - started, kTimeout) << "answered at " << to_ms(lost->at - started) << " ms";
  EXPECT_EQ(lost->outcome->status.code(), StatusCode::kAborted);
  EXPECT_NE(lost->outcome->status.message().find("outcome unknown"), std::string::npos)
      << lost->outcome->status.message();
  EXPECT_EQ(lost->outcome->applied, region::Applied::kUnknown);
  EXPECT_EQ(later->times, 0) << "the younger write's deadline has not come";
  ASSERT_TRUE(sim_.run_until([&] { return later->times > 0; }, started + 5s));
  EXPECT_EQ(later->at - started, 13ms + kTimeout);

  // Healed, the standby's acks come back (it had both): nobody is answered twice.
  net_.heal_one_way(kSecondary, kPrimary);
  auto healed = put("k4");
  ASSERT_TRUE(sim_.run_until([&] { return healed->times > 0; }, sim_.now() + 10s));
  sim_.run_for(2s);
  EXPECT_EQ(lost->times, 1);
  EXPECT_EQ(later->times, 1);
  EXPECT_EQ(first->times, 1);
  EXPECT_TRUE(healed->outcome->status.is_ok()) << healed->outcome->status.to_string();
  primary_->node->stop();
  secondary_->node->stop();
}

// The same two regions, for what GetStatus reports of the process: the DRSIM_BUG count a drill
// fails on (model::bug_problems) — the simulator fails a seed on it too (PairRun::finish).
using RegionStatusSim = SyncAckDeadline;

TEST_F(RegionStatusSim, GetStatusReportsTheProcesssDrsimBugCount) {
  ASSERT_TRUE(secondary_->node->start(kSecondary).is_ok());
  ASSERT_TRUE(primary_->node->start(kPrimary).is_ok());
  const uint64_t before = primary_->status().bugs_counted();
  EXPECT_EQ(before, bugs_counted());
  DRSIM_BUG("a test counts one");
  EXPECT_EQ(primary_->status().bugs_counted(), before + 1);
  EXPECT_EQ(secondary_->status().bugs_counted(), before + 1) << "one process, one count";
  primary_->node->stop();
  secondary_->node->stop();
}

}  // namespace
}  // namespace drsim::sim
