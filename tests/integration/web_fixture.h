// Shared by the HTTP integration tests (http_server_test, region_http_test,
// trafficmgr_web_test): a blocking loopback HTTP client on plain sockets (so a test can send
// any bytes, malformed included), child processes started with posix_spawn and stopped by PID,
// ready-file parsing, a pair of real region daemons with --http-listen, and a bounded runner for
// headless chromium.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/net/grpc_util.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "tests/integration/run_command.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace drsim::webtest {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kWaitLimit = 10s;

// Polls `pred` every 10 ms until it holds or `limit` passes.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = kWaitLimit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every metric name starting with `prefix` that the Grafana dashboard (deploy/grafana/drsim.json)
// queries in its panels' expressions; empty when the file does not parse.
inline std::set<std::string> dashboard_metrics(const std::string& prefix) {
  std::ifstream in(DRSIM_GRAFANA_DASHBOARD);
  auto dash = nlohmann::json::parse(in, nullptr, false);
  std::set<std::string> names;
  if (dash.is_discarded()) return names;
  const std::regex name(prefix + "[a-z0-9_]+");
  for (const auto& panel : dash["panels"]) {
    for (const auto& target : panel["targets"]) {
      std::string expr = target.value("expr", "");
      for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) {
        names.insert(it->str());
      }
    }
  }
  return names;
}

