// The replication transport as RegionNode sees it: one outgoing stream (SourceLink) when this
// region is active, incoming streams (SinkLink) when it is the standby, and the events each
// delivers. gRPC implements it in the daemon (SourceStream / SinkStream, replication_streams.h);
// tests/sim implements it with in-memory links the SimScheduler times and a test partitions.
// Frames and replies stay drsim.v1 messages, so both carry the same messages and the simulator
// exercises the real frame handling.
#pragma once

#include <string>

#include "common/core/status.h"
#include "drsim/v1/replication.pb.h"

namespace drsim::region {

// One replication stream as the source (active) region sees it: frames out, replies in. A link
// allows one write in flight (the caller waits for on_source_write_done). Loop thread only.
class SourceLink {
 public:
  virtual ~SourceLink() = default;
  virtual void send(drsim::v1::ReplicationFrame frame) = 0;
  virtual bool write_in_flight() const = 0;
  // False once the read side ended (the stream is finishing; no more writes).
  virtual bool open() const = 0;
  // Ends the stream; SourceEvents::on_source_closed follows (on a later loop turn).
  virtual void cancel() = 0;
};

// The same stream as the sink (standby) region sees it: frames in, replies out. Replies are
// queued behind the one in flight. Loop thread only.
class SinkLink {
 public:
  virtual ~SinkLink() = default;
  virtual void send(drsim::v1::ReplicationReply reply) = 0;
  // Finishes the stream with `status` once the queued replies are written. Idempotent.
  virtual void close(const Status& status) = 0;
  virtual const std::string& peer() const = 0;
};

// What a transport delivers, always on the loop and in stream order. A link is valid from its
// creation until its on_*_closed returns; the transport frees it then.
class SourceEvents {
 public:
  virtual ~SourceEvents() = default;
  virtual void on_source_reply(SourceLink* link, const drsim::v1::ReplicationReply& reply) = 0;
  virtual void on_source_write_done(SourceLink* link) = 0;
  virtual void on_source_closed(SourceLink* link, const Status& why) = 0;
};

class SinkEvents {
 public:
  virtual ~SinkEvents() = default;
  virtual void on_sink_frame(SinkLink* link, const drsim::v1::ReplicationFrame& frame) = 0;
  virtual void on_sink_closed(SinkLink* link) = 0;
};

// Opens the outgoing stream to the peer. Incoming streams reach the standby's SinkEvents from
// the transport's server side (gRPC: ReplicationService; simulation: the SimNetwork), which
// the process wires, not RegionNode.
class ReplicationTransport {
 public:
  virtual ~ReplicationTransport() = default;
  // Never null. A peer that cannot be reached shows as on_source_closed (UNAVAILABLE) later.
  virtual SourceLink* connect(const std::string& peer_address, SourceEvents& events) = 0;
};

}  // namespace drsim::region
