#include "trafficmgr/grpc_health_prober.h"

#include <chrono>

#include <boost/asio/post.hpp>

#include "common/core/clock.h"
#include "common/core/status.h"
#include "common/net/grpc_util.h"
#include "common/net/health_service.h"

namespace drsim::trafficmgr {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Everything the async call borrows must live until its callback: heap-allocated per probe.
struct GrpcHealthProber::Call {
  size_t endpoint = 0;
  grpc::ClientContext context;
  HealthCheckRequest request;
  HealthCheckResponse response;
  Time started;
};

GrpcHealthProber::GrpcHealthProber(boost::asio::io_context& io, const Clock& clock,
                                   const net::Transport& transport,
                                   const std::vector<std::string>& addresses,
                                   const std::vector<std::string>& peers,
                                   std::string health_service, Duration timeout,
                                   ResultHandler on_result)
    : io_(io),
      clock_(clock),
      health_service_(std::move(health_service)),
      timeout_(timeout),
      handler_(std::make_shared<ResultHandler>(std::move(on_result))),
      weak_handler_(handler_) {
  // One channel per endpoint, so one region's connection trouble never delays another's probe.
  DRSIM_CHECK(peers.size() == addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) {
    stubs_.push_back(grpc::health::v1::Health::NewStub(transport.channel(addresses[i], peers[i])));
  }
}

GrpcHealthProber::~GrpcHealthProber() {
  handler_.reset();
  std::unique_lock lock(mu_);
  for (Call* call : outstanding_) call->context.TryCancel();
  idle_.wait(lock, [this] { return outstanding_.empty(); });
}

void GrpcHealthProber::probe(size_t endpoint) {
  DRSIM_CHECK(endpoint < stubs_.size());
  auto* call = new Call;
  call->endpoint = endpoint;
  call->request.set_service(health_service_);
  call->context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout_));
  call->started = clock_.now();
  {
    std::lock_guard lock(mu_);
    outstanding_.insert(call);
  }
  stubs_[endpoint]->async()->Check(
      &call->context, &call->request, &call->response,
      [this, call](grpc::Status status) { on_call_done(call, status); });
}

void GrpcHealthProber::cancel_all() {
  handler_.reset();
  std::lock_guard lock(mu_);
  for (Call* call : outstanding_) call->context.TryCancel();
}

void GrpcHealthProber::on_call_done(Call* call, const grpc::Status& status) {
  ProbeResult result{
      call->endpoint, model::ProbeOutcome::kFailure, "", clock_.now() - call->started, "",
      std::nullopt};
  {
    const auto& md = call->context.GetServerInitialMetadata();
    auto epoch = md.find(net::kEpochMetadataKey);
    auto role = md.find(net::kRoleMetadataKey);
    if (epoch != md.end() && role != md.end()) {
      result.claim =
          parse_region_claim(std::string_view(epoch->second.data(), epoch->second.size()),
                             std::string_view(role->second.data(), role->second.size()));
    }
  }
  if (!status.ok()) {
    result.error = std::string(status_code_name(static_cast<StatusCode>(status.error_code()))) +
                   ": " + status.error_message();
  } else if (call->response.status() != HealthCheckResponse::SERVING) {
    result.error =
        "health status " + HealthCheckResponse::ServingStatus_Name(call->response.status());
  } else {
    result.outcome = model::ProbeOutcome::kSuccess;
    result.detail = "SERVING";
  }
  // Model state lives on the loop thread; this thread only hands the result over.
  boost::asio::post(io_, [weak = weak_handler_, result = std::move(result)] {
    if (auto handler = weak.lock()) (*handler)(result);
  });
  std::lock_guard lock(mu_);
  outstanding_.erase(call);
  delete call;
  if (outstanding_.empty()) idle_.notify_all();
}

}  // namespace drsim::trafficmgr
