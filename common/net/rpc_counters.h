// RpcCounters: how many RPCs a gRPC server finished, per method and status code — the ops
// counters of a region's /metrics. A server interceptor (make_rpc_counting_interceptor) counts
// each RPC once, when its status is sent; any thread may read a snapshot.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <grpcpp/support/server_interceptor.h>

namespace drsim::net {

class RpcCounters {
 public:
  // (full method name "/drsim.v1.Workload/Put", status code name "OK") → RPCs finished.
  using Snapshot = std::map<std::pair<std::string, std::string>, uint64_t>;

  // Any thread.
  void count(const std::string& method, int status_code);
  Snapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  Snapshot counts_;
};

// For ServerBuilder::experimental().SetInterceptorCreators. `counters` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
make_rpc_counting_interceptor(RpcCounters* counters);

}  // namespace drsim::net
