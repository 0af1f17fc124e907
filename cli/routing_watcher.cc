#include "cli/routing_watcher.h"

#include "cli/operator_transport.h"
#include "common/net/grpc_util.h"

namespace drsim::cli {

RoutingWatcher::RoutingWatcher(const std::string& trafficmgr_address, const std::string& profile)
    : profile_(profile),
      stub_(drsim::v1::TrafficManager::NewStub(operator_channel(trafficmgr_address))) {
  thread_ = std::thread([this] { run(); });
}

RoutingWatcher::~RoutingWatcher() { stop(); }

void RoutingWatcher::stop() {
  if (!ctx_) return;
  ctx_->TryCancel();
  if (thread_.joinable()) thread_.join();
  // Release the call and the channel too: while they lived, the Traffic
  // Manager kept the cancelled watch open until its shutdown grace ran out.
  ctx_.reset();
  stub_.reset();
}

void RoutingWatcher::run() {
  drsim::v1::WatchRoutingRequest req;
  req.set_profile(profile_);
  req.set_replay(true);
  auto reader = stub_->WatchRouting(ctx_.get(), req);
  drsim::v1::RoutingEvent ev;
  while (reader->Read(&ev)) {
    std::lock_guard lock(mu_);
    events_.push_back(ev);
    cv_.notify_all();
  }
  grpc::Status s = reader->Finish();
  std::lock_guard lock(mu_);
  if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) error_ = s.error_message();
  cv_.notify_all();
}

std::vector<drsim::v1::RoutingEvent> RoutingWatcher::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::string RoutingWatcher::last_error() const {
  std::lock_guard lock(mu_);
  return error_;
}

int64_t RoutingWatcher::wait_endpoint_status(const std::string& endpoint,
                                             drsim::v1::EndpointStatus status, int64_t after_ns,
                                             std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  int64_t found = 0;
  cv_.wait_for(lock, timeout, [&] {
    for (const auto& e : events_) {
      if (e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS && e.endpoint() == endpoint &&
          e.new_status() == status && e.unix_nanos() >= after_ns) {
        found = e.unix_nanos();
        return true;
      }
    }
    return !error_.empty();
  });
  return found;
}

int64_t RoutingWatcher::wait_route(const std::string& endpoint, int64_t after_ns,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  int64_t found = 0;
  cv_.wait_for(lock, timeout, [&] {
    for (const auto& e : events_) {
      if (e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED && e.new_route() == endpoint &&
          e.unix_nanos() >= after_ns) {
        found = e.unix_nanos();
        return true;
      }
    }
    return !error_.empty();
  });
  return found;
}

}  // namespace drsim::cli
