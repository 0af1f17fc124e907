#include "common/net/dns_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "common/config/listen_address.h"

namespace drsim::net {

namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

uint16_t next_id() {
  static std::atomic<uint32_t> counter{static_cast<uint32_t>(::getpid()) * 7919u};
  return static_cast<uint16_t>(counter.fetch_add(1));
}

std::string address_text(const std::vector<uint8_t>& rdata) {
  char text[INET6_ADDRSTRLEN] = {};
  if (rdata.size() == 4) {
    ::inet_ntop(AF_INET, rdata.data(), text, sizeof text);
  } else if (rdata.size() == 16) {
    ::inet_ntop(AF_INET6, rdata.data(), text, sizeof text);
  }
  return text;
}

}  // namespace

Result<DnsClientAnswer> dns_query_udp(const std::string& server, const std::string& name,
                                      uint16_t qtype, std::chrono::milliseconds timeout,
                                      const std::string& source_ip) {
  auto at = config::parse_host_port("dns server", server, config::PortZero::kRefused);
  if (!at.is_ok()) return at.status();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (::inet_pton(AF_INET, at->host.c_str(), &to.sin_addr) != 1) {
    return invalid_argument("dns server '" + server + "' is not IPv4:PORT");
  }
  to.sin_port = htons(at->port);
  auto parsed = model::parse_dns_name_text(name);
  if (!parsed.is_ok()) return parsed.status();

  Socket fd(::socket(AF_INET, SOCK_DGRAM, 0));
  if (fd.get() < 0) return unavailable(std::string("dns socket: ") + std::strerror(errno));
  if (!source_ip.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source_ip.c_str(), &from.sin_addr) != 1) {
      return invalid_argument("dns source '" + source_ip + "' is not an IPv4 address");
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      return unavailable("dns bind " + source_ip + ": " + std::strerror(errno));
    }
  }
  const uint16_t id = next_id();
  auto query = model::encode_dns_query(id, model::DnsQuestion{*parsed, qtype, model::kDnsClassIn});
  if (::sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) != static_cast<ssize_t>(query.size())) {
    return unavailable("dns send to " + server + ": " + std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<uint8_t> reply(65535);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return Status(StatusCode::kDeadlineExceeded,
                    "no dns reply from " + server + " within " + std::to_string(timeout.count()) +
                        " ms");
    }
    ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
    if (n < 0) return unavailable("dns receive from " + server + ": " + std::strerror(errno));
    auto message = model::parse_dns_message(std::span<const uint8_t>(reply.data(), n));
    if (!message.is_ok()) return message.status();
    if (message->header.id != id || !message->header.qr) continue;  // a stray datagram
    DnsClientAnswer answer;
    answer.rcode = message->header.rcode;
    bool first = true;
    for (const auto& rr : message->answers) {
      if (rr.type != model::kDnsTypeA && rr.type != model::kDnsTypeAaaa) continue;
      answer.addresses.push_back(address_text(rr.rdata));
      answer.ttl_seconds = first ? rr.ttl_seconds : std::min(answer.ttl_seconds, rr.ttl_seconds);
      first = false;
    }
    return answer;
  }
}

}  // namespace drsim::net
