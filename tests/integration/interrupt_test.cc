// Ctrl-C, a CI `timeout` (SIGTERM) or a closed terminal in the middle of a drsim command: every
// daemon the command started is stopped (a paused one too), nothing is left behind, and the
// command exits 128 + the signal. `drsim down` with nothing up is not an error.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "cli/child_process.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// PIDs of live processes whose command line names `home` (every daemon drsim starts carries
// its data dir or ready file under the home), other than `except`.
std::vector<pid_t> processes_under(const std::string& home, pid_t except) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (pid == except) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ifstream stat(entry.path() / "stat");
    std::string stat_line;
    std::getline(stat, stat_line);
    auto close = stat_line.rfind(')');
    bool zombie = close != std::string::npos && close + 2 < stat_line.size() &&
                  stat_line[close + 2] == 'Z';
    if (!zombie && cmdline.find(home + "/") != std::string::npos) out.push_back(pid);
  }
  return out;
}

struct Started {
  pid_t pid = 0;
  std::string output_path;
};

Started start_drsim(const std::vector<std::string>& args, const std::string& dir) {
  Started s;
  s.output_path = dir + "/cli-output.txt";
  std::vector<std::string> argv = {std::string(DRSIM_TEST_BIN_DIR) + "/drsim"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pid = cli::spawn_process(argv, s.output_path);
  EXPECT_TRUE(pid.is_ok()) << pid.status().message();
  s.pid = pid.is_ok() ? *pid : 0;
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits for the child to exit; its exit code, or -1 (and it is killed) after `timeout`.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

// Kills whatever a failed test left under `home`, so a red test does not leak daemons.
void kill_leftovers(const std::string& home) {
  for (pid_t pid : processes_under(home, 0)) {
    ::kill(pid, SIGCONT);
    ::kill(pid, SIGKILL);
  }
}

TEST(Interrupt, CtrlCInTheMiddleOfTheDemoStopsEveryDaemon) {
  std::string dir = make_temp_dir("drsim-interrupt-demo");
  std::string home = dir + "/home";
  auto cli = start_drsim({"demo", "--home", home, "--warmup", "30"}, dir);
  // Interrupt once the load has run a while (its first progress line, about 1 s in).
  bool loading = wait_until(
      [&] { return read_file(cli.output_path).find("step 1/") != std::string::npos; }, 60s);
  ASSERT_TRUE(loading) << read_file(cli.output_path);
  ASSERT_GE(processes_under(home, cli.pid).size(), 4u);
  ::kill(cli.pid, SIGINT);
  int code = wait_exit(cli.pid, 20s);
  std::string out = read_file(cli.output_path);
  EXPECT_EQ(code, 130) << out;
  EXPECT_NE(out.find("interrupted by SIGINT"), std::string::npos) << out;
  EXPECT_TRUE(processes_under(home, cli.pid).empty()) << out;
  // What the load recorded so far is kept, and the file says how the run ended.
  std::string history = read_file(home + "/history.jsonl");
  EXPECT_NE(history.find("\"invoke_ns\""), std::string::npos) << history.substr(0, 500);
  // ... and its end line is the last line (calls the interrupt cut short are not appended
  // after it, which `drsim check` would read as a broken file).
  std::string last = history.substr(0, history.find_last_not_of('\n') + 1);
  last = last.substr(last.rfind('\n') + 1);
  EXPECT_NE(last.find("\"run_ended\""), std::string::npos) << last;
  EXPECT_NE(last.find("interrupted"), std::string::npos) << last;
  kill_leftovers(home);
  fs::remove_all(dir);
}

TEST(Interrupt, SigtermWhileAPauseFaultHoldsTheRegionStopsThePausedDaemonToo) {
  std::string dir = make_temp_dir("drsim-interrupt-pause");
  std::string home = dir + "/home";
  // --fault pause: the primary is SIGSTOPped while the drill waits; interrupt then.
  auto cli = start_drsim({"demo", "--home", home, "--fault", "pause", "--warmup", "1"}, dir);
  bool paused = wait_until(
      [&] { return read_file(cli.output_path).find("SIGSTOP") != std::string::npos; }, 60s);
  ASSERT_TRUE(paused) << read_file(cli.output_path);
  ::kill(cli.pid, SIGTERM);
  int code = wait_exit(cli.pid, 20s);
  std::string out = read_file(cli.output_path);
  EXPECT_EQ(code, 143) << out;
  EXPECT_TRUE(processes_under(home, cli.pid).empty()) << out;
  kill_leftovers(home);
  fs::remove_all(dir);
}

TEST(Interrupt, SigtermDuringUpLeavesNoDaemonBehind) {
  std::string dir = make_temp_dir("drsim-interrupt-up");
  std::string home = dir + "/home";
  auto cli = start_drsim({"up", "--home", home}, dir);
  // The secondary is the first region started; interrupt while the rest comes up.
  bool started = wait_until([&] { return fs::exists(home + "/secondary/ready.json"); }, 30s);
  ASSERT_TRUE(started) << read_file(cli.output_path);
  ::kill(cli.pid, SIGTERM);
  int code = wait_exit(cli.pid, 20s);
  std::string out = read_file(cli.output_path);
  // The command may have finished `up` just before the signal: then `down` must find it all.
  if (code == 0) {
    auto down = run_binary("drsim", {"down", "--home", home}, 30s);
    EXPECT_EQ(down.exit_code, 0) << down.output;
  } else {
    EXPECT_EQ(code, 143) << out;
  }
  EXPECT_TRUE(processes_under(home, cli.pid).empty()) << out;
  kill_leftovers(home);
  fs::remove_all(dir);
}

TEST(Interrupt, DownWithNothingUpIsNotAnError) {
  std::string home = make_temp_dir("drsim-down-twice") + "/never-up";
  auto r = run_binary("drsim", {"down", "--home", home}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nothing is up in"), std::string::npos) << r.output;
}

TEST(UpDown, AHomeWhoseSecondaryIsActiveComesUpAgainRoutedToIt) {
  std::string home = make_temp_dir("drsim-up-reversed") + "/home";
  ASSERT_EQ(run_binary("drsim", {"up", "--home", home}, 60s).exit_code, 0);
  auto failover = run_binary("drsim", {"failover", "--force", "--home", home}, 60s);
  ASSERT_EQ(failover.exit_code, 0) << failover.output;
  auto reprotect = run_binary("drsim", {"reprotect", "--home", home}, 60s);
  ASSERT_EQ(reprotect.exit_code, 0) << reprotect.output;
  ASSERT_EQ(run_binary("drsim", {"down", "--home", home}, 60s).exit_code, 0);
  // Before: fixed labels "(standby)/(active)", then 15 s and "did not become healthy".
  auto up = run_binary("drsim", {"up", "--home", home}, 60s);
  EXPECT_EQ(up.exit_code, 0) << up.output;
  EXPECT_NE(up.output.find("(active, epoch 2)"), std::string::npos) << up.output;
  EXPECT_NE(up.output.find("routes to secondary; replication secondary -> primary connected"),
            std::string::npos)
      << up.output;
  EXPECT_EQ(run_binary("drsim", {"down", "--home", home}, 60s).exit_code, 0);
  kill_leftovers(home);
  fs::remove_all(fs::path(home).parent_path());
}

TEST(Interrupt, VersionFlagPrintsTheVersion) {
  auto r = run_binary("drsim", {"--version"}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("drsim "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace drsim::testing
