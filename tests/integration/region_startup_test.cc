// A region daemon that cannot start: the real drsim-primary with --listen or --http-listen on a
// port the test holds, or a --ready-file it cannot write. It must stop what it had started
// (newest first), say once what failed and why, and exit 1 promptly: no crash, no abort, no
// process left in its group.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "tests/integration/web_fixture.h"

namespace drsim {
namespace {

using namespace webtest;

// A TCP port on 127.0.0.1 bound and listening for as long as the object lives.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 && ::listen(fd_, 4) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~HeldPort() { ::close(fd_); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class RegionStartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("drsim-region-startup");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { remove_test_dir(dir_); }

  // drsim-primary, active, replicating to a peer nobody answers at (so calls are in flight
  // when it stops), with `extra` flags; waits for it to exit by itself and checks the common
  // part: exit 1 within 10 s, one error line, the parts it stopped, nothing left running.
  std::string run_failing(std::vector<std::string> extra, const std::string& stopped) {
    HeldPort peer;  // listens, never answers: the replication stream's call stays in flight
    std::vector<std::string> argv{DRSIM_PRIMARY_BIN, "--name",     "primary",
                                  "--peer-name",     "secondary",  "--role",
                                  "active",          "--peer",     peer.address(),
                                  "--insecure",      "--data-dir", (dir_ / "data").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (std::find(argv.begin(), argv.end(), "--listen") == argv.end()) {
      argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    }
    Process p(argv, dir_ / "primary.log");
    EXPECT_GT(p.pid(), 0);
    const pid_t group = p.pid();
    const auto began = std::chrono::steady_clock::now();
    std::optional<int> code = p.wait_exit(10s);
    const auto took = std::chrono::steady_clock::now() - began;
    const std::string log = p.log();
    EXPECT_EQ(code, std::optional<int>(1)) << "not exit 1 within 10 s (134 = abort):\n" << log;
    EXPECT_LT(took, 8s) << log;
    errno = 0;
    EXPECT_EQ(::kill(-group, 0), -1) << "a process of the daemon's group outlived it";
    EXPECT_EQ(errno, ESRCH);
    size_t errors = 0;
    for (size_t at = log.find(" error "); at != std::string::npos;
         at = log.find(" error ", at + 1)) {
      ++errors;
    }
    EXPECT_EQ(errors, 1u) << log;
    EXPECT_NE(log.find("region primary stopping: " + stopped + "\n"), std::string::npos) << log;
    EXPECT_NE(log.find("region primary stopped"), std::string::npos) << log;
    EXPECT_EQ(log.find("critical"), std::string::npos) << log;
    return log;
  }

  fs::path dir_;
};

// The drivers had started (node, Backup, Site Recovery); the HTTP server could not bind.
TEST_F(RegionStartupTest, HttpListenInUseStopsTheDriversAndExitsOne) {
  HeldPort http;
  ASSERT_GT(http.port(), 0);
  std::string log = run_failing({"--http-listen", http.address()},
                                "Site Recovery, Backup, region node, gRPC server");
  EXPECT_NE(log.find("--http-listen: cannot bind " + http.address() + ": Address already in use"),
            std::string::npos)
      << log;
}

// Everything had started, the HTTP server too; the ready file's directory does not exist.
TEST_F(RegionStartupTest, UnwritableReadyFileStopsEverythingAndExitsOne) {
  const fs::path ready = dir_ / "no-such-dir" / "ready.json";
  std::string log = run_failing({"--http-listen", "127.0.0.1:0", "--ready-file", ready.string()},
                                "HTTP server, Site Recovery, Backup, region node, gRPC server");
  EXPECT_NE(
      log.find("--ready-file: cannot write " + ready.string() + ".tmp: No such file or directory"),
      std::string::npos)
      << log;
  EXPECT_FALSE(fs::exists(ready));
}

// Nothing had started: --listen itself could not bind.
TEST_F(RegionStartupTest, ListenInUseExitsOneHavingStartedNothing) {
  HeldPort grpc;
  ASSERT_GT(grpc.port(), 0);
  std::string log = run_failing({"--listen", grpc.address()}, "nothing started");
  EXPECT_NE(log.find("--listen: cannot listen on " + grpc.address() + ": port " +
                     std::to_string(grpc.port()) + " is already in use"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace drsim
