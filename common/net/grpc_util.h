// Small helpers at the gRPC edge: Status conversion, deadlines, channel and
// server options with capped message sizes.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/core/status.h"

namespace drsim::net {

inline constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

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

// Applies drsim's limits to a server builder (message size caps).
void configure_server(grpc::ServerBuilder& builder);

// Builds and starts a server listening on `address` (port 0 = ephemeral) with `credentials`
// (Transport::server_credentials()).
// On failure (port in use, bad address) returns an error naming the address.
struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // with the bound port
};
Result<StartedServer> start_server(grpc::ServerBuilder& builder, const std::string& address,
                                   const std::shared_ptr<grpc::ServerCredentials>& credentials);

}  // namespace drsim::net
