#include "cli/child_process.h"

#include "cli/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

extern char** environ;

namespace drsim::cli {

using namespace std::chrono_literals;

namespace {

// Which signals the child starts with blocked (the mask survives exec).
enum class ChildMask {
  kEmpty,
  // SIGINT, SIGTERM and SIGHUP blocked: a Ctrl-C sent to the CLI's process group the instant
  // the child is spawned (before it is in its own group; `timeout` and terminals signal the
  // whole group) stays pending instead of killing a short command of a clean-up.
  kInterruptsBlocked,
};

Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& log_path,
                    ChildMask mask);

}  // namespace

Result<pid_t> spawn_process(const std::vector<std::string>& argv, const std::string& log_path) {
  auto pid = spawn(argv, log_path, ChildMask::kEmpty);
  if (!pid.is_ok()) return pid;
  // A daemon started in a network namespace is `ip netns exec NS daemon ...` (ip execs it).
  std::string what = std::filesystem::path(argv[0]).filename().string();
  if (what == "ip" && argv.size() > 4 && argv[1] == "netns" && argv[2] == "exec") {
    what = std::filesystem::path(argv[4]).filename().string() + " (netns " + argv[3] + ")";
  }
  own_process(*pid, what);
  return pid;
}

Result<pid_t> spawn_unowned(const std::vector<std::string>& argv, const std::string& log_path) {
  return spawn(argv, log_path, ChildMask::kInterruptsBlocked);
}

namespace {

Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& log_path,
                    ChildMask mask) {
  if (argv.empty()) return invalid_argument("spawn: empty argv");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return not_found("cannot execute " + argv[0] + ": " + std::strerror(errno) +
                     " (build it, or set DRSIM_BIN_DIR)");
  }
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return unavailable("cannot open log " + log_path + ": " + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // posix_spawn, not fork: the CLI is multithreaded (gRPC). The child gets its own process
  // group (a Ctrl-C on the CLI does not hit it: the CLI stops it, cli/interrupt.h), the signal
  // mask `mask` says and default dispositions (the CLI blocks SIGINT/SIGTERM/SIGHUP for its own
  // waiting thread), stdin from /dev/null and the log as stdout and stderr.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t child_mask;
  sigemptyset(&child_mask);
  if (mask == ChildMask::kInterruptsBlocked) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&child_mask, sig);
  }
  posix_spawnattr_setsigmask(&attr, &child_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ::close(log_fd);
    return unavailable("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  ::close(log_fd);
  return pid;
}

}  // namespace

void reap(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  reap(pid);
  if (::kill(pid, 0) != 0) return false;
  // A zombie that is not our child still answers kill(0): look at its state.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  auto close_paren = content.rfind(')');
  if (close_paren != std::string::npos && close_paren + 2 < content.size() &&
      content[close_paren + 2] == 'Z') {
    // The thread group's leader is a zombie as soon as it exits, while its other threads may
    // still be exiting and holding the process's files (a RocksDB LOCK, a listening socket): it
    // is gone once /proc/PID/task lists the leader alone.
    std::error_code ec;
    size_t threads = 0;
    for (auto it = std::filesystem::directory_iterator(
             "/proc/" + std::to_string(pid) + "/task", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++threads;
    }
    return threads > 1;
  }
  return true;
}

void stop_process(pid_t pid, std::chrono::milliseconds grace) {
  release_process(pid);
  if (!process_alive(pid)) return;
  ::kill(pid, SIGCONT);  // a paused process cannot handle SIGTERM
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_alive(pid)) return;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 200 && process_alive(pid); ++i) std::this_thread::sleep_for(10ms);
}

bool recorded_alive(const runtime::ProcessIdentity& id) {
  return runtime::check_identity(id, "").is_ok() && process_alive(id.pid);
}

Status signal_process(const runtime::ProcessIdentity& id, int sig, const std::string& what) {
  Status same = runtime::check_identity(id, what);
  if (same.code() == StatusCode::kNotFound || (same.is_ok() && !process_alive(id.pid))) {
    return failed_precondition(what + " (pid " + std::to_string(id.pid) + ") is not running");
  }
  if (!same.is_ok()) return same;
  if (::kill(id.pid, sig) != 0) {
    return unavailable("cannot signal " + what + " (pid " + std::to_string(id.pid) +
                       "): " + std::strerror(errno));
  }
  return Status::ok();
}

Status stop_recorded(const runtime::ProcessIdentity& id, std::chrono::milliseconds grace,
                     const std::string& what) {
  Status same = runtime::check_identity(id, what);
  if (same.code() == StatusCode::kNotFound) return Status::ok();
  if (!same.is_ok()) return same;
  stop_process(id.pid, grace);
  return Status::ok();
}

std::string bin_dir() {
  if (const char* env = std::getenv("DRSIM_BIN_DIR"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

std::string tail_file(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (auto& l : last) out += "    " + l + "\n";
  return out;
}

Result<ReadyInfo> wait_ready(const std::string& ready_file, pid_t pid, const std::string& log_path,
                             std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(ready_file);
    if (in) {
      try {
        auto j = nlohmann::json::parse(in);
        ReadyInfo info{j.at("pid").get<pid_t>(), j.at("address").get<std::string>(), {}};
        for (const auto& [key, value] : j.items()) {
          if (key != "address" && key.size() > 8 && key.ends_with("_address") &&
              value.is_string()) {
            info.more_addresses[key] = value.get<std::string>();
          }
        }
        return info;
      } catch (const std::exception&) {
        // Written atomically, so a parse error means a foreign file: wait.
      }
    }
    if (!process_alive(pid)) {
      return unavailable("process " + std::to_string(pid) + " exited before it was ready; " +
                         log_path + " ends with:\n" + tail_file(log_path, 8));
    }
    std::this_thread::sleep_for(10ms);
  }
  return Status(StatusCode::kDeadlineExceeded,
                "not ready after " + std::to_string(timeout.count()) + " ms; " + log_path +
                    " ends with:\n" + tail_file(log_path, 8));
}

}  // namespace drsim::cli
