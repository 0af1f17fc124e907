// drsim-faultproxy end to end: the real binary on 127.0.0.1 port 0, its links forwarding to an
// in-test TCP echo server, faulted through the FaultProxy API and checked from a plain socket
// client. Every wait is bounded; the daemon is stopped by PID (SIGTERM, then SIGKILL).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/config/listen_address.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/faultproxy.grpc.pb.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace drsim {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kWaitLimit = 10s;

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = kWaitLimit) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The upstream: echoes every byte back, on its own io_context thread.
class EchoServer {
 public:
  EchoServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoServer() {
    io_.stop();
    thread_.join();
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(tcp::socket s) : socket(std::move(s)) {}
    void read() {
      socket.async_read_some(asio::buffer(buf), [self = shared_from_this()](auto ec, size_t n) {
        if (ec) return;
        asio::async_write(self->socket, asio::buffer(self->buf, n), [self](auto wec, size_t) {
          if (!wec) self->read();
        });
      });
    }
    tcp::socket socket;
    std::array<char, 16384> buf;
  };
  void accept() {
    acceptor_.async_accept([this](auto ec, tcp::socket s) {
      if (ec) return;
      std::make_shared<Session>(std::move(s))->read();
      accept();
    });
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// A blocking client socket with bounded reads, to "IPv4:port" or "[IPv6]:port".
class Client {
 public:
  explicit Client(const std::string& address) {
    auto at = config::parse_host_port("link address", address, config::PortZero::kRefused);
    EXPECT_TRUE(at.is_ok()) << at.status().message();
    if (!at.is_ok()) return;
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(at->port);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(at->port);
    const bool is_v6 = ::inet_pton(AF_INET6, at->host.c_str(), &v6.sin6_addr) == 1;
    if (!is_v6) ::inet_pton(AF_INET, at->host.c_str(), &v4.sin_addr);
    fd_ = ::socket(is_v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connected_ = is_v6 ? ::connect(fd_, reinterpret_cast<sockaddr*>(&v6), sizeof v6) == 0
                       : ::connect(fd_, reinterpret_cast<sockaddr*>(&v4), sizeof v4) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  bool send_all(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes within `limit`; nullopt on timeout, EOF or error (see closed()).
  std::optional<std::string> read_exact(size_t n, std::chrono::milliseconds limit) {
    std::string out;
    auto end = Clock::now() + limit;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left <= 0ms) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[65536];
      ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) {
        closed_ = true;
        return std::nullopt;
      }
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  // True once the peer closed or reset within `limit`.
  bool wait_closed(std::chrono::milliseconds limit) {
    auto end = Clock::now() + limit;
    while (!closed_ && Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      if (::recv(fd_, buf, sizeof buf, 0) <= 0) closed_ = true;
    }
    return closed_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

// The drsim-faultproxy process, spawned with posix_spawn (no fork after threads exist).
class FaultProxyProcess {
 public:
  FaultProxyProcess(std::vector<std::string> args, const fs::path& dir) {
    log_path_ = dir / "faultproxy.log";
    args.insert(args.begin(), DRSIM_FAULTPROXY_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, DRSIM_FAULTPROXY_BIN, &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~FaultProxyProcess() { stop(); }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_path_); }

  // The exit status once it exits by itself within `limit`; nullopt if it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return exit_code_;
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  // SIGTERM, then SIGKILL after 5 s. The exit status when it exited by itself.
  std::optional<int> stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    if (auto code = wait_exit(5s)) return code;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return std::nullopt;
  }

 private:
  fs::path log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("drsim-fp-test");
    ASSERT_FALSE(dir_.empty()) << "cannot make a directory under " << fs::temp_directory_path();
    fs::path ready = dir_ / "ready.json";
    process_ = std::make_unique<FaultProxyProcess>(
        std::vector<std::string>{"--listen", listen_flag(), "--insecure", "--ready-file",
                                 ready.string(), "--seed", "7", "--log-level", "debug"},
        dir_);
    ASSERT_GT(process_->pid(), 0) << "cannot spawn " << DRSIM_FAULTPROXY_BIN;
    ASSERT_TRUE(wait_until([&] { return fs::exists(ready); }))
        << "no ready file within 10 s; log:\n"
        << process_->log();
    std::string json = read_file(ready);
    auto key = json.find("\"address\":\"");
    ASSERT_NE(key, std::string::npos) << json;
    auto begin = key + 11;
    address_ = json.substr(begin, json.find('"', begin) - begin);
    stub_ = v1::FaultProxy::NewStub(net::make_insecure_channel(address_));
  }
  // The proxy's --listen; its links listen on the same host.
  virtual std::string listen_flag() const { return "127.0.0.1:0"; }
  // What --listen's host looks like at the head of an address the proxy answers.
  virtual std::string answered_host() const { return "127.0.0.1:"; }
  void TearDown() override {
    if (HasFailure() && process_) std::cerr << "--- drsim-faultproxy log ---\n" << process_->log();
    // The control channel goes first: an open one makes the daemon's Shutdown wait out its grace.
    stub_.reset();
    if (process_) {
      EXPECT_EQ(process_->stop(), std::optional<int>(0)) << "daemon did not exit 0 on SIGTERM";
    }
    process_.reset();
    testing::remove_test_dir(dir_);
  }

  grpc::Status add_link(const std::string& name, const std::string& upstream,
                        std::string* listen = nullptr) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::AddLinkRequest req;
    req.set_name(name);
    req.set_upstream(upstream);
    v1::AddLinkResponse resp;
    auto s = stub_->AddLink(&ctx, req, &resp);
    if (listen) *listen = resp.listen_address();
    return s;
  }
  // A link "db" to the echo server; returns its listen address.
  std::string add_echo_link() {
    std::string listen;
    auto s = add_link("db", echo_.address(), &listen);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(listen.rfind(answered_host(), 0), 0u) << listen;
    return listen;
  }
  grpc::Status set_fault(const std::string& link, v1::Direction dir, const v1::Fault& fault) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::SetFaultRequest req;
    req.set_link(link);
    req.set_direction(dir);
    *req.mutable_fault() = fault;
    v1::SetFaultResponse resp;
    return stub_->SetFault(&ctx, req, &resp);
  }
  grpc::Status heal(const std::string& link, bool all = false) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::HealRequest req;
    req.set_link(link);
    req.set_all(all);
    v1::HealResponse resp;
    return stub_->Heal(&ctx, req, &resp);
  }
  v1::ListLinksResponse list() {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::ListLinksResponse resp;
    auto s = stub_->ListLinks(&ctx, v1::ListLinksRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  static v1::Fault latency(uint32_t ms, uint32_t jitter_ms = 0) {
    v1::Fault f;
    f.mutable_latency()->set_latency_ms(ms);
    f.mutable_latency()->set_jitter_ms(jitter_ms);
    return f;
  }
  static v1::Fault partition(v1::PartitionMode mode) {
    v1::Fault f;
    f.mutable_partition()->set_mode(mode);
    return f;
  }

  // Sends `data` and waits for its echo; returns the round trip or nullopt.
  static std::optional<Clock::duration> round_trip(Client& c, const std::string& data) {
    auto start = Clock::now();
    if (!c.send_all(data)) return std::nullopt;
    auto echoed = c.read_exact(data.size(), 5s);
    if (!echoed || *echoed != data) return std::nullopt;
    return Clock::now() - start;
  }

  fs::path dir_;
  std::string address_;  // where the control service answers (its ready file)
  EchoServer echo_;
  std::unique_ptr<FaultProxyProcess> process_;
  std::unique_ptr<v1::FaultProxy::Stub> stub_;
};

TEST_F(FaultProxyTest, ForwardsBothWaysAndCounts) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(round_trip(c, "hello"));
  ASSERT_TRUE(round_trip(c, std::string(200000, 'x')));
  // The proxy counts a chunk once its write to the client completed, which may be just after
  // the client has read it.
  EXPECT_TRUE(wait_until([&] { return list().links(0).down().bytes() == 200005u; }, 2s));
  auto links = list();
  ASSERT_EQ(links.links_size(), 1);
  const auto& l = links.links(0);
  EXPECT_EQ(l.name(), "db");
  EXPECT_EQ(l.listen_address(), listen);
  EXPECT_EQ(l.upstream(), echo_.address());
  EXPECT_EQ(l.connections_total(), 1u);
  EXPECT_EQ(l.connections_open(), 1u);
  EXPECT_EQ(l.up().bytes(), 200005u);
  EXPECT_EQ(l.down().bytes(), 200005u);
  EXPECT_EQ(l.up().faults_size(), 0);
}

TEST_F(FaultProxyTest, LatencyAddsToTheRoundTrip) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(round_trip(c, "warm-up"));
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_UP, latency(100)).ok());
  auto rtt = round_trip(c, "ping");
  ASSERT_TRUE(rtt);
  EXPECT_GE(*rtt, 100ms);
  EXPECT_LT(*rtt, 1s);
  // Both ways: at least twice the latency.
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_BOTH, latency(100, 20)).ok());
  rtt = round_trip(c, "ping2");
  ASSERT_TRUE(rtt);
  EXPECT_GE(*rtt, 160ms);
  auto links = list();
  ASSERT_EQ(links.links(0).down().faults_size(), 1);
  EXPECT_EQ(links.links(0).down().faults(0).latency().jitter_ms(), 20u);
  ASSERT_TRUE(heal("db").ok());
  rtt = round_trip(c, "ping3");
  ASSERT_TRUE(rtt);
  EXPECT_LT(*rtt, 100ms);
}

