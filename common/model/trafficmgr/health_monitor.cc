#include "common/model/trafficmgr/health_monitor.h"

#include <string>

#include "common/core/check.h"

namespace drsim::model {

namespace {

// "100ms", or "0.5ms" for sub-millisecond values, so messages read like the flags.
std::string format_ms(Duration d) {
  if (d % std::chrono::milliseconds(1) == Duration::zero()) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
  }
  std::string s = std::to_string(to_ms(d));
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s + "ms";
}

}  // namespace

Status MonitorConfig::validate() const {
  if (probe_interval <= Duration::zero()) {
    return invalid_argument("probe_interval: " + format_ms(probe_interval) + " must be positive");
  }
  if (probe_timeout <= Duration::zero()) {
    return invalid_argument("probe_timeout: " + format_ms(probe_timeout) + " must be positive");
  }
  if (probe_timeout > probe_interval) {
    return invalid_argument("probe_timeout: " + format_ms(probe_timeout) +
                            " must not exceed probe_interval " + format_ms(probe_interval));
  }
  if (tolerated_failures > kMaxToleratedFailures) {
    return invalid_argument("tolerated_failures: " + std::to_string(tolerated_failures) +
                            " is out of range 0.." + std::to_string(kMaxToleratedFailures));
  }
  return Status::ok();
}

const char* endpoint_status_name(EndpointStatus status) {
  switch (status) {
    case EndpointStatus::kCheckingEndpoint: return "CheckingEndpoint";
    case EndpointStatus::kOnline: return "Online";
    case EndpointStatus::kDegraded: return "Degraded";
  }
  return "Unknown";
}

HealthMonitor::HealthMonitor(MonitorConfig config, size_t endpoint_count, Time start)
    : config_(config), endpoints_(endpoint_count) {
  DRSIM_CHECK(config_.validate().is_ok());
  for (auto& e : endpoints_) e.next_due = start;
}

std::vector<size_t> HealthMonitor::due_probes(Time now) {
  std::vector<size_t> due;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    EndpointState& e = endpoints_[i];
    bool early = e.early && *e.early <= now;
    if (e.in_flight || (e.next_due > now && !early)) continue;
    due.push_back(i);
    e.in_flight = true;
    e.early.reset();  // a grid probe due now serves an early request too
    if (e.next_due > now) continue;  // an early probe: the grid stays
    // Next slot on the grid, not now + interval: a late timer must not shift every later probe.
    e.next_due += config_.probe_interval;
    if (e.next_due <= now) {
      auto missed = (now - e.next_due) / config_.probe_interval + 1;
      e.next_due += missed * config_.probe_interval;
    }
  }
  return due;
}

std::optional<EndpointStatusChanged> HealthMonitor::on_probe_result(size_t endpoint,
                                                                    ProbeOutcome outcome,
                                                                    Time now) {
  DRSIM_CHECK(endpoint < endpoints_.size());
  EndpointState& e = endpoints_[endpoint];
  e.in_flight = false;
  EndpointStatus from = e.status;
  if (outcome == ProbeOutcome::kSuccess) {
    e.consecutive_failures = 0;
    e.status = EndpointStatus::kOnline;  // one success is enough to come back
  } else {
    if (e.consecutive_failures < UINT32_MAX) ++e.consecutive_failures;
    // Failure number tolerated+1 degrades; before that a CheckingEndpoint stays checking
    // (still served) and an Online endpoint stays online.
    if (e.consecutive_failures > config_.tolerated_failures) e.status = EndpointStatus::kDegraded;
  }
  if (e.status == from) return std::nullopt;
  return EndpointStatusChanged{endpoint, from, e.status, now, e.consecutive_failures};
}

void HealthMonitor::request_probe_now(Time now) {
  for (auto& e : endpoints_) e.early = now;
}

Time HealthMonitor::next_deadline() const {
  Time next = kNever;
  for (const auto& e : endpoints_) {
    if (e.in_flight) continue;
    if (e.next_due < next) next = e.next_due;
    if (e.early && *e.early < next) next = *e.early;
  }
  return next;
}

const HealthMonitor::EndpointState& HealthMonitor::at(size_t endpoint) const {
  DRSIM_CHECK(endpoint < endpoints_.size());
  return endpoints_[endpoint];
}

EndpointStatus HealthMonitor::status(size_t endpoint) const { return at(endpoint).status; }
uint32_t HealthMonitor::consecutive_failures(size_t endpoint) const {
  return at(endpoint).consecutive_failures;
}
bool HealthMonitor::probe_in_flight(size_t endpoint) const { return at(endpoint).in_flight; }
Time HealthMonitor::next_probe_due(size_t endpoint) const { return at(endpoint).next_due; }

}  // namespace drsim::model
