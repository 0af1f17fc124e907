#include "common/region/replication_streams.h"

#include <spdlog/spdlog.h>

#include "common/net/grpc_util.h"
#include "common/net/rpc_authorizer.h"
#include "common/region/region_node.h"

namespace drsim::region {

using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;

SinkStream::SinkStream(SinkEvents& node, std::shared_ptr<net::LoopGate> gate, std::string peer,
                       std::string caller)
    : node_(node), gate_(std::move(gate)), peer_(std::move(peer)), caller_(std::move(caller)) {
  StartRead(&incoming_);
}

void SinkStream::OnReadDone(bool ok) {
  if (!ok) {
    gate_->post([this] { node_.on_sink_closed(this); });
    return;
  }
  auto frame = std::make_shared<ReplicationFrame>(std::move(incoming_));
  incoming_.Clear();
  // Post before the next read: the next OnReadDone may run on another gRPC
  // thread at once, and frames must reach the loop in stream order.
  gate_->post([this, frame] {
    if (closing_) return;
    if (frame->has_hello()) {
      Status claim = check_claimed_region("hello.region", frame->hello().region(), caller_);
      if (!claim.is_ok()) {  // the node never sees a forged hello
        spdlog::warn("refused replication: {}", claim.message());
        return close(claim);
      }
    }
    node_.on_sink_frame(this, *frame);
  });
  StartRead(&incoming_);
}

void SinkStream::send(ReplicationReply reply) {
  if (closing_) return;
  outbox_.push_back(std::move(reply));
  write_next();
}

void SinkStream::write_next() {
  if (write_in_flight_ || outbox_.empty()) return;
  writing_ = std::move(outbox_.front());
  outbox_.pop_front();
  write_in_flight_ = true;
  StartWrite(&writing_);
}

void SinkStream::OnWriteDone(bool ok) {
  gate_->post([this, ok] {
    write_in_flight_ = false;
    if (!ok) {
      closing_ = true;
      outbox_.clear();
      close_status_ = unavailable("replication stream write failed");
    }
    write_next();
    finish_if_ready();
  });
}

void SinkStream::close(const Status& status) {
  if (closing_) return;
  closing_ = true;
  close_status_ = status;
  finish_if_ready();
}

void SinkStream::finish_if_ready() {
  // Finish only once queued replies (e.g. a Reject) have been written.
  if (!closing_ || finished_ || write_in_flight_ || !outbox_.empty()) return;
  finished_ = true;
  Finish(net::to_grpc(close_status_));
}

void SinkStream::OnDone() {
  bool posted = gate_->post([this] {
    node_.on_sink_closed(this);
    delete this;
  });
  if (!posted) delete this;  // the loop is gone: nobody else refers to this stream
}

grpc::ServerBidiReactor<ReplicationFrame, ReplicationReply>* ReplicationService::Stream(
    grpc::CallbackServerContext* ctx) {
  return new SinkStream(node_, gate_, ctx->peer(), net::caller_identity(*ctx));
}

grpc::ServerUnaryReactor* ReplicationService::Fence(grpc::CallbackServerContext* ctx,
                                                   const drsim::v1::FenceRequest* req,
                                                   drsim::v1::FenceReply* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (Status s = net::check_caller_claim(*ctx, "region", req->region()); !s.is_ok()) {
    reactor->Finish(net::to_grpc(s));
    return reactor;
  }
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    auto r = node_.on_fence(*req);
    if (r.is_ok()) *resp = std::move(r.value());
    reactor->Finish(net::to_grpc(r.status()));
  });
  return reactor;
}

SourceStream::SourceStream(SourceEvents& node, std::shared_ptr<net::LoopGate> gate,
                           drsim::v1::Replication::Stub& stub)
    : node_(node), gate_(std::move(gate)), call_token_(gate_->track_call("replication stream")) {
  stub.async()->Stream(&ctx_, this);
  AddHold();
  StartRead(&incoming_);
  StartCall();
}

void SourceStream::send(ReplicationFrame frame) {
  writing_ = std::move(frame);
  write_in_flight_ = true;
  StartWrite(&writing_);
}

void SourceStream::release() {
  if (released_) return;
  released_ = true;
  RemoveHold();
}

void SourceStream::OnReadDone(bool ok) {
  if (!ok) {
    // Read side over: the stream is finishing; OnDone carries the status
    // once the loop releases its hold (no more writes after this).
    bool posted = gate_->post([this] {
      read_ended_ = true;
      release();
    });
    // The loop is gone and will never release it: without OnDone the call (and its token)
    // would stay alive for good.
    if (!posted) release();
    return;
  }
  auto reply = std::make_shared<ReplicationReply>(std::move(incoming_));
  incoming_.Clear();
  // Post before the next read, so replies reach the loop in stream order.
  gate_->post([this, reply] { node_.on_source_reply(this, *reply); });
  StartRead(&incoming_);
}

void SourceStream::OnWriteDone(bool ok) {
  gate_->post([this, ok] {
    write_in_flight_ = false;
    if (!ok) {
      cancel();
      return;
    }
    node_.on_source_write_done(this);
  });
}

void SourceStream::OnDone(const grpc::Status& status) {
  Status st = net::from_grpc(status);
  bool posted = gate_->post([this, st] {
    node_.on_source_closed(this, st);
    delete this;
  });
  if (!posted) delete this;  // the loop is gone: nobody else refers to this stream
}

}  // namespace drsim::region
