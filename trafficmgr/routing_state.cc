#include "trafficmgr/routing_state.h"

namespace drsim::trafficmgr {

const char* resolve_via_name(ResolveVia via) { return via == ResolveVia::kGrpc ? "grpc" : "dns"; }

void RoutingState::count_resolve(const std::string& endpoint, ResolveVia via) {
  std::lock_guard lock(mu_);
  ++resolves_[{endpoint, resolve_via_name(via)}];
}

std::map<std::pair<std::string, std::string>, uint64_t> RoutingState::resolve_counts() const {
  std::lock_guard lock(mu_);
  return resolves_;
}

void RoutingState::publish(v1::ListEndpointsResponse table,
                           std::optional<v1::ResolveResponse> answer) {
  std::lock_guard lock(mu_);
  table_ = std::move(table);
  answer_ = std::move(answer);
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

v1::ListEndpointsResponse RoutingState::table() const {
  std::lock_guard lock(mu_);
  return table_;
}

std::optional<v1::ResolveResponse> RoutingState::answer() const {
  std::lock_guard lock(mu_);
  return answer_;
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
