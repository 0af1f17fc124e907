#include "trafficmgr/dns_server.h"

#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/config/listen_address.h"
#include "common/net/close_on_exec.h"

namespace drsim::trafficmgr {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

// Binding port 0 for UDP and then the same number for TCP can lose a race with another
// process; a fresh ephemeral port a few times over settles it.
constexpr int kEphemeralBindAttempts = 10;

std::optional<asio::ip::address> parse_ip(const std::string& text) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return ip;
}

std::vector<uint8_t> address_bytes(const asio::ip::address& ip) {
  if (ip.is_v4()) {
    auto b = ip.to_v4().to_bytes();
    return {b.begin(), b.end()};
  }
  auto b = ip.to_v6().to_bytes();
  return {b.begin(), b.end()};
}

// DNS TTLs are whole seconds; rounding up never tells a client to re-resolve sooner than the
// profile says, rounding down would turn 500 ms into 0 (do not cache at all).
uint32_t ttl_seconds(uint64_t ttl_ms) {
  return static_cast<uint32_t>((ttl_ms + 999) / 1000);  // at most 2,147,483,647 (validated)
}

std::string peer_text(const asio::ip::address& ip, uint16_t port) {
  return config::join_host_port(ip.to_string(), port);
}

}  // namespace

Result<DnsServerConfig> make_dns_server_config(const std::string& listen,
                                               const TrafficManagerConfig& config) {
  DnsServerConfig out;
  auto listen_at = config::parse_host_port("--dns-listen", listen);
  if (!listen_at.is_ok()) return listen_at.status();
  auto listen_ip = parse_ip(listen_at->host);
  if (!listen_ip || !listen_ip->is_loopback()) {
    return invalid_argument("--dns-listen: '" + listen +
                            "': host must be a loopback IP address (127.0.0.0/8 or ::1)");
  }
  out.listen = listen;
  out.client_locations = config.client_locations;
  const bool flags = config.source == "flags";
  for (const ProfileSpec& spec : config.profiles) {
    const std::string& profile = spec.profile.name;
    auto parsed_name = model::parse_dns_name_text(spec.answered_dns_name());
    if (!parsed_name.is_ok()) {
      if (flags) return invalid_argument("--dns-name: " + parsed_name.status().message());
      return invalid_argument(config.source + ": profile \"" + profile +
                              "\": dns_name: " + parsed_name.status().message());
    }
    out.names.emplace_back(std::move(parsed_name).value(), profile);
    std::string& text = out.endpoint_address_text[profile];
    for (size_t i = 0; i < spec.profile.endpoints.size(); ++i) {
      const model::TmEndpoint& e = spec.profile.endpoints[i];
      if (e.kind == model::TmEndpointKind::kNested) continue;
      // The answer carries only an IP: DNS has no place for the port of the endpoint's
      // HOST:PORT (clients of the real service connect to a well-known port). dns_address
      // exists because every drsim region listens on 127.0.0.1, and a dig could not tell them
      // apart.
      std::string answer = spec.dns_answer(i);
      auto ip = parse_ip(answer);
      if (!ip) {
        std::string host = host_of_target(e.target);
        if (flags) {
          return invalid_argument("--dns-address: endpoint " + e.name + "'s host '" + host +
                                  "' is not an IP address; give --dns-address " + e.name + "=IP");
        }
        return invalid_argument(config.source + ": profile \"" + profile + "\": endpoints[" +
                                e.name + "].dns_address: the target's host '" + host +
                                "' is not an IP address; give dns_address");
      }
      out.endpoint_addresses[{profile, e.name}] = address_bytes(*ip);
      text += (text.empty() ? "" : ", ") + e.name + "=" + ip->to_string();
    }
  }
  return out;
}

