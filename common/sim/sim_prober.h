// The Traffic Manager's prober in the simulator: a grpc.health.v1 Check of each region through
// SimNetwork (its delays, partitions, frozen and crashed members), answered by the region's own
// HealthService with the epoch and role the daemon attaches. What GrpcHealthProber does over
// gRPC, on virtual time. Part of drsim_sim; the daemons never link it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/core/scheduler.h"
#include "common/sim/sim_network.h"
#include "trafficmgr/prober.h"

namespace drsim::sim {

class SimProber final : public trafficmgr::Prober {
 public:
  // Probes go from member `from` (the Traffic Manager) to the member named for each endpoint
  // (config.names), with config.monitor.timeout as the deadline.
  SimProber(SimNetwork& net, const Clock& clock, std::string from,
            const trafficmgr::ProberConfig& config, ResultHandler on_result);
  ~SimProber() override { cancel_all(); }

  void probe(size_t endpoint) override;
  void cancel_all() override;

 private:
  SimNetwork& net_;
  const Clock& clock_;
  std::string from_;
  std::vector<std::string> names_;
  Duration timeout_;
  ResultHandler on_result_;
  uint64_t next_call_ = 0;
  std::map<uint64_t, region::CancelCall> in_flight_;
};

}  // namespace drsim::sim
