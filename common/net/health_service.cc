#include "common/net/health_service.h"

namespace drsim::net {

using grpc::health::v1::HealthCheckResponse;

void HealthService::set_status(const std::string& service, ServingStatus status) {
  std::lock_guard lock(mu_);
  statuses_[service] = status;
}

void HealthService::set_outage(bool outage) {
  std::lock_guard lock(mu_);
  outage_ = outage;
}

HealthService::ServingStatus HealthService::status(const std::string& service) {
  std::lock_guard lock(mu_);
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

bool HealthService::outage() {
  std::lock_guard lock(mu_);
  return outage_;
}

void HealthService::set_region(RegionEpochRole region) {
  std::lock_guard lock(mu_);
  region_ = std::move(region);
}

std::optional<RegionEpochRole> HealthService::region() {
  std::lock_guard lock(mu_);
  return region_;
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* ctx,
                                               const grpc::health::v1::HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  std::lock_guard lock(mu_);
  if (region_) {
    ctx->AddInitialMetadata(kEpochMetadataKey, std::to_string(region_->epoch));
    ctx->AddInitialMetadata(kRoleMetadataKey, region_->role);
  }
  if (outage_) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "region is in an injected outage"));
    return reactor;
  }
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service '" + request->service() + "'"));
    return reactor;
  }
  response->set_status(it->second);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

namespace {
// Watch answers the current status once and then ends the stream; drsim's
// probes use Check. (A full Watch would push changes; nobody here needs it.)
class OneShotWatch final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  OneShotWatch(HealthCheckResponse::ServingStatus status) {
    response_.set_status(status);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  HealthCheckResponse response_;
};
}  // namespace

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* ctx, const grpc::health::v1::HealthCheckRequest* request) {
  std::lock_guard lock(mu_);
  auto it = statuses_.find(request->service());
  auto status = it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
  if (outage_) status = HealthCheckResponse::NOT_SERVING;
  return new OneShotWatch(status);
}

}  // namespace drsim::net
