// DnsServer: the Traffic Manager's DNS front end, so `dig @127.0.0.1 -p PORT <name>` shows the
// route change during a failover. Serves UDP and TCP (2-byte length prefix, RFC 1035 4.2.2) on
// one loopback port on the loop's io_context; the answers are model::answer_dns_query's.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "common/core/status.h"
#include "common/model/dns_message.h"
#include "trafficmgr/routing_state.h"
#include "trafficmgr/traffic_manager_config.h"

namespace drsim::trafficmgr {

struct DnsServerConfig {
  std::string listen;  // loopback host:port; port 0 = ephemeral, shared by UDP and TCP
  model::DnsName name;
  // Endpoint name → the 4 (A) or 16 (AAAA) bytes its answer carries.
  std::map<std::string, std::vector<uint8_t>> endpoint_addresses;
  // For the start-up log: endpoint name → the address as text.
  std::map<std::string, std::string> endpoint_address_text;
};

// From the flags: `--dns-listen` (must be a loopback IP: DNS is for drills on this machine),
// `--dns-name`, and `--dns-address NAME=IP` (repeatable) overriding an endpoint's answer, which
// defaults to the host part of its HOST:PORT. INVALID_ARGUMENT naming the flag.
Result<DnsServerConfig> make_dns_server_config(const std::string& listen, const std::string& name,
                                               const std::vector<std::string>& dns_address_flags,
                                               const std::vector<EndpointSpec>& endpoints);

class DnsServer : public std::enable_shared_from_this<DnsServer> {
 public:
  // RFC 7766 6.2.3: close idle TCP connections after a few seconds; and cap how many there
  // are, so a client that opens connections and never writes cannot exhaust descriptors.
  static constexpr auto kTcpIdleTimeout = std::chrono::seconds(10);
  static constexpr size_t kMaxTcpConnections = 64;

  // Binds UDP and TCP and starts serving on `io` (loop thread). UNAVAILABLE naming the address
  // when it cannot bind. `state` must outlive the io_context's run.
  static Result<std::shared_ptr<DnsServer>> start(boost::asio::io_context& io,
                                                  DnsServerConfig config, RoutingState& state);

  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // "127.0.0.1:PORT", the same port for UDP and TCP.
  const std::string& address() const { return address_; }
  // Loop thread. Closes the sockets and every TCP connection; nothing is answered afterwards.
  void stop();

 private:
  class TcpSession;

  DnsServer(boost::asio::io_context& io, DnsServerConfig config, RoutingState& state);
  Status bind(const boost::asio::ip::address& host, uint16_t port);
  void receive_udp();
  void accept_tcp();
  // The reply to one packet from `peer` (for the debug log), or nullopt to drop it.
  std::optional<std::vector<uint8_t>> respond(std::span<const uint8_t> packet,
                                              model::DnsTransport transport,
                                              const std::string& peer);

  boost::asio::io_context& io_;
  const DnsServerConfig config_;
  RoutingState& state_;  // read, and counts the answers given
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string address_;
  // The largest UDP payload; queries are small, but one must never be read in part.
  std::array<uint8_t, 65535> udp_buffer_{};
  boost::asio::ip::udp::endpoint udp_peer_;
  std::list<std::weak_ptr<TcpSession>> sessions_;
  bool stopped_ = false;
};

}  // namespace drsim::trafficmgr
