// `drsim load` histories as a user drives them from the shell: two loads at once on one home are
// checked together by `drsim check` (each run writes its own file and tags its values), a load's
// file is written as it goes, a check refuses a run still being written, and Ctrl-C (SIGINT) or
// SIGTERM stops the load with every completed operation in its file.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/history_file.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;

struct DownOnExit {
  std::string home;
  ~DownOnExit() { run_binary("drsim", {"down", "--home", home}, 30s); }
};

// A `drsim load` started in the background; killed (SIGKILL) if the test leaves it running.
struct BackgroundLoad {
  pid_t pid = -1;
  std::string log;
  ~BackgroundLoad() {
    if (pid > 0) cli::stop_process(pid, 0ms);
  }
  // Exit code, or -1 when it did not exit within `timeout`.
  int wait(std::chrono::milliseconds timeout) {
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  std::string output() const {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

BackgroundLoad start_load(const std::string& home, const std::string& name,
                          std::vector<std::string> args) {
  BackgroundLoad load;
  load.log = home + "/" + name + ".log";
  std::vector<std::string> argv = {std::string(DRSIM_TEST_BIN_DIR) + "/drsim", "load", "--home",
                                   home};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pid = cli::spawn_process(argv, load.log);
  EXPECT_TRUE(pid.is_ok()) << pid.status().message();
  if (pid.is_ok()) load.pid = *pid;
  return load;
}

struct FileLines {
  uint64_t ops = 0;
  bool started = false;
  nlohmann::json ended;  // the run_ended line, null when absent
};
FileLines read_lines(const std::string& path) {
  FileLines f;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // a line being written
    if (j.contains("run_started")) {
      f.started = true;
    } else if (j.contains("run_ended")) {
      f.ended = j["run_ended"];
    } else {
      ++f.ops;
    }
  }
  return f;
}

std::vector<std::string> load_files(const std::string& home) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(home + "/history", ec)) {
    out.push_back(e.path().string());
  }
  return out;
}

