// The daemon's RegionLinks over gRPC: the replication stream (SourceStream,
// replication_streams.h) and Replication.Fence to the peer, RenewLease / FenceLease to the
// Traffic Manager witness. Answers reach the loop through one LoopGate, which the daemon closes
// once its loop has stopped for good (a call gRPC finishes later then posts nowhere).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/net/loop_gate.h"
#include "common/net/transport.h"
#include "common/region/region_links.h"
#include "drsim/v1/replication.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"

namespace drsim::region {

class GrpcRegionLinks final : public ReplicationTransport,
                              public PeerControl,
                              public LeaseWitnessClient {
 public:
  // `peer_name` is the identity the peer's certificate must name (mTLS).
  GrpcRegionLinks(net::Transport transport, std::string peer_name, boost::asio::io_context& io);
  ~GrpcRegionLinks() override;

  RegionLinks links() { return {*this, *this, *this}; }
  // What incoming streams (ReplicationService) post through.
  const std::shared_ptr<net::LoopGate>& gate() const { return gate_; }
  void close_loop_gate() { gate_->close(); }

  // ReplicationTransport
  SourceLink* connect(const std::string& peer_address, SourceEvents& events) override;
  // PeerControl
  CancelCall fence(const std::string& peer_address, const drsim::v1::FenceRequest& request,
                   Duration deadline, PeerControl::FenceDone done) override;
  // LeaseWitnessClient
  CancelCall renew(const std::string& witness_address, const drsim::v1::RenewLeaseRequest& request,
                   Duration deadline, RenewDone done) override;
  CancelCall fence(const std::string& witness_address, const drsim::v1::FenceLeaseRequest& request,
                   Duration deadline, LeaseWitnessClient::FenceDone done) override;

 private:
  // One stub per address, made again when the address changes (set_peer, set_witness).
  drsim::v1::Replication::Stub& peer_stub(const std::string& address);
  drsim::v1::TrafficManager::Stub& witness_stub(const std::string& address);

  net::Transport transport_;
  std::string peer_name_;
  std::shared_ptr<net::LoopGate> gate_;
  std::string peer_address_;
  std::unique_ptr<drsim::v1::Replication::Stub> peer_stub_;
  std::string witness_address_;
  std::unique_ptr<drsim::v1::TrafficManager::Stub> witness_stub_;
};

}  // namespace drsim::region
