// Follows the Traffic Manager's routing-event stream in the background, so a
// drill can wait for "primary Degraded" or "route now secondary" and take the
// Traffic Manager's own timestamps for the RTO breakdown.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "drsim/v1/trafficmgr.grpc.pb.h"

namespace drsim::cli {

class RoutingWatcher {
 public:
  RoutingWatcher(const std::string& trafficmgr_address, const std::string& profile);
  ~RoutingWatcher();

  // Ends the stream (also done by the destructor); events stay readable.
  void stop();
  std::vector<drsim::v1::RoutingEvent> events() const;
  // Time (unix ns) of the first event at or after `after_ns` matching; 0 if none
  // within `timeout`.
  int64_t wait_endpoint_status(const std::string& endpoint, drsim::v1::EndpointStatus status,
                               int64_t after_ns, std::chrono::milliseconds timeout);
  int64_t wait_route(const std::string& endpoint, int64_t after_ns,
                     std::chrono::milliseconds timeout);
  std::string last_error() const;

 private:
  void run();

  std::string profile_;
  std::unique_ptr<drsim::v1::TrafficManager::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> ctx_ = std::make_unique<grpc::ClientContext>();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<drsim::v1::RoutingEvent> events_;
  std::string error_;
  std::thread thread_;
};

}  // namespace drsim::cli