// Two loads at once write the same keys of one home; `drsim check` reads both runs and judges
// them together against the final state: nothing lost, nothing stale. (Before each run had its
// own file and values, the second load overwrote the first one's history and the first one's
// writes in the final state looked like lost writes: 160 lost in this very scenario.)
TEST(LoadHistory, TwoConcurrentLoadsOnOneHomeAreCheckedTogether) {
  std::string home = make_temp_dir("drsim-two-loads");
  DownOnExit down{home};
  auto r = run_binary("drsim", {"up", "--home", home}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Few keys, so that both runs write and read the same keys all the time.
  std::vector<std::string> args = {"--duration", "3", "--rate", "150",
                                   "--clients",  "3", "--keys", "20"};
  BackgroundLoad a = start_load(home, "a", args);
  args.insert(args.end(), {"--seed", "2"});  // a different user's load
  BackgroundLoad b = start_load(home, "b", args);
  ASSERT_EQ(a.wait(30s), 0) << a.output();
  ASSERT_EQ(b.wait(30s), 0) << b.output();
  ASSERT_EQ(load_files(home).size(), 2u);

  r = run_binary("drsim", {"check", "--home", home, "--json"}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j["histories"].size(), 2u) << j.dump(2);
  EXPECT_EQ(j["acknowledged_writes_lost"], 0) << j.dump(2);
  EXPECT_EQ(j["stale_reads"], 0) << j.dump(2);
  EXPECT_GT(j["writes"]["acknowledged"].get<int>(), 300) << j.dump(2);
}

// A load's history is on disk while it runs; `drsim check` refuses to judge a run still being
// written (its last writes are not recorded yet); SIGINT stops the load with exit 130 and every
// completed operation in the file, which then checks clean. SIGTERM: exit 143, same file.
TEST(LoadHistory, SigintOrSigtermOfLoadKeepsEveryCompletedRecord) {
  std::string home = make_temp_dir("drsim-load-sigint");
  DownOnExit down{home};
  auto r = run_binary("drsim", {"up", "--home", home}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::string history = home + "/h" + std::to_string(sig) + ".jsonl";
    BackgroundLoad load =
        start_load(home, "load" + std::to_string(sig),
                   {"--duration", "60", "--rate", "100", "--clients", "2", "--history", history,
                    "--stale-clients", "1", "--stale-in-flight", "2", "--stale-rate", "20"});
    ASSERT_TRUE(wait_until([&] { return read_lines(history).ops >= 50; }, 20s))
        << "the history is not written as the load goes: " << read_lines(history).ops
        << " records\n"
        << load.output();
    r = run_binary("drsim", {"check", "--home", home, "--history", history}, 30s);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("is still being written by drsim load (pid " +
                            std::to_string(load.pid) + ")"),
              std::string::npos)
        << r.output;

    ASSERT_EQ(::kill(load.pid, sig), 0);
    EXPECT_EQ(load.wait(15s), 128 + sig) << load.output();
    FileLines f = read_lines(history);
    EXPECT_TRUE(f.started);
    ASSERT_FALSE(f.ended.is_null()) << "no end record";
    EXPECT_EQ(f.ended["reason"], sig == SIGINT ? "interrupted by SIGINT" : "stopped by SIGTERM");
    EXPECT_EQ(f.ended["operations"].get<uint64_t>(), f.ops);
    // The summary counts the same operations the file holds.
    std::string out = load.output();
    EXPECT_NE(out.find(": " + std::to_string(f.ops) + " operations"), std::string::npos) << out;

    r = run_binary("drsim", {"check", "--home", home, "--history", history, "--json"}, 30s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
}

// What `drsim check` reads from a home, without processes: finished runs merge (ordered by
// invocation); a run whose writer died before its last line, the same run twice, or two runs
// putting the same value into one key are refused with the file and the reason.
TEST(LoadHistory, HomeHistoriesRefuseWhatCannotBeCheckedTogether) {
  std::string home = make_temp_dir("drsim-home-histories");
  auto put = [](const std::string& run, int64_t at, const std::string& value) {
    model::OpRecord op;
    op.run = run;
    op.kind = model::OpKind::kPut;
    op.workload = "vm-web";
    op.key = "key-1";
    op.value = value;
    op.invoke_ns = at;
    op.complete_ns = at + 1;
    op.outcome = model::Outcome::kOk;
    return op;
  };
  auto merged = cli::read_home_histories(home);
  EXPECT_EQ(merged.status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(cli::write_history(home + "/history/load-a.jsonl", "a",
                                 {put("a", 10, "a/1"), put("a", 30, "a/2")})
                  .is_ok());
  ASSERT_TRUE(
      cli::write_history(home + "/history/load-b.jsonl", "b", {put("b", 20, "b/1")}).is_ok());
  merged = cli::read_home_histories(home);
  ASSERT_TRUE(merged.is_ok()) << merged.status().message();
  ASSERT_EQ(merged->ops.size(), 3u);
  EXPECT_EQ(merged->paths.size(), 2u);
  EXPECT_EQ(merged->ops[1].run, "b");  // by invocation across runs

  // Two runs wrote the same value into one key: whose write survived cannot be told.
  ASSERT_TRUE(
      cli::write_history(home + "/history/load-c.jsonl", "c", {put("c", 40, "a/1")}).is_ok());
  merged = cli::read_home_histories(home);
  EXPECT_EQ(merged.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(merged.status().message().find("runs a and c both put the same value into "
                                           "vm-web/key-1"),
            std::string::npos)
      << merged.status().message();
  std::filesystem::remove(home + "/history/load-c.jsonl");

  // The same run in two files.
  std::filesystem::copy_file(home + "/history/load-b.jsonl", home + "/history/load-b2.jsonl");
  merged = cli::read_home_histories(home);
  EXPECT_EQ(merged.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(merged.status().message().find("run b is also in"), std::string::npos)
      << merged.status().message();
  std::filesystem::remove(home + "/history/load-b2.jsonl");

  // A writer that died before its last line (a reaped child: its pid is free).
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  {
    std::ofstream out(home + "/history/load-d.jsonl");
    out << nlohmann::json{{"run_started", {{"run", "d"}, {"pid", dead}}}}.dump() << "\n";
  }
  merged = cli::read_home_histories(home);
  EXPECT_EQ(merged.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(merged.status().message().find("run d has no end record: its writer (pid " +
                                           std::to_string(dead) + ") died"),
            std::string::npos)
      << merged.status().message();
  std::filesystem::remove_all(home);
}

// A load that cannot do what it was asked says so: an unknown workload is refused before any
// operation (exit 2, naming the workloads there are); a load in which no operation succeeded
// (every region in an outage) exits 1 with the last error instead of 0.
TEST(LoadHistory, UnknownWorkloadIsRefusedAndALoadWithNothingSucceededExits1) {
  std::string home = make_temp_dir("drsim-load-fails");
  DownOnExit down{home};
  auto r = run_binary("drsim", {"up", "--home", home}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_binary("drsim", {"load", "--home", home, "--duration", "1", "--workloads", "nosuch"},
                 30s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--workloads: 'nosuch' is not a workload of the topology in "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("(vm-web, vm-db)"), std::string::npos) << r.output;
  EXPECT_TRUE(load_files(home).empty()) << "a refused load wrote a history";

  for (const char* region : {"primary", "secondary"}) {
    r = run_binary("drsim", {"inject", "outage", "--region", region, "--home", home}, 30s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  r = run_binary("drsim", {"load", "--home", home, "--duration", "1", "--rate", "50"}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("load: none of "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("operations succeeded; the last error: "), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace drsim::testing
