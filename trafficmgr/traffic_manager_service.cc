#include "trafficmgr/traffic_manager_service.h"

#include "common/net/grpc_util.h"
#include "common/net/rpc_authorizer.h"

#include <deque>
#include <mutex>
#include <optional>

namespace drsim::trafficmgr {

namespace {

constexpr size_t kMaxProfileBytes = 253;  // a DNS name
constexpr size_t kMaxRegionBytes = 64;
constexpr double kMaxLatencyMs = 60'000;

// One WatchRouting stream. Events arrive from RoutingState (loop thread, or the subscribing
// thread for replay) and are written one at a time; OnWriteDone starts the next. Finish is
// called once, only when no write is in flight.
class RoutingWatchReactor final : public grpc::ServerWriteReactor<v1::RoutingEvent>,
                                  public RoutingWatcher {
 public:
  RoutingWatchReactor(RoutingState& state, std::string profile, ReplayMode replay)
      : state_(state), profile_(std::move(profile)) {
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
    if (event.profile() != profile_) return;  // the log holds every profile's events
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
  const std::string profile_;
  bool subscribed_ = false;
  std::mutex mu_;
  std::deque<v1::RoutingEvent> queue_;
  v1::RoutingEvent current_;  // the write in flight borrows it
  bool writing_ = false;
  std::optional<grpc::Status> finish_status_;
  bool finished_ = false;
};

}  // namespace

grpc::Status TrafficManagerService::check_profile(const std::string& profile,
                                                 std::string* canonical) const {
  if (profile.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "profile: must not be empty");
  }
  if (profile.size() > kMaxProfileBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "profile: longer than " + std::to_string(kMaxProfileBytes) + " bytes");
  }
  const model::TmProfile* found = state_.profile_set().find(profile);
  if (!found) {
    std::string served;
    for (const auto& p : state_.profile_set().profiles()) {
      served += (served.empty() ? "'" : ", '") + p.name + "'";
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "profile '" + profile +
                                                         "' not found; this Traffic Manager "
                                                         "serves " +
                                                         served);
  }
  *canonical = found->name;
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* TrafficManagerService::Resolve(grpc::CallbackServerContext* ctx,
                                                         const v1::ResolveRequest* request,
                                                         v1::ResolveResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  std::string profile;
  grpc::Status status = check_profile(request->profile(), &profile);
  std::optional<model::TmIpAddress> client_ip;
  if (status.ok() && request->client_region().size() > kMaxRegionBytes) {
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "client_region: longer than " + std::to_string(kMaxRegionBytes) +
                              " bytes");
  }
  if (status.ok() && !request->client_ip().empty()) {
    auto ip = model::parse_ip_address(request->client_ip());
    if (ip.is_ok()) {
      client_ip = *ip;
    } else {
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "client_ip: " + ip.status().message());
    }
  }
  if (status.ok()) {
    Resolved resolved = state_.resolve(profile, request->client_region(), client_ip);
    switch (resolved.resolution.kind) {
      case model::TmResolutionKind::kNxDomain:
        status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                              "profile '" + profile +
                                  "' answers NXDOMAIN: it is disabled, or none of its endpoints "
                                  "is enabled");
        break;
      case model::TmResolutionKind::kNoData:
        response->set_no_data(true);
        response->set_ttl_ms(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(resolved.ttl).count()));
        break;
      case model::TmResolutionKind::kAnswers:
        for (const auto& a : resolved.resolution.answers) {
          v1::ResolvedEndpoint* e = response->add_answers();
          e->set_profile(a.profile);
          e->set_endpoint(a.endpoint);
          e->set_address(a.address);
          state_.count_resolve(profile, a.endpoint, ResolveVia::kGrpc);
        }
        response->set_endpoint(resolved.resolution.answers.front().endpoint);
        response->set_address(resolved.resolution.answers.front().address);
        response->set_ttl_ms(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(resolved.ttl).count()));
        response->set_fail_open(resolved.resolution.fail_open);
        break;
    }
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* TrafficManagerService::ListProfiles(
    grpc::CallbackServerContext* ctx, const v1::ListProfilesRequest*,
    v1::ListProfilesResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  for (auto& table : state_.tables()) *response->add_profiles() = std::move(table);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* TrafficManagerService::SetLatency(grpc::CallbackServerContext* ctx,
                                                            const v1::SetLatencyRequest* request,
                                                            v1::SetLatencyResponse*) {
  auto* reactor = ctx->DefaultReactor();
  grpc::Status status;
  auto bad = [](const std::string& why) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why);
  };
  if (request->client_region().empty() || request->client_region().size() > kMaxRegionBytes) {
    status = bad("client_region: must have 1.." + std::to_string(kMaxRegionBytes) + " bytes");
  } else if (request->location().empty() || request->location().size() > kMaxRegionBytes) {
    status = bad("location: must have 1.." + std::to_string(kMaxRegionBytes) + " bytes");
  } else if (!(request->latency_ms() >= 0 && request->latency_ms() <= kMaxLatencyMs)) {
    status = bad("latency_ms: must be within 0..60000");
  } else {
    state_.set_latency(request->client_region(), request->location(),
                       std::chrono::duration_cast<Duration>(
                           std::chrono::duration<double, std::milli>(request->latency_ms())));
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* TrafficManagerService::RenewLease(grpc::CallbackServerContext* ctx,
                                                            const v1::RenewLeaseRequest* request,
                                                            v1::RenewLeaseResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  if (Status s = net::check_caller_claim(*ctx, "region", request->region()); !s.is_ok()) {
    reactor->Finish(net::to_grpc(s));
    return reactor;
  }
  auto r = witness_.renew(*request);
  if (r.is_ok() && r->granted() && request->kind() == v1::RENEWAL_KIND_NOW_SERVING &&
      now_serving_) {
    now_serving_(request->region(), request->epoch());  // before Finish: the request dies then
  }
  if (r.is_ok()) *response = std::move(r.value());
  reactor->Finish(net::to_grpc(r.status()));
  return reactor;
}

grpc::ServerUnaryReactor* TrafficManagerService::FenceLease(grpc::CallbackServerContext* ctx,
                                                            const v1::FenceLeaseRequest* request,
                                                            v1::FenceLeaseResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  if (Status s = net::check_caller_claim(*ctx, "region", request->region()); !s.is_ok()) {
    reactor->Finish(net::to_grpc(s));
    return reactor;
  }
  auto r = witness_.fence(*request);
  if (r.is_ok()) *response = std::move(r.value());
  reactor->Finish(net::to_grpc(r.status()));
  return reactor;
}

grpc::ServerUnaryReactor* TrafficManagerService::ListEndpoints(
    grpc::CallbackServerContext* ctx, const v1::ListEndpointsRequest* request,
    v1::ListEndpointsResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  std::string profile;
  grpc::Status status = check_profile(request->profile(), &profile);
  if (status.ok()) {
    if (auto table = state_.table(profile)) {
      *response = std::move(*table);
    } else {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no table published yet");
    }
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerWriteReactor<v1::RoutingEvent>* TrafficManagerService::WatchRouting(
    grpc::CallbackServerContext* ctx, const v1::WatchRoutingRequest* request) {
  std::string profile;
  grpc::Status status = check_profile(request->profile(), &profile);
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
      state_, profile, request->replay() ? ReplayMode::kReplayHistory : ReplayMode::kLiveOnly);
}

}  // namespace drsim::trafficmgr
