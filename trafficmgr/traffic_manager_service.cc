#include "trafficmgr/traffic_manager_service.h"

#include <deque>
#include <mutex>
#include <optional>

namespace drsim::trafficmgr {

namespace {

constexpr size_t kMaxProfileBytes = 253;  // a DNS name

// One WatchRouting stream. Events arrive from RoutingState (loop thread, or the subscribing
// thread for replay) and are written one at a time; OnWriteDone starts the next. Finish is
// called once, only when no write is in flight.
class RoutingWatchReactor final : public grpc::ServerWriteReactor<v1::RoutingEvent>,
                                  public RoutingWatcher {
 public:
  RoutingWatchReactor(RoutingState& state, ReplayMode replay) : state_(state) {
    // Headers go out at once so a client can tell it is subscribed before any event. Started
    // before subscribing: gRPC forbids sending initial metadata after a write started.
    StartSendInitialMetadata();
    subscribed_ = state_.subscribe(this, replay);
    if (!subscribed_) {
      std::lock_guard lock(mu_);
      request_finish_locked(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "traffic manager is shutting down"));
    }
  }

  // RoutingWatcher
  void on_event(const v1::RoutingEvent& event) override {
    std::lock_guard lock(mu_);
    if (finish_status_) return;
    if (queue_.size() >= TrafficManagerService::kMaxQueuedEvents) {
      queue_.clear();
      request_finish_locked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                         "watcher fell too far behind; watch again with replay"));
      return;
    }
    queue_.push_back(event);
    write_next_locked();
  }
  void on_close() override {
    std::lock_guard lock(mu_);
    request_finish_locked(grpc::Status::OK);  // queued events are sent first
  }

  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {  // the stream is broken (client gone); nothing more can be sent
      queue_.clear();
      request_finish_locked(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
      return;
    }
    if (finish_status_) {
      maybe_finish_locked();
    } else {
      write_next_locked();
    }
  }
  void OnCancel() override {
    std::lock_guard lock(mu_);
    queue_.clear();
    request_finish_locked(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    // gRPC runs OnDone on its own thread, never inside Finish, so RoutingState's lock is free.
    if (subscribed_) state_.unsubscribe(this);
    delete this;
  }

 private:
  void write_next_locked() {
    if (writing_ || queue_.empty()) return;
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    StartWrite(&current_);
  }
  void request_finish_locked(grpc::Status status) {
    if (!finish_status_) finish_status_ = std::move(status);
    maybe_finish_locked();
  }
  void maybe_finish_locked() {
    if (finished_ || writing_ || !finish_status_) return;
    if (finish_status_->ok() && !queue_.empty()) {
      write_next_locked();
      return;
    }
    finished_ = true;
    Finish(*finish_status_);
  }

  RoutingState& state_;
  bool subscribed_ = false;
  std::mutex mu_;
  std::deque<v1::RoutingEvent> queue_;
  v1::RoutingEvent current_;  // the write in flight borrows it
  bool writing_ = false;
  std::optional<grpc::Status> finish_status_;
  bool finished_ = false;
};

}  // namespace

grpc::Status TrafficManagerService::check_profile(const std::string& profile) const {
  if (profile.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "profile: must not be empty");
  }
  if (profile.size() > kMaxProfileBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "profile: longer than " + std::to_string(kMaxProfileBytes) + " bytes");
  }
  if (profile != state_.profile()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "profile '" + profile +
                                                         "' not found; this Traffic Manager "
                                                         "serves '" +
                                                         state_.profile() + "'");
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* TrafficManagerService::Resolve(grpc::CallbackServerContext* ctx,
                                                         const v1::ResolveRequest* request,
                                                         v1::ResolveResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  grpc::Status status = check_profile(request->profile());
  if (status.ok()) {
    if (auto answer = state_.answer()) {
      state_.count_resolve(answer->endpoint(), ResolveVia::kGrpc);
      *response = std::move(*answer);
    } else {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no endpoint to answer yet");
    }
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* TrafficManagerService::ListEndpoints(
    grpc::CallbackServerContext* ctx, const v1::ListEndpointsRequest* request,
    v1::ListEndpointsResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  grpc::Status status = check_profile(request->profile());
  if (status.ok()) *response = state_.table();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerWriteReactor<v1::RoutingEvent>* TrafficManagerService::WatchRouting(
    grpc::CallbackServerContext* ctx, const v1::WatchRoutingRequest* request) {
  grpc::Status status = check_profile(request->profile());
  if (!status.ok()) {
    // A stream that ends at once with the error.
    class Refused final : public grpc::ServerWriteReactor<v1::RoutingEvent> {
     public:
      explicit Refused(const grpc::Status& s) { Finish(s); }
      void OnDone() override { delete this; }
    };
    return new Refused(status);
  }
  return new RoutingWatchReactor(
      state_, request->replay() ? ReplayMode::kReplayHistory : ReplayMode::kLiveOnly);
}

}  // namespace drsim::trafficmgr
