#include "common/net/grpc_util.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/config/listen_address.h"

namespace drsim::net {

namespace {
// A silent peer is noticed within time + timeout (about 1 s): drills measure seconds.
constexpr int kKeepaliveTimeMs = 500;
constexpr int kKeepaliveTimeoutMs = 500;
// Servers: pings closer than this without data are strikes (drsim's clients ping every 500 ms,
// so only a misbehaving client gets near it); this many strikes and the connection gets GOAWAY.
constexpr int kMinRecvPingIntervalMs = 100;
constexpr int kMaxPingStrikes = 2;
// A connection without a call for this long is closed (GOAWAY); its client reconnects on its
// next call. Every drsim channel in use calls more often (probes, lease renewals, streams).
constexpr int kMaxConnectionIdleMs = 5 * 60 * 1000;
}  // namespace

grpc::ChannelArguments channel_arguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Reconnect quickly after a region comes back: drills measure seconds (gRPC clamps the
  // initial backoff to at least 100 ms).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
  // But give each connection attempt time to finish: gRPC uses this as the *connect timeout*
  // (TCP + HTTP/2 SETTINGS). At 50 (clamped to 100) ms a loaded machine failed attempts with
  // "connection attempt timed out before receiving SETTINGS frame", and calls without
  // wait-for-ready failed long before their deadline. A refused or reset connection still
  // fails at once; a frozen or blackholed peer holds the attempt until this passes.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // HTTP/2 pings notice a peer that went silent (a blackhole partition, a frozen process):
  // without them a replication stream to a partitioned standby looks connected forever.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Each channel gets its own connection (no sharing between subchannels).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

std::shared_ptr<grpc::Channel> make_insecure_channel(const std::string& address) {
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   channel_arguments());
}

void configure_server(grpc::ServerBuilder& builder, const GrpcServerLimits& limits) {
  // A larger message is refused with RESOURCE_EXHAUSTED before it is parsed.
  builder.SetMaxReceiveMessageSize(limits.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  // SO_REUSEPORT would let two daemons share a port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Accept our clients' keepalive pings (every kKeepaliveTimeMs, also without calls), and
  // enforce it: a client that floods pings gets GOAWAY too_many_pings.
  static_assert(kMinRecvPingIntervalMs < kKeepaliveTimeMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kMinRecvPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, kMaxPingStrikes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
}

namespace {
// gRPC reports a failed bind only as "port 0"; find out whether it was in use.
std::string bind_probe(const config::HostPort& at) {
  const std::string host = at.host == "localhost" ? "127.0.0.1" : at.host;
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  sockaddr* sa = nullptr;
  socklen_t sa_bytes = 0;
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(at.port);
    sa = reinterpret_cast<sockaddr*>(&v4);
    sa_bytes = sizeof v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(at.port);
    sa = reinterpret_cast<sockaddr*>(&v6);
    sa_bytes = sizeof v6;
  } else {
    return "host '" + host + "' is not an IP address";
  }
  int fd = ::socket(sa->sa_family, SOCK_STREAM, 0);
  if (fd < 0) return "";
  std::string why;
  if (::bind(fd, sa, sa_bytes) != 0) {
    why = errno == EADDRINUSE ? "port " + std::to_string(at.port) + " is already in use"
                              : std::string(strerror(errno));
  }
  ::close(fd);
  return why;
}
}  // namespace

Result<StartedServer> start_server(grpc::ServerBuilder& builder, const std::string& address,
                                   const std::shared_ptr<grpc::ServerCredentials>& credentials,
                                   const GrpcServerLimits& limits) {
  auto at = config::parse_host_port("listen address", address);
  if (!at.is_ok()) return at.status();
  int selected_port = 0;
  builder.AddListeningPort(address, credentials, &selected_port);
  configure_server(builder, limits);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected_port == 0) {
    std::string why = bind_probe(*at);
    return unavailable("cannot listen on " + address + (why.empty() ? "" : ": " + why));
  }
  return StartedServer{std::move(server),
                       config::join_host_port(at->host, static_cast<uint16_t>(selected_port))};
}

}  // namespace drsim::net
