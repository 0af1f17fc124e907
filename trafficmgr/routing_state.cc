#include "trafficmgr/routing_state.h"

namespace drsim::trafficmgr {

const char* resolve_via_name(ResolveVia via) { return via == ResolveVia::kGrpc ? "grpc" : "dns"; }

RoutingState::RoutingState(std::shared_ptr<const model::TmProfileSet> set,
                           model::TmLatencyTable latency, uint64_t seed)
    : set_(std::move(set)), latency_(std::move(latency)), rng_(seed) {}

void RoutingState::count_resolve(const std::string& profile, const std::string& endpoint,
                                 ResolveVia via) {
  std::lock_guard lock(mu_);
  ++resolves_[{profile, endpoint, resolve_via_name(via)}];
}

std::map<ResolveKey, uint64_t> RoutingState::resolve_counts() const {
  std::lock_guard lock(mu_);
  return resolves_;
}

void RoutingState::publish(std::vector<v1::ListEndpointsResponse> tables,
                           model::TmStatusSnapshot statuses) {
  std::lock_guard lock(mu_);
  tables_ = std::move(tables);
  statuses_ = std::move(statuses);
}

Resolved RoutingState::resolve(std::string_view profile, std::string client_region,
                               std::optional<model::TmIpAddress> client_ip) {
  Resolved out;
  std::optional<size_t> index = set_->index_of(profile);
  std::lock_guard lock(mu_);
  if (!index || !statuses_) {
    out.resolution.kind = model::TmResolutionKind::kNxDomain;
    return out;
  }
  const model::TmProfile& p = set_->profiles()[*index];
  out.profile = p.name;
  out.ttl = p.ttl;
  model::TmQuery query{std::move(client_region), client_ip, rng_, &latency_};
  out.resolution = model::resolve(*set_, *statuses_, p.name, query);
  return out;
}

void RoutingState::set_latency(const std::string& client_region, const std::string& location,
                               Duration latency) {
  std::lock_guard lock(mu_);
  latency_.set(client_region, location, latency);
}

void RoutingState::append(const v1::RoutingEvent& event) {
  std::lock_guard lock(mu_);
  events_.push_back(event);
  if (events_.size() > kMaxEventLog) events_.pop_front();
  for (RoutingWatcher* w : watchers_) w->on_event(event);
}

void RoutingState::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  // Watchers unsubscribe themselves from OnDone, which gRPC runs later on its own thread.
  for (RoutingWatcher* w : watchers_) w->on_close();
}

std::optional<v1::ListEndpointsResponse> RoutingState::table(std::string_view profile) const {
  std::optional<size_t> index = set_->index_of(profile);
  std::lock_guard lock(mu_);
  if (!index || *index >= tables_.size()) return std::nullopt;
  return tables_[*index];
}

std::vector<v1::ListEndpointsResponse> RoutingState::tables() const {
  std::lock_guard lock(mu_);
  return tables_;
}

std::vector<v1::RoutingEvent> RoutingState::events() const {
  std::lock_guard lock(mu_);
  return {events_.begin(), events_.end()};
}

bool RoutingState::subscribe(RoutingWatcher* watcher, ReplayMode replay) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  if (replay == ReplayMode::kReplayHistory) {
    for (const auto& e : events_) watcher->on_event(e);
  }
  watchers_.insert(watcher);
  return true;
}

void RoutingState::unsubscribe(RoutingWatcher* watcher) {
  std::lock_guard lock(mu_);
  watchers_.erase(watcher);
}

size_t RoutingState::watcher_count() const {
  std::lock_guard lock(mu_);
  return watchers_.size();
}

}  // namespace drsim::trafficmgr