TEST_F(FaultProxyTest, JitterKeepsTheByteOrder) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_BOTH, latency(20, 20)).ok());
  std::string sent;
  for (int i = 0; i < 200; ++i) {
    std::string piece = std::to_string(i) + ",";
    ASSERT_TRUE(c.send_all(piece));
    sent += piece;
    std::this_thread::sleep_for(1ms);
  }
  auto echoed = c.read_exact(sent.size(), 5s);
  ASSERT_TRUE(echoed);
  EXPECT_EQ(*echoed, sent);
}

TEST_F(FaultProxyTest, BlackholeHoldsUntilHeal) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(round_trip(c, "before"));
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_BOTH, partition(v1::PARTITION_BLACKHOLE)).ok());
  ASSERT_TRUE(c.send_all("held"));
  EXPECT_FALSE(c.read_exact(4, 400ms)) << "bytes crossed a blackhole partition";
  // New connections are accepted (and held) too.
  Client c2(listen);
  EXPECT_TRUE(c2.connected());
  auto links = list();
  EXPECT_EQ(links.links(0).up().queued_bytes(), 4u);
  ASSERT_TRUE(heal("", /*all=*/true).ok());
  auto echoed = c.read_exact(4, 2s);
  ASSERT_TRUE(echoed) << "held bytes not released by heal";
  EXPECT_EQ(*echoed, "held");
  EXPECT_TRUE(round_trip(c, "after"));
  EXPECT_TRUE(round_trip(c2, "second"));
}

