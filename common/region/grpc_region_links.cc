#include "common/region/grpc_region_links.h"

#include "common/net/grpc_util.h"
#include "common/region/replication_streams.h"

namespace drsim::region {

namespace {

// One unary call: its context, request and reply live until the answer reached the loop.
template <typename Request, typename Reply>
struct UnaryCall {
  grpc::ClientContext ctx;
  Request request;
  Reply reply;
};

// Starts `call` (through `start`) and posts its answer to the loop through `gate`, which counts
// the call's state (`what`) until it is gone (LoopGate::make_call: the daemon's shutdown waits
// for it, so the last reference to a channel is never dropped on a gRPC thread).
template <typename Request, typename Reply, typename Start, typename Done>
CancelCall start_unary(const std::shared_ptr<net::LoopGate>& gate, const char* what,
                       const Request& request, Duration deadline, Start start, Done done) {
  auto call = gate->make_call<UnaryCall<Request, Reply>>(what);
  call->request = request;
  net::set_deadline(call->ctx, std::chrono::duration_cast<std::chrono::milliseconds>(deadline));
  start(&call->ctx, &call->request, &call->reply, [gate, call, done](grpc::Status s) {
    gate->post([call, done, st = net::from_grpc(s)] { done(st, call->reply); });
  });
  return [call] { call->ctx.TryCancel(); };
}

}  // namespace

GrpcRegionLinks::GrpcRegionLinks(net::Transport transport, std::string peer_name,
                                 boost::asio::io_context& io)
    : transport_(std::move(transport)),
      peer_name_(std::move(peer_name)),
      gate_(std::make_shared<net::LoopGate>(io)) {}

GrpcRegionLinks::~GrpcRegionLinks() { gate_->close(); }

drsim::v1::Replication::Stub& GrpcRegionLinks::peer_stub(const std::string& address) {
  if (!peer_stub_ || address != peer_address_) {
    peer_address_ = address;
    peer_stub_ = drsim::v1::Replication::NewStub(transport_.channel(address, peer_name_));
  }
  return *peer_stub_;
}

drsim::v1::TrafficManager::Stub& GrpcRegionLinks::witness_stub(const std::string& address) {
  if (!witness_stub_ || address != witness_address_) {
    witness_address_ = address;
    witness_stub_ = drsim::v1::TrafficManager::NewStub(transport_.channel(address, "trafficmgr"));
  }
  return *witness_stub_;
}

SourceLink* GrpcRegionLinks::connect(const std::string& peer_address, SourceEvents& events) {
  return new SourceStream(events, gate_, peer_stub(peer_address));  // deletes itself (OnDone)
}

CancelCall GrpcRegionLinks::fence(const std::string& peer_address,
                                  const drsim::v1::FenceRequest& request, Duration deadline,
                                  PeerControl::FenceDone done) {
  auto* stub = peer_stub(peer_address).async();
  return start_unary<drsim::v1::FenceRequest, drsim::v1::FenceReply>(
      gate_, "peer fence", request, deadline,
      [stub](auto* ctx, auto* req, auto* reply, auto cb) { stub->Fence(ctx, req, reply, cb); },
      std::move(done));
}

CancelCall GrpcRegionLinks::renew(const std::string& witness_address,
                                  const drsim::v1::RenewLeaseRequest& request, Duration deadline,
                                  RenewDone done) {
  auto* stub = witness_stub(witness_address).async();
  return start_unary<drsim::v1::RenewLeaseRequest, drsim::v1::RenewLeaseResponse>(
      gate_, "lease renewal", request, deadline,
      [stub](auto* ctx, auto* req, auto* reply, auto cb) { stub->RenewLease(ctx, req, reply, cb); },
      std::move(done));
}

CancelCall GrpcRegionLinks::fence(const std::string& witness_address,
                                  const drsim::v1::FenceLeaseRequest& request, Duration deadline,
                                  LeaseWitnessClient::FenceDone done) {
  auto* stub = witness_stub(witness_address).async();
  return start_unary<drsim::v1::FenceLeaseRequest, drsim::v1::FenceLeaseResponse>(
      gate_, "witness fence", request, deadline,
      [stub](auto* ctx, auto* req, auto* reply, auto cb) { stub->FenceLease(ctx, req, reply, cb); },
      std::move(done));
}

}  // namespace drsim::region
