// NEXT STEP of issue 12 (a sketch: nothing implements or includes this yet). The replication
// transport as an interface, so RegionNode runs unchanged over gRPC in the daemon and over
// in-memory links on the SimScheduler in `drsim sim`. Today SourceStream / SinkStream
// (replication_streams.h) are this transport's gRPC implementation, and RegionNode's
// on_source_* / on_sink_* are its event handlers; the move is to have RegionNode see only
// these types. Frames and replies stay drsim.v1 messages, so both transports carry the same
// bytes and the simulator exercises the real encoding.
#pragma once

#include <string>

#include "common/core/status.h"
#include "drsim/v1/replication.pb.h"

namespace drsim::region {

// One replication stream as the source (active) region sees it: frames out, replies in. A link
// allows one write in flight; the implementation queues behind it (where batching belongs).
// Loop thread only.
class SourceLink {
 public:
  virtual ~SourceLink() = default;
  virtual void send(drsim::v1::ReplicationFrame frame) = 0;
  virtual bool write_in_flight() const = 0;
  // Ends the stream; SourceEvents::on_closed follows (on a later loop turn).
  virtual void cancel() = 0;
};

// The same stream as the sink (standby) region sees it: frames in, replies out.
class SinkLink {
 public:
  virtual ~SinkLink() = default;
  virtual void send(drsim::v1::ReplicationReply reply) = 0;
  // Finishes the stream with `status` once the queued replies are written.
  virtual void close(const Status& status) = 0;
  virtual const std::string& peer() const = 0;
};

// What a transport delivers, always on the loop and in stream order; a link is valid from its
// creation until its on_closed returns.
class SourceEvents {
 public:
  virtual ~SourceEvents() = default;
  virtual void on_reply(SourceLink& link, const drsim::v1::ReplicationReply& reply) = 0;
  virtual void on_write_done(SourceLink& link) = 0;
  virtual void on_closed(SourceLink& link, const Status& why) = 0;
};

class SinkEvents {
 public:
  virtual ~SinkEvents() = default;
  virtual void on_frame(SinkLink& link, const drsim::v1::ReplicationFrame& frame) = 0;
  virtual void on_closed(SinkLink& link) = 0;
};

// Opens the outgoing stream to the peer and hands incoming streams to `sink_events`.
// gRPC: a Replication stub per peer address and the ReplicationService. Simulation: a pair of
// in-memory queues per stream whose delivery the SimScheduler times and the nemesis may delay,
// drop (partition) or cut (reset).
class ReplicationTransport {
 public:
  virtual ~ReplicationTransport() = default;
  // The link stays owned by the transport; UNAVAILABLE when `peer_address` cannot be dialled.
  virtual Result<SourceLink*> connect(const std::string& peer_address, SourceEvents& events) = 0;
  virtual void accept(SinkEvents& sink_events) = 0;
};

}  // namespace drsim::region
