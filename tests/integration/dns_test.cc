// drsim-trafficmgr's DNS server end to end: the real binary with --dns-listen 127.0.0.1:0,
// probing two in-test regions (gRPC servers running HealthService) whose DNS answers are
// 127.0.0.11 and 127.0.0.12, queried over real UDP and TCP sockets on loopback (and with dig
// when installed). Every wait is bounded; the daemon is stopped by PID.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/model/dns/message.h"
#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "tests/integration/trafficmgr_fixture.h"
#include "tests/integration/run_command.h"

extern char** environ;

namespace drsim {
namespace {

using namespace tmtest;

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

constexpr const char* kDnsName = "drsim.trafficmanager.test";
constexpr const char* kDigPath = "/usr/bin/dig";

// A socket closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void set_receive_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// One UDP datagram to 127.0.0.1:port and the reply, or nullopt when none came within `timeout`.
std::optional<Bytes> udp_exchange(uint16_t port, const Bytes& packet,
                                  std::chrono::milliseconds timeout = 1s) {
  Fd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  if (fd.get() < 0) return std::nullopt;
  set_receive_timeout(fd.get(), timeout);
  sockaddr_in to = loopback(port);
  if (::sendto(fd.get(), packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) != static_cast<ssize_t>(packet.size())) {
    return std::nullopt;
  }
  Bytes reply(65535);
  ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
  if (n < 0) return std::nullopt;
  reply.resize(static_cast<size_t>(n));
  return reply;
}

bool read_exactly(int fd, uint8_t* out, size_t n) {
  while (n > 0) {
    ssize_t got = ::recv(fd, out, n, 0);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// One length-prefixed query over a fresh TCP connection and its reply.
std::optional<Bytes> tcp_exchange(uint16_t port, const Bytes& packet) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  if (fd.get() < 0) return std::nullopt;
  set_receive_timeout(fd.get(), 2s);
  sockaddr_in to = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return std::nullopt;
  Bytes framed{static_cast<uint8_t>(packet.size() >> 8), static_cast<uint8_t>(packet.size())};
  framed.insert(framed.end(), packet.begin(), packet.end());
  if (::send(fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(framed.size())) {
    return std::nullopt;
  }
  uint8_t length[2];
  if (!read_exactly(fd.get(), length, 2)) return std::nullopt;
  Bytes reply((static_cast<size_t>(length[0]) << 8) | length[1]);
  if (!read_exactly(fd.get(), reply.data(), reply.size())) return std::nullopt;
  return reply;
}

model::DnsQuestion question(const std::string& name, uint16_t qtype = model::kDnsTypeA) {
  auto parsed = model::parse_dns_name_text(name);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().message();
  return {parsed.is_ok() ? *parsed : model::DnsName{}, qtype, model::kDnsClassIn};
}

std::optional<model::DnsMessage> parse(const std::optional<Bytes>& reply) {
  if (!reply) return std::nullopt;
  auto m = model::parse_dns_message(*reply);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  if (!m.is_ok()) return std::nullopt;
  return *m;
}

// "127.0.0.11" from an A record's rdata.
std::string ipv4_text(const Bytes& rdata) {
  if (rdata.size() != 4) return "<" + std::to_string(rdata.size()) + " bytes>";
  return std::to_string(rdata[0]) + "." + std::to_string(rdata[1]) + "." +
         std::to_string(rdata[2]) + "." + std::to_string(rdata[3]);
}

using inttest::run_command;

std::string json_string_field(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  auto begin = at + key.size() + 4;
  return json.substr(begin, json.find('"', begin) - begin);
}

class DnsServerTest : public TrafficManagerFixture {
 protected:
  DnsServerTest() : TrafficManagerFixture("drsim-dns-test") {}

  void start_daemon(const std::string& ttl_ms = "1500") {
    fs::path ready = dir_ / "ready.json";
    // Flag / value pairs, one per line.
    // clang-format off
    std::vector<std::string> args{
        "--listen", "127.0.0.1:0",
        "--insecure",
        "--endpoint", "primary=" + primary_.address(),
        "--endpoint", "secondary=" + secondary_.address(),
        "--dns-listen", "127.0.0.1:0",
        "--dns-address", "primary=127.0.0.11",
        "--dns-address", "secondary=127.0.0.12",
        "--probe-interval-ms", "50",
        "--probe-timeout-ms", "40",
        "--tolerated-failures", "1",
        "--ttl-ms", ttl_ms,
        "--ready-file", ready.string(),
        "--log-level", "debug"};
    // clang-format on
    process_ = std::make_unique<TrafficManagerProcess>(args, dir_);
    ASSERT_GT(process_->pid(), 0) << "cannot spawn " << DRSIM_TRAFFICMGR_BIN;
    ASSERT_TRUE(wait_until([&] { return fs::exists(ready); }))
        << "no ready file within 10 s; log:\n"
        << process_->log();
    ready_json_ = read_file(ready);
    dns_address_ = json_string_field(ready_json_, "dns_address");
    ASSERT_EQ(dns_address_.rfind("127.0.0.1:", 0), 0u) << ready_json_;
    dns_port_ = static_cast<uint16_t>(std::stoi(dns_address_.substr(10)));
    ASSERT_NE(dns_port_, 0);
  }

  std::optional<model::DnsMessage> query(const std::string& name,
                                         uint16_t qtype = model::kDnsTypeA) {
    return parse(
        udp_exchange(dns_port_, model::encode_dns_query(next_id_++, question(name, qtype))));
  }

  // The A record answered for kDnsName now, "" when there is none.
  std::string answered_ip() {
    auto reply = query(kDnsName);
    if (!reply || reply->answers.size() != 1) return "";
    return ipv4_text(reply->answers[0].rdata);
  }

  std::string ready_json_;
  std::string dns_address_;
  uint16_t dns_port_ = 0;
  uint16_t next_id_ = 100;
};

TEST_F(DnsServerTest, ReadyFileAndLogNameTheDnsAddress) {
  start_daemon();
  EXPECT_NE(ready_json_.find("\"address\":\"127.0.0.1:"), std::string::npos) << ready_json_;
  EXPECT_NE(process_->log().find("dns serving drsim.trafficmanager.test. on " + dns_address_),
            std::string::npos)
      << process_->log();
}

TEST_F(DnsServerTest, AnswersTheRoutedEndpointsAddressWithTheTtlRoundedUp) {
  start_daemon("1500");
  auto reply = query(kDnsName);
  ASSERT_TRUE(reply.has_value()) << "no UDP answer from " << dns_address_;
  EXPECT_TRUE(reply->header.qr);
  EXPECT_TRUE(reply->header.aa);
  EXPECT_TRUE(reply->header.rd);
  EXPECT_FALSE(reply->header.ra);
  EXPECT_EQ(reply->header.rcode, 0);
  ASSERT_EQ(reply->answers.size(), 1u);
  EXPECT_EQ(reply->answers[0].type, model::kDnsTypeA);
  EXPECT_EQ(ipv4_text(reply->answers[0].rdata), "127.0.0.11");
  EXPECT_EQ(reply->answers[0].ttl_seconds, 2u);  // 1500 ms rounded up
  // Case-insensitive, trailing dot optional.
  auto upper = query("DRSIM.TrafficManager.Test.");
  ASSERT_TRUE(upper.has_value());
  ASSERT_EQ(upper->answers.size(), 1u);
  EXPECT_EQ(ipv4_text(upper->answers[0].rdata), "127.0.0.11");
}

TEST_F(DnsServerTest, TtlZeroStaysZero) {
  start_daemon("0");
  auto reply = query(kDnsName);
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->answers.size(), 1u);
  EXPECT_EQ(reply->answers[0].ttl_seconds, 0u);
}

TEST_F(DnsServerTest, AnswerMovesToTheSecondaryWhenThePrimaryStopsServingAndBack) {
  start_daemon();
  ASSERT_EQ(answered_ip(), "127.0.0.11");
  primary_.set_serving(HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(wait_until([&] { return answered_ip() == "127.0.0.12"; }))
      << "DNS still answers " << answered_ip() << " 10 s after the primary stopped serving";
  primary_.set_serving(HealthCheckResponse::SERVING);
  EXPECT_TRUE(wait_until([&] { return answered_ip() == "127.0.0.11"; }))
      << "DNS still answers " << answered_ip() << " 10 s after the primary came back";
}

TEST_F(DnsServerTest, OtherNameIsNxdomainAndAaaaIsNodata) {
  start_daemon();
  auto other = query("other.trafficmanager.test");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->header.rcode, static_cast<uint8_t>(model::DnsRcode::kNxDomain));
  EXPECT_TRUE(other->answers.empty());
  auto aaaa = query(kDnsName, model::kDnsTypeAaaa);
  ASSERT_TRUE(aaaa.has_value());
  EXPECT_EQ(aaaa->header.rcode, static_cast<uint8_t>(model::DnsRcode::kNoError));
  EXPECT_TRUE(aaaa->answers.empty());
}

TEST_F(DnsServerTest, MalformedPacketsGetFormErrOrNothingAndTheServerKeepsAnswering) {
  start_daemon();
  // A readable header (id 0x7777, qdcount 1) and a question whose pointer loops on itself.
  Bytes looped{0x77, 0x77, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  auto formerr = parse(udp_exchange(dns_port_, looped));
  ASSERT_TRUE(formerr.has_value());
  EXPECT_EQ(formerr->header.id, 0x7777);
  EXPECT_EQ(formerr->header.rcode, static_cast<uint8_t>(model::DnsRcode::kFormErr));
  // Shorter than a header: no id to answer with, so no answer.
  EXPECT_FALSE(udp_exchange(dns_port_, Bytes{1, 2, 3}, 300ms).has_value());
  EXPECT_FALSE(udp_exchange(dns_port_, Bytes{}, 300ms).has_value());
  // Garbage over TCP: the connection is closed, nothing crashes.
  EXPECT_FALSE(tcp_exchange(dns_port_, Bytes{9}).has_value());
  EXPECT_EQ(answered_ip(), "127.0.0.11");
  EXPECT_FALSE(process_->wait_exit(0ms).has_value()) << "the daemon exited";
}

TEST_F(DnsServerTest, TcpQueryIsAnswered) {
  start_daemon();
  auto reply = parse(tcp_exchange(dns_port_, model::encode_dns_query(42, question(kDnsName))));
  ASSERT_TRUE(reply.has_value()) << "no TCP answer from " << dns_address_;
  EXPECT_EQ(reply->header.id, 42);
  EXPECT_EQ(reply->header.rcode, 0);
  ASSERT_EQ(reply->answers.size(), 1u);
  EXPECT_EQ(ipv4_text(reply->answers[0].rdata), "127.0.0.11");
}

TEST_F(DnsServerTest, DigShowsTheAnswerChangeDuringAFailover) {
  if (!fs::exists(kDigPath)) FAIL() << kDigPath << " not installed (bind9-dnsutils)"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  start_daemon();
  std::string dig = std::string(kDigPath) + " @127.0.0.1 -p " + std::to_string(dns_port_) + " " +
                    kDnsName + " +short +time=2 +tries=1";
  EXPECT_EQ(run_command(dig), "127.0.0.11\n");
  EXPECT_EQ(run_command(dig + " +tcp"), "127.0.0.11\n");
  primary_.set_serving(HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(wait_until([&] { return answered_ip() == "127.0.0.12"; }));
  EXPECT_EQ(run_command(dig), "127.0.0.12\n");
  std::string nx = run_command(std::string(kDigPath) + " @127.0.0.1 -p " +
                               std::to_string(dns_port_) + " nope.test +time=2 +tries=1");
  EXPECT_NE(nx.find("status: NXDOMAIN"), std::string::npos) << nx;
}

TEST_F(DnsServerTest, BadDnsFlagExitsTwoNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<Case> cases{
      {{"--endpoint", "a=127.0.0.1:1", "--dns-listen", "10.1.2.3:53"}, "--dns-listen"},
      {{"--endpoint", "a=127.0.0.1:1", "--dns-listen", "127.0.0.1:0", "--dns-address", "b=1.2.3.4"},
       "--dns-address"},
      {{"--endpoint", "a=127.0.0.1:1", "--dns-listen", "127.0.0.1:0", "--dns-address", "a=nope"},
       "--dns-address"},
      {{"--endpoint", "a=localhost:1", "--dns-listen", "127.0.0.1:0"}, "--dns-address a=IP"},
      {{"--endpoint", "a=127.0.0.1:1", "--dns-listen", "127.0.0.1:0", "--dns-name", "a..b"},
       "--dns-name"},
      {{"--endpoint", "a=127.0.0.1:1", "--dns-name", "x.test"}, "need --dns-listen"},
  };
  for (const auto& c : cases) {
    TrafficManagerProcess p(c.args, dir_);
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(p.wait_exit(5s), std::optional<int>(2)) << c.expected;
    EXPECT_NE(p.log().find(c.expected), std::string::npos) << p.log();
  }
}

}  // namespace
}  // namespace drsim
