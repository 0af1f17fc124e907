// The standard grpc.health.v1.Health service, served by every drsim daemon so
// stock probes work. Status per service name ("" = the whole server). In an
// injected outage, Check answers UNAVAILABLE for every service. A region daemon also says its
// epoch and role with every answer (initial metadata drsim-epoch / drsim-role), so the Traffic
// Manager can tell a superseded region that still answers SERVING from the current one.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace drsim::net {

// Response metadata (gRPC) and headers (HTTP GET /health) naming the answering region's epoch
// (decimal) and role ("active" / "standby").
inline constexpr const char* kEpochMetadataKey = "drsim-epoch";
inline constexpr const char* kRoleMetadataKey = "drsim-role";
inline constexpr const char* kEpochHeader = "X-Drsim-Epoch";
inline constexpr const char* kRoleHeader = "X-Drsim-Role";

struct RegionEpochRole {
  uint64_t epoch = 0;
  std::string role;  // "active" / "standby"
};

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Thread-safe: called from the loop thread, read from gRPC threads.
  void set_status(const std::string& service, ServingStatus status);
  void set_outage(bool outage);
  // What Check answers for `service` (SERVICE_UNKNOWN when never set), ignoring the outage.
  ServingStatus status(const std::string& service);
  bool outage();
  // Region daemons: the epoch and role every answer carries from now on.
  void set_region(RegionEpochRole region);
  std::optional<RegionEpochRole> region();

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
  std::optional<RegionEpochRole> region_;
};

}  // namespace drsim::net
