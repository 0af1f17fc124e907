// Shared by the Traffic Manager's integration tests: an in-test region (a
// gRPC server running only HealthService, flipped by the test) and the real
// drsim-trafficmgr process (DRSIM_TRAFFICMGR_BIN), stopped by PID.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace drsim::tmtest {

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
namespace fs = std::filesystem;

constexpr const char* kWorkloadService = "drsim.v1.Workload";
constexpr auto kWaitLimit = 10s;

// Polls `pred` every 10 ms until it holds or `limit` passes.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = kWaitLimit) {
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

// An in-test region: a gRPC server with only the health service, flipped by the test.
class FakeRegion {
 public:
  FakeRegion() {
    health_.set_status("", HealthCheckResponse::SERVING);
    set_serving(HealthCheckResponse::SERVING);
    grpc::ServerBuilder builder;
    builder.RegisterService(&health_);
    auto started =
        net::start_server(builder, "127.0.0.1:0", grpc::InsecureServerCredentials(),
                          net::kRegionServerLimits);
    if (!started.is_ok()) std::abort();
    server_ = std::move(started->server);
    address_ = started->address;
  }
  ~FakeRegion() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }

  void set_serving(HealthCheckResponse::ServingStatus status) {
    health_.set_status(kWorkloadService, status);
  }
  const std::string& address() const { return address_; }

 private:
  net::HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// A drsim-trafficmgr process, spawned with posix_spawn (no fork after gRPC threads exist).
class TrafficManagerProcess {
 public:
  TrafficManagerProcess(std::vector<std::string> args, const fs::path& dir) : dir_(dir) {
    log_path_ = dir_ / "trafficmgr.log";
    args.insert(args.begin(), DRSIM_TRAFFICMGR_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, DRSIM_TRAFFICMGR_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  ~TrafficManagerProcess() { stop(); }

  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_path_); }

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

  // SIGTERM, then SIGKILL if it has not exited within 5 s. Returns the exit status.
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
  fs::path dir_;
  fs::path log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// A temporary directory, two in-test regions and (once a test starts it) the
// daemon; on failure the daemon's log is printed.
class TrafficManagerFixture : public ::testing::Test {
 protected:
  explicit TrafficManagerFixture(std::string dir_prefix) : dir_prefix_(std::move(dir_prefix)) {}

  void SetUp() override {
    dir_ = testing::make_temp_dir(dir_prefix_);
    ASSERT_FALSE(dir_.empty()) << "cannot make a directory " << dir_prefix_ << "-* under "
                               << fs::temp_directory_path();
  }
  void TearDown() override {
    if (HasFailure() && process_) std::cerr << "--- drsim-trafficmgr log ---\n" << process_->log();
    process_.reset();
    testing::remove_test_dir(dir_);
  }

  std::string dir_prefix_;
  fs::path dir_;
  FakeRegion primary_;
  FakeRegion secondary_;
  std::unique_ptr<TrafficManagerProcess> process_;
};

}  // namespace drsim::tmtest
