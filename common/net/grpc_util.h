// Small helpers at the gRPC edge: Status conversion, deadlines, channel and
// server options with capped message sizes.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/core/status.h"

namespace drsim::net {

// What a channel accepts in a response, and what any server may send: the largest answers are
// a region's ReadDisk pages and list calls.
inline constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

// What a daemon's gRPC server accepts from its callers (docs/security.md, "Limits"): each server
// is started with one of these (start_server), and configure_server applies it with the
// connection rules every server shares. gRPC C++ has one receive limit per server, so a region
// daemon, which serves replication beside its workload and admin calls, gets the replication
// limit; its other services check their fields (names, key and value sizes, counts).
struct GrpcServerLimits {
  int max_receive_message_bytes = 0;
  // Concurrent calls on one HTTP/2 connection (a stream each); more wait for a slot.
  int max_concurrent_streams = 128;
};

// A region daemon: its largest legitimate request is a replication frame, and a frame is not
// bounded below what a channel may send (kMaxMessageBytes): the source cuts a change batch at
// 4 MiB only between workloads, and one workload's range holds up to --max-batch-changes changes
// (1024) of up to --max-value-bytes (1 MiB, at most 8 MiB) each. A re-protect's snapshot chunk is
// at most 1 MiB plus one entry, a geo backup chunk up to 1000 entries. So the region keeps the
// channel's 16 MiB (docs/security.md, "Limits", says what bounding frames would take).
inline constexpr GrpcServerLimits kRegionServerLimits{kMaxMessageBytes};
// The Traffic Manager and the fault proxy: control calls of names, latencies and fault settings
// (the largest, a lease renewal or SetFault, is under 200 bytes).
inline constexpr GrpcServerLimits kControlServerLimits{64 * 1024};

inline grpc::Status to_grpc(const Status& s) {
  return s.is_ok() ? grpc::Status::OK
                   : grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}
inline Status from_grpc(const grpc::Status& s) {
  return s.ok() ? Status::ok()
                : Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

inline void set_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds d) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

// drsim's channel arguments: capped message sizes, fast reconnects, keepalive pings. Every
// channel is made with them (Transport::channel, transport.h).
grpc::ChannelArguments channel_arguments();

// A plain-TCP channel with channel_arguments(): for tests and tools that talk to daemons started
// with --insecure (loopback only). Daemons and the CLI dial through a net::Transport.
std::shared_ptr<grpc::Channel> make_insecure_channel(const std::string& address);

// Applies `limits` and the rules every server shares to a builder: the receive cap, the stream
// cap per connection, keepalive enforcement (a client pinging more often than every 100 ms
// without data gets GOAWAY after 2 such pings) and idle connections closed after 5 minutes.
void configure_server(grpc::ServerBuilder& builder, const GrpcServerLimits& limits);

// Builds and starts a server listening on `address` (port 0 = ephemeral) with `credentials`
// (Transport::server_credentials()).
// On failure (port in use, bad address) returns an error naming the address.
struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // with the bound port
};
Result<StartedServer> start_server(grpc::ServerBuilder& builder, const std::string& address,
                                   const std::shared_ptr<grpc::ServerCredentials>& credentials,
                                   const GrpcServerLimits& limits);

}  // namespace drsim::net