TEST_F(FaultProxyTest, DropPartitionResetsNewConnections) {
  std::string listen = add_echo_link();
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_UP, partition(v1::PARTITION_DROP)).ok());
  Client c(listen);
  EXPECT_TRUE(c.wait_closed(2s)) << "connection not reset under a drop partition";
  ASSERT_TRUE(heal("db").ok());
  Client c2(listen);
  ASSERT_TRUE(c2.connected());
  EXPECT_TRUE(round_trip(c2, "ok"));
  EXPECT_GE(list().links(0).connections_reset(), 1u);
}

// A drop partition must not eat bytes out of a live connection (that corrupts HTTP/2 and hangs
// gRPC streams); it resets the connection instead, and the client reconnects after heal.
TEST_F(FaultProxyTest, DropPartitionResetsOpenConnections) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(round_trip(c, "before"));
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_DOWN, partition(v1::PARTITION_DROP)).ok());
  EXPECT_TRUE(c.wait_closed(2s)) << "open connection survived a drop partition";
  ASSERT_TRUE(heal("db").ok());
  Client c2(listen);
  ASSERT_TRUE(c2.connected());
  EXPECT_TRUE(round_trip(c2, "after"));
}

TEST_F(FaultProxyTest, ResetClosesTheClientConnection) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(round_trip(c, "alive"));
  v1::Fault f;
  f.mutable_reset()->set_mode(v1::RESET_ONCE);
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_BOTH, f).ok());
  EXPECT_TRUE(c.wait_closed(2s)) << "connection survived a reset";
  // RESET_ONCE leaves new connections alone.
  Client c2(listen);
  ASSERT_TRUE(c2.connected());
  EXPECT_TRUE(round_trip(c2, "new"));
  EXPECT_TRUE(wait_until([&] { return list().links(0).connections_reset() == 1u; }, 2s));
}

TEST_F(FaultProxyTest, BandwidthCapPacesTheTransfer) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  v1::Fault f;
  f.mutable_bandwidth()->set_bytes_per_second(100'000);
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_DOWN, f).ok());
  auto rtt = round_trip(c, std::string(100'000, 'b'));
  ASSERT_TRUE(rtt) << "100 KB not echoed within 5 s";
  EXPECT_GE(*rtt, 900ms);
  EXPECT_LT(*rtt, 3s);
}

TEST_F(FaultProxyTest, StallDelaysButDelivers) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected());
  v1::Fault f;
  f.mutable_stall()->set_stall_ms(100);
  f.mutable_stall()->set_interval_ms(50);
  ASSERT_TRUE(set_fault("db", v1::DIRECTION_UP, f).ok());
  // Windows of 100 ms every ~50 ms cover most of the time: some round trip must wait in one,
  // and every byte still arrives.
  auto start = Clock::now();
  Clock::duration slowest{0};
  int trips = 0;
  while (Clock::now() - start < 600ms) {
    auto rtt = round_trip(c, "s" + std::to_string(trips++));
    ASSERT_TRUE(rtt) << "round trip " << trips << " lost under a stall";
    slowest = std::max(slowest, *rtt);
  }
  EXPECT_GE(slowest, 20ms);
  EXPECT_LT(slowest, 1s);
}