// One TCP connection: length-prefixed queries answered in order, one at a time (RFC 7766
// allows pipelining; answering in order is the simple conforming choice).
class DnsServer::TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(std::shared_ptr<DnsServer> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), idle_(socket_.get_executor()) {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "?" : peer_text(remote.address(), remote.port());
    if (!ec) peer_ip_ = remote.address();
  }

  void start() { read_length(); }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    idle_.cancel();
  }

 private:
  void arm_idle() {
    idle_.expires_after(kTcpIdleTimeout);
    idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
  }

  void read_length() {
    arm_idle();
    asio::async_read(socket_, asio::buffer(length_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec || self->server_->stopped_) return self->close();
                       self->read_body();
                     });
  }

  void read_body() {
    size_t n = (static_cast<size_t>(length_[0]) << 8) | length_[1];
    // Too short for a header: no id to answer FORMERR with, and the stream has no other
    // framing to resynchronise on.
    if (n < model::kDnsHeaderBytes) return close();
    body_.resize(n);
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec || self->server_->stopped_) return self->close();
                       self->answer();
                     });
  }

  void answer() {
    auto reply = server_->respond(body_, model::DnsTransport::kTcp, peer_ip_, peer_);
    if (!reply) return close();  // a response sent to us: not a DNS client
    reply_.clear();
    reply_.push_back(static_cast<uint8_t>(reply->size() >> 8));
    reply_.push_back(static_cast<uint8_t>(reply->size()));
    reply_.insert(reply_.end(), reply->begin(), reply->end());
    asio::async_write(socket_, asio::buffer(reply_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (ec || self->server_->stopped_) return self->close();
                        self->read_length();
                      });
  }

  std::shared_ptr<DnsServer> server_;
  tcp::socket socket_;
  asio::steady_timer idle_;
  std::string peer_;
  asio::ip::address peer_ip_;
  std::array<uint8_t, 2> length_{};
  std::vector<uint8_t> body_;
  std::vector<uint8_t> reply_;  // the write in flight borrows it
};

DnsServer::DnsServer(asio::io_context& io, DnsServerConfig config, RoutingState& state)
    : io_(io),
      config_(std::move(config)),
      state_(state),
      log_(spdlog::default_logger()->clone("dns")),
      udp_(io),
      acceptor_(io) {}

Result<std::shared_ptr<DnsServer>> DnsServer::start(asio::io_context& io, DnsServerConfig config,
                                                    RoutingState& state) {
  auto listen_at = config::parse_host_port("--dns-listen", config.listen);
  DRSIM_CHECK(listen_at.is_ok());  // make_dns_server_config checked it
  auto host = parse_ip(listen_at->host);
  DRSIM_CHECK(host.has_value());
  const uint16_t port = listen_at->port;
  std::shared_ptr<DnsServer> server(new DnsServer(io, std::move(config), state));
  Status bound;
  for (int attempt = 0; attempt < (port == 0 ? kEphemeralBindAttempts : 1); ++attempt) {
    bound = server->bind(*host, port);
    if (bound.is_ok()) break;
  }
  if (!bound.is_ok()) return bound;
  server->receive_udp();
  server->accept_tcp();
  return server;
}

Status DnsServer::bind(const asio::ip::address& host, uint16_t port) {
  boost::system::error_code ec;
  udp_.close(ec);
  acceptor_.close(ec);
  auto fail = [&](const char* what) {
    return unavailable("--dns-listen: cannot " + std::string(what) + " " + config_.listen + ": " +
                       ec.message());
  };
  udp_.open(host.is_v4() ? udp::v4() : udp::v6(), ec);
  if (ec) return fail("open UDP socket for");
  net::set_close_on_exec(udp_.native_handle());
  udp_.bind(udp::endpoint(host, port), ec);
  if (ec) return fail("bind UDP");
  uint16_t bound_port = udp_.local_endpoint(ec).port();
  if (ec) return fail("read UDP port of");
  tcp::endpoint tcp_endpoint(host, bound_port);
  acceptor_.open(tcp_endpoint.protocol(), ec);
  if (ec) return fail("open TCP socket for");
  net::set_close_on_exec(acceptor_.native_handle());
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor_.bind(tcp_endpoint, ec);
  if (ec) return fail("bind TCP");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  address_ = peer_text(host, bound_port);
  return Status::ok();
}

void DnsServer::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->close();
  }
  sessions_.clear();
}

void DnsServer::receive_udp() {
  udp_.async_receive_from(
      asio::buffer(udp_buffer_), udp_peer_,
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        if (self->stopped_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          // E.g. ICMP port unreachable from an earlier reply: that client is gone; keep going.
          self->log_->debug("udp receive: {}", ec.message());
        } else {
          std::string peer = peer_text(self->udp_peer_.address(), self->udp_peer_.port());
          auto reply = self->respond(std::span<const uint8_t>(self->udp_buffer_.data(), n),
                                     model::DnsTransport::kUdp, self->udp_peer_.address(),
                                     peer);
          if (reply) {
            auto buffer = std::make_shared<std::vector<uint8_t>>(std::move(*reply));
            self->udp_.async_send_to(
                asio::buffer(*buffer), self->udp_peer_,
                [self, buffer, peer](const boost::system::error_code& send_ec, size_t) {
                  if (send_ec && send_ec != asio::error::operation_aborted) {
                    self->log_->debug("udp reply to {}: {}", peer, send_ec.message());
                  }
                });
          }
        }
        self->receive_udp();
      });
}

