// The HTML drill report (cli/html_report.h): self-contained, escaped, robust to missing fields,
// and — when Debian's chromium is installed — rendered headless to a PNG a person can look at.
#include "cli/html_report.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace drsim::cli {
namespace {

using model::OpKind;
using model::OpRecord;
using model::Outcome;
using nlohmann::json;

#ifndef DRSIM_TEST_OUTPUT_DIR
#define DRSIM_TEST_OUTPUT_DIR "/tmp"
#endif

constexpr int64_t kStartNs = 1'795'601'226'000'000'000;
constexpr int64_t kMs = 1'000'000;
// The new region's name carries markup, which must come out escaped everywhere.
const std::string kNewRegion = "second<b>ary";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "drsim-html-XXXXXX").string();
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// 6 s of load at 400 ops/s: primary until the fault at 3 s, failures until the new region
// acknowledges its first write at 3.46 s, then the new region.
std::vector<OpRecord> synthetic_history() {
  std::vector<OpRecord> ops;
  const int64_t fault = kStartNs + 3000 * kMs;
  const int64_t recovered = fault + 461 * kMs;
  for (int i = 0; i < 2400; ++i) {
    OpRecord op;
    op.id = static_cast<uint64_t>(i + 1);
    op.kind = i % 10 == 9 ? OpKind::kGet : OpKind::kPut;
    op.workload = i % 2 ? "vm-web" : "vm-db";
    op.key = "key-" + std::to_string(i % 1000);
    op.value = "v" + std::to_string(i);
    op.invoke_ns = kStartNs + static_cast<int64_t>(i) * 2500'000;
    op.complete_ns = op.invoke_ns + 1 * kMs;
    if (op.complete_ns < fault) {
      op.outcome = Outcome::kOk;
      op.region = "primary";
      op.epoch = 1;
    } else if (op.complete_ns < recovered) {
      op.outcome = i % 50 == 0 ? Outcome::kIndeterminate : Outcome::kFail;
    } else {
      op.outcome = Outcome::kOk;
      op.region = kNewRegion;
      op.epoch = 2;
    }
    ops.push_back(op);
  }
  return ops;
}

json synthetic_report() {
  const int64_t fault = kStartNs + 3000 * kMs;
  json j;
  j["drill"] = "demo";
  j["fault"] = {{"kind", "kill"},
                {"region", "primary"},
                {"description", "primary region outage: SIGKILL drsim-primary (pid 8511)"},
                {"unix_nanos", fault}};
  j["failover"] = {{"automated_by_drill", true},
                   {"new_active", kNewRegion},
                   {"new_epoch", 2},
                   {"promoted_unix_nanos", fault + 281 * kMs}};
  j["config"] = {
      {"workloads", "vm-web:sync,vm-db:sync"}, {"probe_interval_ms", 100}, {"ttl_ms", 500}};
  j["writes"] = {
      {"attempted", 2160}, {"acknowledged", 1980}, {"failed", 176}, {"indeterminate", 4}};
  j["reads"] = {{"attempted", 240}, {"ok", 220}, {"failed", 20}, {"indeterminate", 0}};
  j["acknowledged_by_region"] = {{"primary", 1080}, {kNewRegion, 900}};
  j["rto_ms"] = 461.0;
  j["rto_parts_ms"] = {
      {"detection", 278.0}, {"promotion", 3.0}, {"routing", 97.0}, {"client_ttl", 83.0}};
  j["failover_estimate_ms"] = {{"documented", 700}, {"strict", 950}};
  j["acknowledged_writes_lost"] = 0;
  j["lost"] = json::array();
  j["recovered_indeterminate"] = 0;
  j["stale_reads"] = 0;
  j["rpo"] = {{"writes", 0},
              {"max_ms", 0.0},
              {"workloads",
               {{{"workload", "vm-web"},
                 {"acked_seq_at_old", 540},
                 {"recovered_seq", 540},
                 {"writes", 0},
                 {"ms", 0.0}}}}};
  j["routing_events"] = {{{"unix_nanos", fault + 278 * kMs},
                          {"kind", "endpoint_status"},
                          {"endpoint", "primary"},
                          {"new_status", "Degraded"}},
                         {{"unix_nanos", fault + 378 * kMs},
                          {"kind", "route_changed"},
                          {"old_route", "primary"},
                          {"new_route", kNewRegion}}};
  j["expectations"] = {
      {{"name", "RTO measured and within the strict failover estimate + 1 s"},
       {"want", "<= 1950 ms"},
       {"got", "461 ms"},
       {"pass", true}},
      {{"name", "acknowledged writes lost (sync replication)"},
       {"want", "0"},
       {"got", "0"},
       {"pass", true}},
      {{"name", "final routing"}, {"want", kNewRegion}, {"got", "primary"}, {"pass", false}}};
  j["problems"] = json::array();
  j["passed"] = false;
  j["history_file"] = "/tmp/drsim-demo/history.jsonl";
  return j;
}