TEST_F(FaultProxyTest, BadRequestsGetTheRightCodes) {
  add_echo_link();
  EXPECT_EQ(add_link("db", echo_.address()).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  auto s = add_link("", echo_.address());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("name"), std::string::npos) << s.error_message();
  EXPECT_EQ(add_link("bad name!", echo_.address()).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  s = add_link("x", "example.com:80");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("upstream"), std::string::npos) << s.error_message();
  EXPECT_EQ(add_link("x", "127.0.0.1:0").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add_link("x", "127.0.0.1").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(set_fault("nope", v1::DIRECTION_UP, latency(1)).error_code(),
            grpc::StatusCode::NOT_FOUND);
  s = set_fault("db", v1::DIRECTION_UP, latency(10, 20));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("fault.latency.jitter_ms"), std::string::npos)
      << s.error_message();
  s = set_fault("db", v1::DIRECTION_UNSPECIFIED, latency(1));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("direction"), std::string::npos) << s.error_message();
  EXPECT_EQ(set_fault("db", static_cast<v1::Direction>(99), latency(1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  s = set_fault("db", v1::DIRECTION_UP, v1::Fault());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("fault"), std::string::npos) << s.error_message();
  v1::Fault bw;
  bw.mutable_bandwidth()->set_bytes_per_second(0);
  s = set_fault("db", v1::DIRECTION_UP, bw);
  EXPECT_NE(s.error_message().find("fault.bandwidth.bytes_per_second"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(
      set_fault("db", v1::DIRECTION_UP, partition(v1::PARTITION_MODE_UNSPECIFIED)).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  v1::Fault stall;
  stall.mutable_stall()->set_stall_ms(10);
  stall.mutable_stall()->set_interval_ms(1);
  EXPECT_EQ(set_fault("db", v1::DIRECTION_UP, stall).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Fault reset;
  reset.mutable_reset();
  EXPECT_EQ(set_fault("db", v1::DIRECTION_UP, reset).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(heal("nope").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(heal("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::RemoveLinkRequest req;
    req.set_name("nope");
    v1::RemoveLinkResponse resp;
    EXPECT_EQ(stub_->RemoveLink(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // Nothing bad changed anything, and the daemon still serves.
  auto links = list();
  ASSERT_EQ(links.links_size(), 1);
  EXPECT_EQ(links.links(0).up().faults_size(), 0);
}

TEST_F(FaultProxyTest, RemoveLinkStopsListening) {
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(round_trip(c, "x"));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 2s);
  v1::RemoveLinkRequest req;
  req.set_name("db");
  v1::RemoveLinkResponse resp;
  ASSERT_TRUE(stub_->RemoveLink(&ctx, req, &resp).ok());
  EXPECT_TRUE(c.wait_closed(2s));
  Client c2(listen);
  EXPECT_FALSE(c2.connected());
  EXPECT_EQ(list().links_size(), 0);
  // The name is free again.
  EXPECT_TRUE(add_link("db", echo_.address()).ok());
}

// With --listen [::1]:0 the control service and every link listen on IPv6 loopback, and the
// addresses the proxy answers (ready file, AddLink, ListLinks) are bracketed, so that they parse
// back as host:port.
class FaultProxyIpv6Test : public FaultProxyTest {
 protected:
  std::string listen_flag() const override { return "[::1]:0"; }
  std::string answered_host() const override { return "[::1]:"; }
};

TEST_F(FaultProxyIpv6Test, ListensAndForwardsOnIpv6Loopback) {
  EXPECT_EQ(address_.rfind("[::1]:", 0), 0u) << address_;
  std::string listen = add_echo_link();
  Client c(listen);
  ASSERT_TRUE(c.connected()) << listen;
  EXPECT_TRUE(round_trip(c, "over ipv6"));
  auto links = list();
  ASSERT_EQ(links.links_size(), 1);
  EXPECT_EQ(links.links(0).listen_address(), listen);
}

// An IPv6 --listen without brackets is refused at start-up, naming the flag, the text and why.
TEST(FaultProxyFlags, UnbracketedIpv6ListenIsRefused) {
  fs::path dir = testing::make_temp_dir("drsim-fp-flags");
  ASSERT_FALSE(dir.empty());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"::1:0", "an IPv6 host needs brackets"},
      {"[::1]", "no ':port' after ']'"},
      {"127.0.0.1:x", "port 'x' is not a number"},
  };
  for (const auto& [listen, why] : cases) {
    FaultProxyProcess p({"--listen", listen, "--insecure"}, dir);
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(2)) << listen << ":\n" << p.log();
    EXPECT_NE(p.log().find("--listen: '" + listen + "': "), std::string::npos) << p.log();
    EXPECT_NE(p.log().find(why), std::string::npos) << p.log();
  }
  testing::remove_test_dir(dir);
}

}  // namespace
}  // namespace drsim
