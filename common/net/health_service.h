// The standard grpc.health.v1.Health service, served by every drsim daemon so
// stock probes work. Status per service name ("" = the whole server). In an
// injected outage, Check answers UNAVAILABLE for every service.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace drsim::net {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Thread-safe: called from the loop thread, read from gRPC threads.
  void set_status(const std::string& service, ServingStatus status);
  void set_outage(bool outage);
  // What Check answers for `service` (SERVICE_UNKNOWN when never set), ignoring the outage.
  ServingStatus status(const std::string& service);
  bool outage();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* ctx,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  std::mutex mu_;
  std::map<std::string, ServingStatus> statuses_;
  bool outage_ = false;
};

}  // namespace drsim::net