TEST(HtmlReport, SelfContainedEscapedWithTimelineAndExpectations) {
  auto dir = temp_dir();
  auto path = dir / "report.html";
  Status s = write_html_report(synthetic_report(), synthetic_history(), path.string());
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  std::string html = read_file(path);

  // Self-contained: nothing fetched at view time.
  for (const char* banned : {"http://", "https://", "<script", "@import", "url(", "<link"}) {
    EXPECT_EQ(html.find(banned), std::string::npos) << "found " << banned;
  }
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("</svg>"), std::string::npos);
  EXPECT_NE(html.find("class=\"expectations\""), std::string::npos);
  EXPECT_NE(html.find("FAILED"), std::string::npos);
  EXPECT_NE(html.find("RTO measured and within the strict failover estimate + 1 s"),
            std::string::npos);
  // The RTO parts are labelled along the timeline.
  EXPECT_NE(html.find("detection 278 ms"), std::string::npos);
  EXPECT_NE(html.find("client TTL 83 ms"), std::string::npos);
  // Escaped: the region name and the "want" value never appear as markup.
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("second&lt;b&gt;ary"), std::string::npos);
  EXPECT_NE(html.find("&lt;= 1950 ms"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(HtmlReport, MissingFieldsStillProduceAFile) {
  auto dir = temp_dir();
  const std::vector<json> reports = {
      json(),                                                          // null
      json::object(),                                                  // empty
      json::array({1, 2, 3}),                                          // not an object at all
      json{{"drill", "demo"}, {"rto_ms", nullptr}, {"passed", true}},  // null RTO, no failover
      json{{"writes", "many"},
           {"expectations", {{{"pass", "yes"}}, 7}},
           {"routing_events", {{{"kind", "route_changed"}}, nullptr}},
           {"fault", {{"unix_nanos", "soon"}}},
           {"rto_parts_ms", 5}},  // mistyped fields
  };
  std::vector<std::vector<OpRecord>> histories = {{}, synthetic_history()};
  int n = 0;
  for (const json& report : reports) {
    for (const auto& history : histories) {
      auto path = dir / ("report-" + std::to_string(n++) + ".html");
      Status s;
      EXPECT_NO_THROW(s = write_html_report(report, history, path.string()));
      EXPECT_TRUE(s.is_ok()) << s.to_string();
      std::string html = read_file(path);
      EXPECT_NE(html.find("</html>"), std::string::npos) << path;
    }
  }
  // Only a path that cannot be written is an error, and it is a value.
  Status bad = write_html_report(json::object(), {}, (dir / "no/such/dir/report.html").string());
  EXPECT_FALSE(bad.is_ok());
  std::filesystem::remove_all(dir);
}

// Runs argv with stdout and stderr to `log` and a bounded wait; kills its process group
// (chromium's helpers included) on timeout. Returns the exit status, or -1 on timeout.
int run_bounded(const std::vector<std::string>& args, const std::filesystem::path& log,
                std::chrono::seconds timeout) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    // chromium logs D-Bus errors by the dozen in a container; keep them out of the test log.
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) return -1;
  ::setpgid(pid, pid);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid, SIGKILL);  // helpers left behind in chromium's group, if any
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(HtmlReport, RendersInHeadlessChromium) {
  const std::filesystem::path chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) GTEST_SKIP() << "chromium is not installed";
  const std::filesystem::path out_dir = DRSIM_TEST_OUTPUT_DIR;
  const auto html = out_dir / "report-screenshot.html";
  const auto png = out_dir / "report-screenshot.png";
  const auto log = out_dir / "report-screenshot.chromium.log";
  std::filesystem::remove(png);
  ASSERT_TRUE(write_html_report(synthetic_report(), synthetic_history(), html.string()).is_ok());
  auto profile = temp_dir();
  int rc = run_bounded(
      {chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", "--user-data-dir=" + profile.string(), "--screenshot=" + png.string(),
       "--window-size=1400,1800", "file://" + html.string()},
      log, std::chrono::seconds(60));
  std::filesystem::remove_all(profile);
  ASSERT_NE(rc, -1) << "chromium did not finish within 60 s";
  ASSERT_TRUE(std::filesystem::exists(png))
      << "chromium exited " << rc << " without " << png << "; its output:\n"
      << read_file(log);
  EXPECT_GT(std::filesystem::file_size(png), 10u * 1024) << png;
}

}  // namespace
}  // namespace drsim::cli
