// gRPC reactors of the replication stream: the daemon's implementation of the replication
// transport (replication_transport.h). They never touch region state:
// every callback copies what arrived and posts it to the loop
// through a LoopGate. Deletion also happens on the loop, so the loop never
// calls into a reactor that gRPC has finished with — unless the loop is gone
// (gate closed at shutdown), when OnDone deletes the reactor itself.
#pragma once

#include <deque>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "common/core/status.h"
#include "common/net/loop_gate.h"
#include "common/region/replication_transport.h"
#include "drsim/v1/replication.grpc.pb.h"

namespace drsim::region {

class RegionNode;

// Sink side: one per incoming stream from a source region.
class SinkStream final
    : public grpc::ServerBidiReactor<drsim::v1::ReplicationFrame, drsim::v1::ReplicationReply>,
      public SinkLink {
 public:
  // `caller`: the CN of the caller's certificate ("" over plain TCP); a Hello must claim it.
  SinkStream(SinkEvents& node, std::shared_ptr<net::LoopGate> gate, std::string peer,
             std::string caller);

  // Loop thread only.
  void send(drsim::v1::ReplicationReply reply) override;
  void close(const Status& status) override;
  const std::string& peer() const override { return peer_; }

  // grpc::ServerBidiReactor
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  void write_next();
  void finish_if_ready();

  SinkEvents& node_;
  std::shared_ptr<net::LoopGate> gate_;
  std::string peer_;
  const std::string caller_;
  drsim::v1::ReplicationFrame incoming_;
  // Loop-thread state.
  std::deque<drsim::v1::ReplicationReply> outbox_;
  drsim::v1::ReplicationReply writing_;
  bool write_in_flight_ = false;
  bool closing_ = false;
  bool finished_ = false;
  Status close_status_;
};

class ReplicationService final : public drsim::v1::Replication::CallbackService {
 public:
  // Incoming streams post to the loop through `gate`.
  ReplicationService(RegionNode& node, std::shared_ptr<net::LoopGate> gate)
      : node_(node), gate_(std::move(gate)) {}
  grpc::ServerBidiReactor<drsim::v1::ReplicationFrame, drsim::v1::ReplicationReply>* Stream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Fence(grpc::CallbackServerContext* ctx,
                                  const drsim::v1::FenceRequest* req,
                                  drsim::v1::FenceReply* resp) override;

 private:
  RegionNode& node_;
  std::shared_ptr<net::LoopGate> gate_;
};

// Source side: the stream this region (when active) opens to its peer.
class SourceStream final
    : public grpc::ClientBidiReactor<drsim::v1::ReplicationFrame, drsim::v1::ReplicationReply>,
      public SourceLink {
 public:
  SourceStream(SourceEvents& node, std::shared_ptr<net::LoopGate> gate,
               drsim::v1::Replication::Stub& stub);

  // Loop thread only.
  void send(drsim::v1::ReplicationFrame frame) override;
  bool write_in_flight() const override { return write_in_flight_; }
  bool open() const override { return !read_ended_; }
  void cancel() override { ctx_.TryCancel(); }
  // The loop saw the read side end; lets gRPC call OnDone.
  void release();

  // grpc::ClientBidiReactor
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  SourceEvents& node_;
  std::shared_ptr<net::LoopGate> gate_;
  std::shared_ptr<void> call_token_;  // before ctx_: released once the context (channel) is gone
  grpc::ClientContext ctx_;
  drsim::v1::ReplicationReply incoming_;
  drsim::v1::ReplicationFrame writing_;
  bool write_in_flight_ = false;
  bool released_ = false;
  bool read_ended_ = false;
};

}  // namespace drsim::region
