#include "common/model/trafficmgr/failover_meter.h"

namespace drsim::model {

void TmFailoverMeter::on_probe_result(size_t endpoint, ProbeOutcome outcome,
                                      Time probe_started) {
  std::optional<Time>& start = streak_start_.at(endpoint);
  if (outcome == ProbeOutcome::kSuccess) {
    start.reset();
  } else if (!start) {
    start = probe_started;
  }
}

std::optional<TmFailoverMeasurement> TmFailoverMeter::on_route_change(std::span<const size_t> left,
                                                                      Time now) {
  std::optional<TmFailoverMeasurement> measured;
  for (size_t e : left) {
    const std::optional<Time>& start = streak_start_.at(e);
    if (!start) continue;
    if (!measured || *start < measured->first_failure) {
      measured = TmFailoverMeasurement{e, *start, now};
    }
  }
  if (measured) last_ = measured;
  return measured;
}

}  // namespace drsim::model