// The names of the metric families a Prometheus text exposition declares (# TYPE lines), and
// of a histogram family's _bucket, _sum and _count series.
inline std::set<std::string> exported_metrics(const std::string& text) {
  std::set<std::string> names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    names.insert(name);
    if (line.substr(7 + name.size()) == " histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

// Checks a daemon's /metrics (`metrics`): every sample in base units (no `_ms`), and every name
// with `prefix` the Grafana dashboard queries — at least `at_least` of them — exported.
inline void expect_base_units_and_dashboard_names(const std::string& metrics,
                                                  const std::string& prefix, size_t at_least) {
  EXPECT_EQ(metrics.find("_ms{"), std::string::npos) << "a metric not in base units:\n" << metrics;
  auto exported = exported_metrics(metrics);
  auto queried = dashboard_metrics(prefix);
  EXPECT_GE(queried.size(), at_least) << DRSIM_GRAFANA_DASHBOARD;
  for (const auto& name : queried) {
    EXPECT_TRUE(exported.count(name))
        << "deploy/grafana/drsim.json queries " << name << ", which the daemon does not export";
  }
}

using drsim::testing::make_temp_dir;
using drsim::testing::remove_test_dir;

// ------------------------------------------------------------------ raw loopback client

// A connected TCP socket to "127.0.0.1:PORT"; closed on destruction.
class RawConnection {
 public:
  // `source`: the local IPv4 address to connect from (e.g. "127.0.0.2"); "" = the kernel's pick.
  explicit RawConnection(const std::string& address, const std::string& source = "") {
    auto colon = address.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) return;
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (!source.empty() && (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
                            ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

  // Reads until the peer closes or `limit` passes; returns what arrived.
  std::string read_until_close(std::chrono::milliseconds limit = 5s) {
    return read_while([](const std::string&) { return true; }, limit);
  }
  // Reads until `enough(received)` says stop, the peer closes, or `limit` passes.
  std::string read_while(const std::function<bool(const std::string&)>& more,
                         std::chrono::milliseconds limit) {
    std::string out;
    auto end = std::chrono::steady_clock::now() + limit;
    while (more(out)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms) {
        timed_out_ = true;
        break;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Whether the last read ended because the peer closed (EOF or reset) / on the time limit.
  bool closed() const { return closed_; }
  bool timed_out() const { return timed_out_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  bool timed_out_ = false;
};

struct HttpReply {
  int status = 0;                              // 0: no parsable response
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  size_t bytes = 0;  // of this response in the input
};

// Parses the first HTTP/1.x response in `data` (Content-Length bodies only, which is what
// drsim's server sends). status 0 when incomplete or malformed.
inline HttpReply parse_reply(const std::string& data) {
  HttpReply r;
  auto end = data.find("\r\n\r\n");
  if (end == std::string::npos || data.rfind("HTTP/1.", 0) != 0) return r;
  std::istringstream head(data.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (line.size() < 12) return r;
  int status = std::atoi(line.substr(9, 3).c_str());
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  if (data.size() < end + 4 + length) return r;
  r.status = status;
  r.body = data.substr(end + 4, length);
  r.bytes = end + 4 + length;
  return r;
}

// Every complete response in `data`, in order.
inline std::vector<HttpReply> parse_replies(std::string data) {
  std::vector<HttpReply> out;
  while (true) {
    HttpReply r = parse_reply(data);
    if (r.status == 0) break;
    data.erase(0, r.bytes);
    out.push_back(std::move(r));
  }
  return out;
}

// GET `path` on a fresh connection (Connection: close). status 0 when nothing parsable came.
inline HttpReply http_get(const std::string& address, const std::string& path,
                          std::chrono::milliseconds limit = 5s, const std::string& source = "") {
  RawConnection c(address, source);
  if (!c.connected()) return {};
  c.send("GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n\r\n");
  return parse_reply(c.read_until_close(limit));
}

// The value of a Prometheus sample line `name{labels} value` (labels exactly as printed), or
// nullopt when there is no such line.
inline std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ processes

// A child process from posix_spawn (no fork after gRPC threads exist), stdout and stderr to
// `log`, in its own process group; stopped by PID: SIGTERM, then SIGKILL after 5 s.
class Process {
 public:
  Process(std::vector<std::string> argv, const fs::path& log) : log_(log) {
    close_descriptors_on_exec();
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    if (posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }

  // Exit status once the process ended by itself within `limit`, else nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (exit_code_) return exit_code_;
    auto end = std::chrono::steady_clock::now() + limit;
    do {
      int status = 0;
      if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(10ms);
    } while (std::chrono::steady_clock::now() < end);
    return std::nullopt;
  }

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
  // Asio and gRPC open sockets without FD_CLOEXEC; a child must not inherit a test's listening
  // socket, or the port keeps accepting after the test closed it.
  static void close_descriptors_on_exec() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd", ec)) {
      int fd = std::atoi(entry.path().filename().c_str());
      if (fd > 2) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
  }

  fs::path log_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// The string fields of a --ready-file, once it exists (waits up to kWaitLimit).
inline std::map<std::string, std::string> wait_ready_file(const fs::path& path) {
  std::map<std::string, std::string> out;
  if (!wait_until([&] { return fs::exists(path); })) return out;
  auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [key, value] : j.items()) {
    out[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return out;
}

// ------------------------------------------------------------------ regions

// drsim-secondary (standby) and drsim-primary (active, replicating to it), each with
// --http-listen on an ephemeral loopback port, in `dir`.
class RegionPair {
 public:
  struct Region {
    std::unique_ptr<Process> process;
    std::string address;       // gRPC
    std::string http_address;  // GET /health, /metrics
  };

  // Fails the calling test (ADD_FAILURE) when a region does not come up.
  explicit RegionPair(const fs::path& dir, const std::string& workloads = "vm-web,vm-db")
      : dir_(dir) {
    secondary = start("secondary", {"--role", "standby"}, workloads);
    if (secondary.address.empty()) return;
    primary = start("primary", {"--role", "active", "--peer", secondary.address}, workloads);
  }

  bool ok() const { return !primary.address.empty() && !secondary.address.empty(); }

  Region& region(const std::string& name) { return name == "primary" ? primary : secondary; }

  grpc::Status set_outage(const std::string& name, bool outage) {
    auto stub = v1::RegionAdmin::NewStub(net::make_insecure_channel(region(name).address));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::SetOutageRequest request;
    request.set_outage(outage);
    v1::SetOutageResponse response;
    return stub->SetOutage(&ctx, request, &response);
  }

  // Where the region's lease witness (a Traffic Manager) listens.
  grpc::Status set_witness(const std::string& name, const std::string& witness) {
    auto stub = v1::RegionAdmin::NewStub(net::make_insecure_channel(region(name).address));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::SetWitnessRequest request;
    request.set_witness_address(witness);
    v1::SetWitnessResponse response;
    return stub->SetWitness(&ctx, request, &response);
  }

  std::string logs() const {
    std::string out;
    for (const auto* r : {&primary, &secondary}) {
      if (r->process) out += r->process->log();
    }
    return out;
  }

  Region primary;
  Region secondary;

 private:
  Region start(const std::string& name, std::vector<std::string> role_args,
               const std::string& workloads) {
    Region r;
    std::string binary = name == "primary" ? DRSIM_PRIMARY_BIN : DRSIM_SECONDARY_BIN;
    fs::path ready = dir_ / (name + ".ready.json");
    std::vector<std::string> argv{binary,
                                  "--name",
                                  name,
                                  "--peer-name",
                                  name == "primary" ? "secondary" : "primary",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--insecure",
                                  "--http-listen",
                                  "127.0.0.1:0",
                                  "--data-dir",
                                  (dir_ / name).string(),
                                  "--workloads",
                                  workloads,
                                  "--ready-file",
                                  ready.string()};
    argv.insert(argv.end(), role_args.begin(), role_args.end());
    r.process = std::make_unique<Process>(argv, dir_ / (name + ".log"));
    auto fields = wait_ready_file(ready);
    if (fields["address"].empty() || fields["http_address"].empty()) {
      ADD_FAILURE() << name << " did not write address and http_address to its ready file "
                    << "within 10 s; log:\n"
                    << r.process->log();
      return r;
    }
    r.address = fields["address"];
    r.http_address = fields["http_address"];
    return r;
  }

  fs::path dir_;
};

using inttest::run_command;

// ------------------------------------------------------------------ chromium

// Runs argv in its own process group, output to `log`; kills the group after `limit`.
// Returns the exit status, or -1 on timeout.
inline int run_bounded(const std::vector<std::string>& argv, const fs::path& log,
                       std::chrono::milliseconds limit) {
  Process p(argv, log);
  if (p.pid() <= 0) return -1;
  pid_t group = p.pid();
  auto code = p.wait_exit(limit);
  if (!code) {
    ::kill(-group, SIGKILL);
    p.stop();
    return -1;
  }
  ::kill(-group, SIGKILL);  // helpers left behind in the group, if any
  return *code;
}

}  // namespace drsim::webtest