void DnsServer::accept_tcp() {
  acceptor_.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (self->stopped_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          self->log_->debug("tcp accept: {}", ec.message());
        } else {
          self->sessions_.remove_if([](const auto& weak) { return weak.expired(); });
          if (self->sessions_.size() >= kMaxTcpConnections) {
            self->log_->debug("tcp: {} connections open, refusing one more", kMaxTcpConnections);
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            auto session = std::make_shared<TcpSession>(self, std::move(socket));
            self->sessions_.push_back(session);
            session->start();
          }
        }
        self->accept_tcp();
      });
}

model::DnsLookup DnsServer::lookup(const model::DnsQuestion& question,
                                   const asio::ip::address& peer_ip,
                                   std::vector<std::pair<std::string, std::string>>* answered) {
  model::DnsLookup found;
  const std::string* profile = nullptr;
  for (const auto& [name, p] : config_.names) {
    if (model::dns_names_equal(name, question.name)) profile = &p;
  }
  if (!profile) {
    found.rcode = model::DnsRcode::kNxDomain;
    return found;
  }
  // DNS carries no client region: the source address stands for the client, as Azure's
  // resolver address does, and the configured client locations say where it is.
  std::optional<model::TmIpAddress> client_ip;
  std::string client_region;
  if (auto ip = model::parse_ip_address(peer_ip.to_string()); ip.is_ok()) {
    client_ip = *ip;
    for (const auto& location : config_.client_locations) {
      if (location.range.contains(*ip)) {
        client_region = location.region;
        break;
      }
    }
  }
  Resolved resolved = state_.resolve(*profile, client_region, client_ip);
  found.ttl_seconds = ttl_seconds(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(resolved.ttl).count()));
  switch (resolved.resolution.kind) {
    case model::TmResolutionKind::kNxDomain:
      found.rcode = model::DnsRcode::kNxDomain;
      break;
    case model::TmResolutionKind::kNoData:
      break;
    case model::TmResolutionKind::kAnswers:
      for (const auto& a : resolved.resolution.answers) {
        auto it = config_.endpoint_addresses.find({a.profile, a.endpoint});
        if (it == config_.endpoint_addresses.end()) continue;
        found.addresses.push_back(it->second);
        answered->emplace_back(resolved.profile, a.endpoint);
      }
      break;
  }
  return found;
}

std::optional<std::vector<uint8_t>> DnsServer::respond(std::span<const uint8_t> packet,
                                                       model::DnsTransport transport,
                                                       const asio::ip::address& peer_ip,
                                                       const std::string& peer) {
  std::vector<std::pair<std::string, std::string>> answered;
  auto reply = model::answer_dns_query(
      packet,
      [&](const model::DnsQuestion& q) { return lookup(q, peer_ip, &answered); },
      transport);
  if (reply && !answered.empty()) {
    if (auto header = model::parse_dns_header(*reply); header.is_ok() && header->ancount > 0) {
      for (const auto& [profile, endpoint] : answered) {
        state_.count_resolve(profile, endpoint, ResolveVia::kDns);
      }
    }
  }
  if (log_->should_log(spdlog::level::debug)) {
    const char* proto = transport == model::DnsTransport::kUdp ? "udp" : "tcp";
    auto query = model::parse_dns_query(packet);
    std::string asked = query.is_ok() ? query->question.name.to_string() + " type " +
                                            std::to_string(query->question.qtype)
                                      : "malformed (" + query.status().message() + ")";
    if (!reply) {
      log_->debug("{} {} bytes from {}: {}: dropped", proto, packet.size(), peer, asked);
    } else if (auto header = model::parse_dns_header(*reply); header.is_ok()) {
      log_->debug("{} {} from {}: {}{}", proto, asked, peer, model::dns_rcode_name(header->rcode),
                  header->tc ? " (truncated)" : "");
    }
  }
  return reply;
}

}  // namespace drsim::trafficmgr
