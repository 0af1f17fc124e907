#include "common/sim/sim_prober.h"

#include <utility>

namespace drsim::sim {

SimProber::SimProber(SimNetwork& net, const Clock& clock, std::string from,
                     const trafficmgr::ProberConfig& config, ResultHandler on_result)
    : net_(net),
      clock_(clock),
      from_(std::move(from)),
      names_(config.names),
      timeout_(config.monitor.timeout),
      on_result_(std::move(on_result)) {}

void SimProber::probe(size_t endpoint) {
  const uint64_t id = next_call_++;
  const Time started = clock_.now();
  in_flight_[id] = net_.check_health(
      from_, names_.at(endpoint), timeout_,
      [this, id, endpoint, started](const Status& s, const SimNetwork::HealthAnswer& a) {
        in_flight_.erase(id);
        trafficmgr::ProbeResult r{endpoint, model::ProbeOutcome::kFailure, "",
                                  clock_.now() - started, "", std::nullopt};
        if (!s.is_ok()) {
          r.error = s.to_string();
        } else {
          r.claim = model::RegionClaim{Epoch(a.epoch),
                                       a.active ? model::Role::kActive : model::Role::kStandby};
          if (a.serving) {
            r.outcome = model::ProbeOutcome::kSuccess;
            r.detail = "SERVING";
          } else {
            r.error = "health status NOT_SERVING";
          }
        }
        on_result_(r);
      });
}

void SimProber::cancel_all() {
  auto calls = std::move(in_flight_);
  in_flight_.clear();
  for (auto& [id, cancel] : calls) cancel();
}

}  // namespace drsim::sim
