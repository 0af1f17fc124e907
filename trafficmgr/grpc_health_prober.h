// GrpcHealthProber: Traffic Manager's probe transport. Sends one grpc.health.v1 Health/Check
// per probe on gRPC's callback API, with the probe timeout as deadline, and hands the outcome
// to the io_context thread. Success means status OK and SERVING; anything else is a failure.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/core/time.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "trafficmgr/prober.h"

namespace drsim::trafficmgr {

class GrpcHealthProber final : public Prober {
 public:
  // `clock` (the process's, read on gRPC threads too) times each probe. Dials each address with
  // `transport`, requiring the server there to be `peers[i]` (net::kAnyPeer: any identity of
  // the CA; probe_peers, prober.h).
  GrpcHealthProber(boost::asio::io_context& io, const Clock& clock,
                   const net::Transport& transport, const std::vector<std::string>& addresses,
                   const std::vector<std::string>& peers, std::string health_service,
                   Duration timeout, ResultHandler on_result);
  // Cancels probes in flight and waits for their gRPC callbacks (each is bounded by its
  // deadline), so no callback outlives this object.
  ~GrpcHealthProber() override;

  GrpcHealthProber(const GrpcHealthProber&) = delete;
  GrpcHealthProber& operator=(const GrpcHealthProber&) = delete;

  void probe(size_t endpoint) override;
  void cancel_all() override;

 private:
  struct Call;
  // gRPC callback thread: copies the outcome, posts it to the loop, frees the call.
  void on_call_done(Call* call, const grpc::Status& status);

  boost::asio::io_context& io_;
  const Clock& clock_;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> stubs_;
  const std::string health_service_;
  const Duration timeout_;
  // Posted completions hold only the weak pointer; resetting handler_ silences them.
  std::shared_ptr<ResultHandler> handler_;
  const std::weak_ptr<ResultHandler> weak_handler_;

  std::mutex mu_;
  std::condition_variable idle_;
  std::set<Call*> outstanding_;
};

}  // namespace drsim::trafficmgr
