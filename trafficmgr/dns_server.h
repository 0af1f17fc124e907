// DnsServer: the Traffic Manager's DNS front end, so `dig @127.0.0.1 -p PORT <name>` shows the
// route change during a failover. Serves UDP and TCP (2-byte length prefix, RFC 1035 4.2.2) on
// one loopback port on the loop's io_context. Each profile answers under its DNS name; every
// query is routed on its own (RoutingState::resolve, with the source address as the client's
// IP and its client location as the client's region) and encoded by model::answer_dns_query.
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
#include "common/model/dns/message.h"
#include "trafficmgr/routing_state.h"
#include "trafficmgr/traffic_manager_config.h"

namespace drsim::trafficmgr {

struct DnsServerConfig {
  std::string listen;  // loopback host:port; port 0 = ephemeral, shared by UDP and TCP
  // Each profile's DNS name and the profile's own name.
  std::vector<std::pair<model::DnsName, std::string>> names;
  // (profile, endpoint) → the 4 (A) or 16 (AAAA) bytes its answer carries.
  std::map<std::pair<std::string, std::string>, std::vector<uint8_t>> endpoint_addresses;
  // For the start-up log: profile → "endpoint=IP, …".
  std::map<std::string, std::string> endpoint_address_text;
  // Source address → client region (geographic codes, latency-table rows).
  std::vector<ClientLocation> client_locations;
};

// `--dns-listen` (must be a loopback IP: DNS is for drills on this machine) and every profile's
// DNS name and endpoint addresses (each endpoint's dns_address, default the host of its
// target, which must then be an IP). INVALID_ARGUMENT naming the flag or the file and field.
Result<DnsServerConfig> make_dns_server_config(const std::string& listen,
                                               const TrafficManagerConfig& config);

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
                                              const boost::asio::ip::address& peer_ip,
                                              const std::string& peer);
  // The routed answer for one question from `peer_ip`; `answered` gets (profile, endpoint)
  // of every address in it.
  model::DnsLookup lookup(const model::DnsQuestion& question,
                          const boost::asio::ip::address& peer_ip,
                          std::vector<std::pair<std::string, std::string>>* answered);

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
