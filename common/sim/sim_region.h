// One simulated region process: its freezer (SIGSTOP / SIGKILL), its scheduler (the
// simulation's, through the freezer and a drift), its clock, its store (RocksDB on the
// simulation's in-memory file system) and the region daemon's driver, RegionNode, wired as
// run_region_daemon wires them. RegionPairSim (region_pair_sim.cc) keeps two; the kill nemesis
// kills one (`kill`: nothing of it runs again, no orderly shutdown) and starts a new one on the
// same files with the same options, as a supervisor restarts the daemon.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/core/check.h"
#include "common/core/drifting_scheduler.h"
#include "common/net/health_service.h"
#include "common/region/region_node.h"
#include "common/sim/freezer.h"
#include "common/sim/sim_network.h"
#include "common/storage/region_store.h"

namespace drsim::sim {

struct SimRegion {
  // Attaches the node to `net` under its name, with the freezer as its gate; start() is the
  // caller's (RegionNode::start, as the daemon calls it once its server listens).
  SimRegion(SimScheduler& sim, std::unique_ptr<storage::RegionStore> opened,
            region::RegionOptions options, SimNetwork& net)
      : frozen_scheduler(sim, freezer),
        scheduler(frozen_scheduler),
        clock(scheduler),
        store(std::move(opened)) {
    name = options.name;
    node = std::make_unique<region::RegionNode>(std::move(options), net.links_for(name),
                                                net::Transport::insecure(), io, scheduler, clock,
                                                *store, health);
    net.attach_region(name, *node);
    net.set_gate(name, [this](Task task) { freezer.run(std::move(task)); });
    // The Traffic Manager's probe: what the daemon's HealthService answers (Check of the
    // workload service, with the epoch and role the driver set on it).
    net.attach_health(name, [this] {
      SimNetwork::HealthAnswer a;
      a.serving = serving();
      if (auto r = health.region()) {
        a.epoch = r->epoch;
        a.active = r->role == "active";
      }
      return a;
    });
  }
  ~SimRegion() {
    if (node) node->stop();
  }

  // SIGKILL: the driver and the store go without a word (RegionNode::stop is not called, no
  // pending answer is given); the timers and deliveries still queued for it are dropped by its
  // freezer. The network must have been told first (SimNetwork::crash).
  void kill() {
    freezer.kill();
    node.reset();
    store.reset();
  }
  bool alive() const { return node != nullptr; }

  std::optional<std::string> value_of(const std::string& workload, const std::string& key) {
    if (!store) return std::nullopt;
    auto v = store->get(workload, key);
    DRSIM_CHECK(v.is_ok());
    return *v;
  }
  // Every key and value of `workload` (the region must be alive).
  std::map<std::string, std::string> contents(const std::string& workload);
  bool serving() {
    return alive() &&
           health.status("drsim.v1.Workload") == grpc::health::v1::HealthCheckResponse::SERVING;
  }
  // A dead region reports nothing (role unspecified, epoch 0).
  v1::GetStatusResponse status() {
    v1::GetStatusResponse s;
    if (node) node->status(false, &s);
    return s;
  }
  bool active() { return alive() && !node->is_standby(); }
  // "" when `workload`'s log holds seqs 1..cursor without a gap, nothing beyond the cursor (a
  // change "from the future") and each key's newest logged change is what the data shows (a
  // put's value, a delete's absence: none half-applied);
  // else what is wrong. The region must be alive.
  std::string log_problem(const std::string& workload);

  std::string name;
  Freezer freezer;
  FreezableScheduler frozen_scheduler;
  DriftingScheduler scheduler;
  boost::asio::io_context io;  // never run: only the gRPC services would post to it
  SkewedClock clock;
  std::unique_ptr<storage::RegionStore> store;
  net::HealthService health;
  std::unique_ptr<region::RegionNode> node;
  bool restarted = false;  // a later incarnation (the kill nemesis restarted it)
};

}  // namespace drsim::sim
