#include "common/model/trafficmgr/health_tracker.h"

#include "common/core/check.h"

namespace drsim::model {

TmHealthTracker::TmHealthTracker(uint32_t tolerated_failures, uint32_t success_threshold,
                                 size_t endpoint_count)
    : tolerated_failures_(tolerated_failures),
      success_threshold_(success_threshold),
      endpoints_(endpoint_count) {
  DRSIM_CHECK(tolerated_failures_ <= kMaxToleratedFailures);
  DRSIM_CHECK(success_threshold_ >= 1 && success_threshold_ <= kTmMaxSuccessThreshold);
}

std::optional<EndpointStatusChanged> TmHealthTracker::on_probe_result(size_t endpoint,
                                                                      ProbeOutcome outcome,
                                                                      Time now) {
  DRSIM_CHECK(endpoint < endpoints_.size());
  EndpointState& e = endpoints_[endpoint];
  const EndpointStatus from = e.status;
  if (outcome == ProbeOutcome::kSuccess) {
    e.failures = 0;
    if (e.successes < UINT32_MAX) ++e.successes;
    // The threshold only guards the way back from Degraded: a new endpoint has nothing to
    // flap from, and Azure serves it while checking anyway.
    if (e.status == EndpointStatus::kCheckingEndpoint || e.successes >= success_threshold_) {
      e.status = EndpointStatus::kOnline;
    }
  } else {
    e.successes = 0;
    if (e.failures < UINT32_MAX) ++e.failures;
    if (e.failures > tolerated_failures_) e.status = EndpointStatus::kDegraded;
  }
  if (e.status == from) return std::nullopt;
  return EndpointStatusChanged{endpoint, from, e.status, now, e.failures};
}

const TmHealthTracker::EndpointState& TmHealthTracker::at(size_t endpoint) const {
  DRSIM_CHECK(endpoint < endpoints_.size());
  return endpoints_[endpoint];
}

EndpointStatus TmHealthTracker::status(size_t endpoint) const { return at(endpoint).status; }
uint32_t TmHealthTracker::consecutive_failures(size_t endpoint) const {
  return at(endpoint).failures;
}
uint32_t TmHealthTracker::consecutive_successes(size_t endpoint) const {
  return at(endpoint).successes;
}

}  // namespace drsim::model
