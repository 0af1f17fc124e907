// The drsim binaries as a user runs them: --help, bad config, port in use,
// and the demo drill end to end.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/site_recovery.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;

TEST(Cli, EveryVerbHasHelp) {
  for (const char* verb :
       {"demo", "up", "down", "status", "load", "inject", "heal", "failover", "check"}) {
    auto r = run_binary("drsim", {verb, "--help"}, 10s);
    EXPECT_EQ(r.exit_code, 0) << verb << ": " << r.output;
    EXPECT_NE(r.output.find("--home"), std::string::npos) << verb;
  }
  for (const char* daemon : {"drsim-primary", "drsim-secondary", "drsim-trafficmgr"}) {
    auto r = run_binary(daemon, {"--help"}, 10s);
    EXPECT_EQ(r.exit_code, 0) << daemon << ": " << r.output;
  }
}

TEST(Cli, HomeMayStandBeforeOrAfterTheVerbOfAGroup) {
  const std::string home = make_temp_dir("drsim-cli-home") + "/nothing-up";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"vault", "--home", home, "list"},
           {"vault", "list", "--home", home},
           {"backup", "--home", home, "policy", "create", "v", "p", "--times", "06:00"},
           {"backup", "policy", "--home", home, "create", "v", "p", "--times", "06:00"},
           {"snapshot", "--home", home, "list"},
           {"plan", "--home", home, "list"},
           {"plan", "list", "--home", home}}) {
    auto r = run_binary("drsim", args, 10s);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.output;
    EXPECT_NE(r.output.find("no topology is up in " + home), std::string::npos)
        << args[0] << ": " << r.output;
  }
}

// --json answers with one JSON document whatever happened: a failure is {"ok": false, "error":
// {code, message}} on stdout with the same exit code as the text form (it was a text error).
TEST(Cli, JsonOutputOfAFailedCommandIsAJsonErrorWithTheSameExitCode) {
  std::string home = make_temp_dir("drsim-json") + "/nothing-up";
  for (std::vector<std::string> args :
       {std::vector<std::string>{"failover", "--json"}, {"failover", "--planned", "--json"},
        {"reprotect", "--json"}, {"failback", "--json"}, {"items", "--json"},
        {"vm", "list", "--json"}, {"protect", "--item", "vm-web", "--json"},
        {"load", "--json", "--duration", "1"},
        {"inject", "outage", "--region", "primary", "--json"}, {"heal", "--json"},
        {"commit", "--json"}, {"cleanup", "--json"}, {"failover", "--test-cleanup", "--json"},
        {"change-point", "--json"}, {"plan", "run", "p", "--test", "--json"},
        {"plan", "resume", "p", "--json"},
        {"protect", "--group", "g", "--item", "vm-web", "--item", "vm-db", "--json"},
        {"failover", "--unplanned", "--json"}, {"failover", "--test", "--item", "vm-web", "--json"},
        {"vm", "delete", "vm-web", "--yes", "--json"}, {"backup", "now", "v", "vm-web", "--json"},
        {"plan", "create", "p", "--group", "vm-web", "--json"}}) {
    args.insert(args.end(), {"--home", home});
    auto r = run_binary("drsim", args, 10s);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << args[0] << ": not JSON: " << r.output;
    EXPECT_EQ(j["schema_version"], 1) << r.output;
    EXPECT_EQ(j["ok"], false) << r.output;
    EXPECT_EQ(j["error"]["code"], "NOT_FOUND") << r.output;
    EXPECT_NE(j["error"]["message"].get<std::string>().find("no topology is up in " + home),
              std::string::npos)
        << r.output;
  }
}

TEST(Cli, BadConfigValueExits2NamingFileAndField) {
  std::string dir = make_temp_dir("drsim-cfg");
  std::string path = dir + "/bad.yaml";
  struct Case {
    std::string text, want;
  };
  const std::vector<Case> cases = {
      {"traffic_manager:\n  probe_interval_ms: 100\n  tolerated_failures: 12\n",
       path + ":3: traffic_manager.tolerated_failures: 12 is out of range 0..9"},
      {"workloads:\n  - { name: vm-web, mode: eventually }\n", "workloads[0].mode"},
      {"traffic_manager: { ttl_ms: 100, probe_intervall_ms: 5 }\n",
       "probe_intervall_ms: unknown field"},
      // A YAML key that is a list: refused naming it (the price-file fuzz target found it ending
      // the process with an uncaught yaml-cpp exception, in every loader's key check).
      {"traffic_manager:\n  ? [ttl_ms]\n  : 100\n",
       path + ":2: traffic_manager: a key must be a plain name, not a list or a mapping"},
      {"traffic_manager: { ttl_ms: 100 }\nworkloads: [ {name: a} ]\ntraffic_manager: {}\n",
       path + ":3: traffic_manager: key 'traffic_manager' appears twice (first at line 1)"},
  };
  for (const auto& c : cases) {
    {
      std::ofstream out(path, std::ios::trunc);
      out << c.text;
    }
    auto r = run_binary("drsim", {"up", "--home", dir + "/home", "--config", path}, 20s);
    EXPECT_EQ(r.exit_code, 2) << c.text << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos)
        << "want: " << c.want << "\ngot: " << r.output;
  }
  std::filesystem::remove_all(dir);
}

TEST(Cli, BadDrillFileExits2WithFileLineAndReason) {
  std::string dir = make_temp_dir("drsim-drill");
  std::string path = dir + "/bad.yaml";
  struct Case {
    std::string text, want;
  };
  std::vector<Case> cases = {
      {"name: x\nsteps:\n  - wait: 2s\n  - inject: { fault: melt, region: primary }\n",
       path + ":4: steps[1].inject.fault: 'melt' is not a fault (one of: kill"},
      {"name: x\nsteps:\n  - inject: { fault: latency, link: replication,\n      latency_ms: "
       "9999999 }\n",
       path + ":4: steps[0].inject.latency_ms: 9999999 is out of range 0..600000"},
      // Past 2^64: refused, not an uncaught std::out_of_range (it aborted drill validate).
      {"name: x\nsteps:\n  - inject: { fault: latency, link: replication,\n      latency_ms: "
       "99999999999999999999 }\n",
       path + ":4: steps[0].inject.latency_ms: 99999999999999999999 is out of range 0..600000"},
      {"name: x\nsteps:\n  - inject: { fault: partition, region: primary }\n",
       path + ":3: steps[0].inject.region: does not apply to fault partition"},
      {"name: x\nsteps:\n  - inject: { fault: latency, link: all }\n",
       path + ":3: steps[0].inject.fault: fault latency needs latency_ms"},
      {"name: x\nsteps:\n  - wait: soon\n", path + ":3: steps[0].wait: 'soon' is not a duration"},
      {"name: x\nsteps: []\n", path + ":2: steps: must be a non-empty list"},
      {"name: x\ntopology:\n  traffic_manager: { tolerated_failures: 10 }\nsteps: [ {wait: 1s} ]\n",
       path + ":3: topology.traffic_manager.tolerated_failures: 10 is out of range 0..9"},
      {"name: x\nsteps: [ {wait: 1s} ]\nexpect: { max_lost: 0 }\n",
       path + ":3: expect.max_lost: unknown field"},
      {"name: x\nsteps:\n  - inject: { fault: kill, ? [region]: primary }\n",
       path + ":3: steps[0].inject: a key must be a plain name, not a list or a mapping"},
      {"name: x\n? { steps: 1 }\n: [ {wait: 1s} ]\n",
       path + ":2: a key must be a plain name, not a list or a mapping"},
      {"name: x\nworkload:\n  stale_clients: { count: 2, in_flight: 100 }\nsteps: [ {wait: 1s} ]\n",
       path + ":3: workload.stale_clients.in_flight: 100 is out of range 1..64"},
      {"name: x\nworkload:\n  stale_clients: { in_flight: 4 }\nsteps: [ {wait: 1s} ]\n",
       path + ":3: workload.stale_clients.count: is required"},
      {"name: x\nworkload:\n  stale_clients: { count: 1, reresolve_after_failures: sometimes }\n"
       "steps: [ {wait: 1s} ]\n",
       path + ":3: workload.stale_clients.reresolve_after_failures: must be a number of "
              "consecutive failures (1..1000) or never"},
      {"name: x\nworkload: { deadline_ms: 0 }\nsteps: [ {wait: 1s} ]\n",
       path + ":2: workload.deadline_ms: 0 is out of range 1..600000"},
      {"name: x\nworkload: { in_flight: 65 }\nsteps: [ {wait: 1s} ]\n",
       path + ":2: workload.in_flight: 65 is out of range 1..64"},
      {"name: [unclosed\n", path + ":"},
      {"name: x\nsteps:\n  - at: 10s\n  - wait: 1s\n  - at: 5s\n",
       path + ":5: steps[2].at: 5 s is earlier than the at: 10 s of step 1 (line 3)"},
      {"name: x\nsteps:\n  - protect: { item: nosuch }\n",
       path + ":3: steps[0].protect.item: 'nosuch' is not a workload of the drill's topology "
              "(vm-web, vm-db)"},
      {"name: x\nsteps:\n  - protect: { group: g, items: [vm-web, vm-nope] }\n",
       path + ":3: steps[0].protect.items: 'vm-nope' is not a workload"},
      {"name: x\nworkload: { rate: 10 }\nsteps: [ {wait: 1s} ]\nworkload: { rate: 20 }\n",
       path + ":4: workload: key 'workload' appears twice (first at line 2)"},
      {"name: x\nsteps:\n  - inject: { fault: kill, region: primary, region: secondary }\n",
       path + ":3: steps[0].inject.region: key 'region' appears twice (first at line 3)"},
      // Clock drift beyond the lease's bound ε (0.05): each side alone is inside it, together
      // (primary 6 % slow, secondary 6 % fast) a lease could outlast its grantor's belief.
      {"name: x\nsteps:\n  - inject: { fault: clock-drift, region: primary, drift_ppm: -60000 }\n"
       "  - inject: { fault: clock-drift, region: secondary, drift_ppm: +60000 }\n",
       path + ":4: steps[1].inject.drift_ppm: clock drift: primary runs at -60000 ppm and "
              "secondary at 60000 ppm, so a lease primary holds could outlast secondary's belief "
              "in it"},
      {"name: x\nsteps:\n  - inject: { fault: clock-drift, region: primary, drift_ppm: 500000 }\n",
       path + ":3: steps[0].inject.drift_ppm: '500000' is not a number of ppm in -400000..400000"},
      {"name: x\nsteps:\n  - inject: { fault: clock-drift, region: trafficmgr, drift_ppm: 1 }\n",
       path + ":3: steps[0].inject.region: 'trafficmgr' is not a region (primary, secondary)"},
  };
  for (const auto& c : cases) {
    {
      std::ofstream out(path, std::ios::trunc);
      out << c.text;
    }
    std::filesystem::remove(dir + "/junit.xml");
    auto r = run_binary(
        "drsim", {"drill", "run", path, "--home", dir + "/home", "--junit", dir + "/junit.xml"},
        20s);
    EXPECT_EQ(r.exit_code, 2) << c.text << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos)
        << "want: " << c.want << "\ngot: " << r.output;
    // CI sees a bad drill file as a failed test case that says why.
    std::ifstream junit(dir + "/junit.xml");
    std::stringstream xml;
    xml << junit.rdbuf();
    EXPECT_NE(xml.str().find("failures=\"1\""), std::string::npos) << xml.str();
    EXPECT_NE(xml.str().find("<failure message=\"bad drill file: " + path + ":"),
              std::string::npos)
        << xml.str();
  }
  std::filesystem::remove_all(dir);
}

// `drill validate --json`: the drill's steps (each with its timeline label, if it has one), or a
// bad file's "file:line: field: reason" as the JSON error with exit 2.
TEST(Cli, DrillValidateAnswersJson) {
  std::string dir = make_temp_dir("drsim-validate");
  const std::string good = dir + "/good.yaml", bad = dir + "/bad.yaml";
  {
    std::ofstream out(good);
    out << "name: vm-drill\nsteps:\n  - wait: 1s\n  - vm_delete: { vm: vm-db, expect: gone }\n"
           "  - drsim: backup now rsv vm-web\n";
    std::ofstream out_bad(bad);
    out_bad << "name: x\nsteps:\n  - vm_delete: { vm: vm-db, expect: maybe }\n";
  }
  auto r = run_binary("drsim", {"drill", "validate", good, "--json"}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = parse_json_output(r);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["name"], "vm-drill");
  ASSERT_EQ(j["steps"].size(), 3u) << r.output;
  EXPECT_EQ(j["steps"][1]["line"], 4);
  EXPECT_EQ(j["steps"][1]["action"], "delete VM vm-db in primary (expect gone)");
  EXPECT_EQ(j["steps"][1]["timeline"], "delete VM vm-db");
  EXPECT_EQ(j["steps"][2]["timeline"], "backup vm-web");
  EXPECT_EQ(j["steps"][0]["timeline"], "");

  r = run_binary("drsim", {"drill", "validate", bad, "--json"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  j = parse_json_output(r);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(j["error"]["message"].get<std::string>().rfind(bad + ":3: steps[0].vm_delete.expect", 0),
            0u)
      << r.output;
  std::filesystem::remove_all(dir);
}

TEST(Cli, DaemonNamesThePortAlreadyInUse) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  int port = ntohs(sa.sin_port);
  std::string dir = make_temp_dir("drsim-port");
  auto r = run_binary("drsim-primary",
                      {"--listen", "127.0.0.1:" + std::to_string(port), "--insecure", "--data-dir", dir},
                      20s);
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("port " + std::to_string(port) + " is already in use"), std::string::npos)
      << r.output;
  std::filesystem::remove_all(dir);
}

// One parser for every duration flag (--retention, --rpo-threshold, --script-timeout, backup
// clock --advance, sim --duration): compound units, and a sum too large is refused rather than
// wrapped (999999999d wrapped and passed sim --duration's "at most 1h").
TEST(Cli, DurationFlagsParseCompoundUnitsAndRefuseWhatWouldOverflow) {
  using namespace std::chrono_literals;
  auto d = cli::parse_duration_text("--x", "1h30m250ms");
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(*d, 1h + 30min + 250ms);
  EXPECT_EQ(*cli::parse_duration_text("--x", "36500d"), std::chrono::hours(24 * 36500));
  for (const char* big : {"36501d", "999999999d", "106752d", "1000000000h", "99999999999s"}) {
    auto r = cli::parse_duration_text("--x", big);
    ASSERT_FALSE(r.is_ok()) << big;
    EXPECT_NE(r.status().message().find("too large"), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(cli::parse_duration_text("--x", "5x").is_ok());
  // Sizes (--os-disk, --data-disk) the same: a shift past 64 bits is refused, not wrapped.
  EXPECT_EQ(*cli::parse_size_text("--x", "32T"), uint64_t{32} << 40);
  auto size = cli::parse_size_text("--x", "10000000000000T");
  ASSERT_FALSE(size.is_ok());
  EXPECT_NE(size.status().message().find("too large"), std::string::npos);
  EXPECT_FALSE(cli::parse_duration_text("--x", "").is_ok());
  auto r = run_binary("drsim", {"sim", "--duration", "999999999d"}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--duration: '999999999d' is too large (at most 100 years)"),
            std::string::npos)
      << r.output;
}

TEST(Cli, DaemonRejectsBadFlagsWithExit2) {
  std::string dir = make_temp_dir("drsim-flags");
  auto r = run_binary("drsim-secondary", {"--data-dir", dir, "--workloads", "vm web"}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--workloads"), std::string::npos) << r.output;
  r = run_binary("drsim-secondary", {"--data-dir", dir, "--listen", "127.0.0.1:99999"}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--listen"), std::string::npos) << r.output;
  // The flags every daemon shares (runtime::DaemonFlags) are checked alike: an unknown log
  // level was taken as "off" by the region daemons before.
  for (const std::string daemon : {"drsim-secondary", "drsim-trafficmgr", "drsim-faultproxy"}) {
    std::vector<std::string> args = {"--log-level", "loud"};
    if (daemon == "drsim-secondary") args.insert(args.end(), {"--data-dir", dir});
    r = run_binary(daemon, args, 10s);
    EXPECT_EQ(r.exit_code, 2) << daemon << ": " << r.output;
    EXPECT_NE(r.output.find("--log-level: loud not in {trace,debug,info,warn,error,critical,off}"),
              std::string::npos)
        << daemon << ": " << r.output;
  }
  std::filesystem::remove_all(dir);
}

// `drsim down` for `home` on scope exit, so a failing test never leaves a topology running.
struct DownOnExit {
  std::string home;
  ~DownOnExit() { run_binary("drsim", {"down", "--home", home}, 30s); }
};

// `drsim status --home HOME --json`, parsed (discarded on a parse error).
nlohmann::json status_json(const std::string& home) {
  auto s = run_binary("drsim", {"status", "--home", home, "--json"}, 20s);
  EXPECT_EQ(s.exit_code, 0) << s.output;
  return parse_json_output(s);
}

// Clock drift (`drsim inject clock-drift`): inside the lease's bound it is injected and shown by
// `drsim status`; a drift that, with the other region's, could break the lease is refused naming
// both clocks unless forced; heal resets it. The healthy standby's NOT_SERVING is explained.
TEST(Cli, ClockDriftInsideTheLeaseBoundIsInjectedBeyondItRefusedUnlessForced) {
  std::string home = make_temp_dir("drsim-drift");
  DownOnExit down{home};
  auto r = run_binary("drsim", {"up", "--home", home}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto drift_of = [&](const std::string& region) {
    nlohmann::json st = status_json(home);
    for (const auto& reg : st["regions"]) {
      if (reg["region"] == region) return reg.value("clock_drift_ppm", int64_t{-1});
    }
    return int64_t{-1};
  };
  auto inject = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"inject", "clock-drift", "--home", home};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_binary("drsim", args, 20s);
  };

  r = inject({"--region", "primary", "--drift-ppm", "-40000"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("primary's clock now runs at -40000 ppm"), std::string::npos) << r.output;
  EXPECT_EQ(drift_of("primary"), -40000);
  auto text = run_binary("drsim", {"status", "--home", home}, 20s);
  EXPECT_NE(text.output.find("injected clock drift -40000 ppm"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("not serving*"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("a healthy standby answers NOT_SERVING"), std::string::npos)
      << text.output;

  // 8 % fast against the primary's 4 % slow: a lease the primary holds could outlast the
  // secondary's belief in it.
  r = inject({"--region", "secondary", "--drift-ppm", "80000"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("clock drift: primary runs at -40000 ppm and secondary at 80000 ppm"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("not injected (pass --beyond-bound"), std::string::npos) << r.output;
  EXPECT_EQ(drift_of("secondary"), 0);

  r = inject({"--region", "secondary", "--drift-ppm", "80000", "--beyond-bound", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("BEYOND the lease's drift bound"), std::string::npos) << r.output;
  EXPECT_EQ(drift_of("secondary"), 80000);

  r = run_binary("drsim", {"heal", "--home", home}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(drift_of("primary"), 0);
  EXPECT_EQ(drift_of("secondary"), 0);
}

// The action verbs answer one JSON document with --json: a refusal as an error object, a planned
// failover and a failback with what happened.
TEST(Cli, FailoverAndFailbackAnswerJson) {
  std::string home = make_temp_dir("drsim-actjson");
  DownOnExit down{home};
  // `up --json`: the daemons it started, where they listen, and the progress lines.
  auto r = run_binary("drsim", {"up", "--home", home, "--json"}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto up = parse_json_output(r);
  EXPECT_EQ(up["schema_version"], 1);
  EXPECT_EQ(up["ok"], true);
  EXPECT_EQ(up["home"], home);
  EXPECT_EQ(up["state_file"], home + "/topology.json");
  for (const char* daemon : {"primary", "secondary", "trafficmgr"}) {
    EXPECT_TRUE(up["daemons"][daemon]["pid"].is_number_integer()) << daemon << ": " << r.output;
    EXPECT_GT(up["daemons"][daemon]["pid"].get<int64_t>(), 0) << daemon;
    EXPECT_EQ(up["daemons"][daemon]["address"].get<std::string>().rfind("127.0.0.1:", 0), 0u)
        << daemon << ": " << r.output;
  }
  EXPECT_FALSE(up["progress"].empty()) << r.output;
  // Unplanned failover of the healthy pair: refused (--force), as JSON.
  r = run_binary("drsim", {"failover", "--home", home, "--json"}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto refused = parse_json_output(r);
  EXPECT_EQ(refused["ok"], false);
  EXPECT_EQ(refused["error"]["code"], "FAILED_PRECONDITION");

  r = run_binary("drsim", {"failover", "--planned", "--reprotect", "--home", home, "--json"}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto planned = parse_json_output(r);
  EXPECT_EQ(planned["schema_version"], 1);
  EXPECT_EQ(planned["ok"], true);
  EXPECT_EQ(planned["from"], "primary");
  EXPECT_EQ(planned["to"], "secondary");
  EXPECT_TRUE(planned["response"].is_object()) << r.output;
  EXPECT_FALSE(planned["messages"].empty()) << r.output;

  r = run_binary("drsim", {"failback", "--home", home, "--json"}, 90s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto back = parse_json_output(r);
  EXPECT_EQ(back["ok"], true);
  EXPECT_EQ(back["failover"]["to"], "primary");
  EXPECT_EQ(back["reprotect"]["active"], "primary");
  EXPECT_EQ(back["reprotect"]["standby"], "secondary");
}

// `drsim up` puts every link behind the fault proxy; `drsim inject` faults one of them from the
// shell and `drsim heal` clears it. A probe-only partition degrades the primary in the Traffic
// Manager's eyes; latency on the client link slows every client operation by at least that much.
TEST(Cli, LinkFaultsFromTheShell) {
  std::string home = make_temp_dir("drsim-links");
  DownOnExit down{home};
  auto r = run_binary("drsim", {"up", "--home", home}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto status = [&] { return status_json(home); };
  auto tm_status_of = [&](const std::string& region) {
    nlohmann::json st = status();  // keep it alive: the loop walks a reference into it
    for (const auto& reg : st["regions"]) {
      if (reg["region"] == region) return reg["traffic_manager_status"].get<std::string>();
    }
    return std::string("?");
  };
  auto wait_tm_status = [&](const std::string& region, const std::string& want) {
    for (int i = 0; i < 50; ++i) {  // 50 x (status call + 100 ms): bounded
      if (tm_status_of(region) == want) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  ASSERT_EQ(status()["links"].size(), 8u);  // client, probe, witness per region; repl both ways

  r = run_binary("drsim", {"inject", "partition", "--home", home, "--link", "probe.primary"}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(wait_tm_status("primary", "Degraded")) << "probe-only partition not seen";
  bool shown = false;
  nlohmann::json st = status();
  for (const auto& l : st["links"]) {
    if (l["name"] == "probe.primary") shown = l.value("faults", "") == "both: partition (drop)";
  }
  EXPECT_TRUE(shown) << status().dump(2);
  r = run_binary("drsim", {"heal", "--home", home, "--link", "probe.primary"}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(wait_tm_status("primary", "Online")) << "heal did not bring the primary back";

  r = run_binary("drsim",
                 {"inject", "latency", "--home", home, "--link", "client.primary", "--direction",
                  "up", "--latency-ms", "120"},
                 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string history = home + "/h.jsonl";
  r = run_binary("drsim",
                 {"load", "--home", home, "--duration", "1.5", "--rate", "20", "--clients", "2",
                  "--history", history},
                 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(history);
  std::string line;
  int ok = 0;
  while (std::getline(in, line)) {
    auto op = nlohmann::json::parse(line);
    if (op["outcome"] != "ok") continue;
    ++ok;
    double ms = (op["complete_ns"].get<int64_t>() - op["invoke_ns"].get<int64_t>()) / 1e6;
    EXPECT_GE(ms, 115.0) << line;  // jitter 0: every chunk waits the full latency
  }
  EXPECT_GT(ok, 5);

  // A fault that names what is wrong, exit 2.
  r = run_binary(
      "drsim",
      {"inject", "latency", "--home", home, "--link", "client.nowhere", "--latency-ms", "5"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("link 'client.nowhere' is not a link"), std::string::npos) << r.output;
  // heal --region names regions and daemons, not links; load names its own flag.
  r = run_binary("drsim", {"heal", "--home", home, "--region", "tertiary"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--region: 'tertiary' is not a region or daemon of this topology "
                          "(faultproxy, primary, secondary, trafficmgr); links are healed with "
                          "--link"),
            std::string::npos)
      << r.output;
  r = run_binary("drsim", {"load", "--home", home, "--duration", "1", "--clients", "0"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--clients: must be 1..256"), std::string::npos) << r.output;
}

// `drsim up` starts the Traffic Manager with DNS and the dashboard; `drsim status` names both
// and the failover figures per profile; `drsim load --resolve dns` resolves through the real DNS
// server and caches for the TTL; after an outage and a failover the measured failover shows.
TEST(Cli, UpServesDnsAndDashboardAndLoadResolvesOverDns) {
  std::string home = make_temp_dir("drsim-dns");
  DownOnExit down{home};
  auto r = run_binary("drsim", {"up", "--home", home}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("name drsim.trafficmanager.test"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("dashboard https://127.0.0.1:"), std::string::npos) << r.output;

  auto text = run_binary("drsim", {"status", "--home", home}, 20s);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("dns       127.0.0.1:"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("FAILOVER (probes + TTL) documented / worst case / last measured"), std::string::npos)
      << text.output;
  // Defaults: TTL 500 ms, interval 100 ms, timeout 50 ms, 2 tolerated failures.
  EXPECT_NE(text.output.find("700 ms / 950 ms / none yet"), std::string::npos) << text.output;
  auto json_status = [&] { return status_json(home); };
  nlohmann::json st = json_status();
  std::string dns = st["traffic_manager"]["dns_address"];
  ASSERT_EQ(dns.rfind("127.0.0.1:", 0), 0u) << st.dump(2);
  ASSERT_EQ(st["profiles"].size(), 1u);
  EXPECT_EQ(st["profiles"][0]["failover_documented_ms"], 700.0);
  EXPECT_EQ(st["profiles"][0]["failover_worst_case_ms"], 950.0);
  // Two clients for 2.5 s: a DNS answer lives 1 s (500 ms rounded up), so a handful of lookups.
  std::string history = home + "/dns.jsonl";
  r = run_binary("drsim",
                 {"load", "--home", home, "--duration", "2.5", "--rate", "40", "--clients", "2",
                  "--resolve", "dns", "--history", history},
                 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto at = r.output.find(" DNS lookups");
  ASSERT_NE(at, std::string::npos) << r.output;
  auto start = r.output.rfind(' ', at - 1) + 1;
  int lookups = std::stoi(r.output.substr(start, at - start));
  EXPECT_GE(lookups, 2) << r.output;
  EXPECT_LE(lookups, 10) << r.output;
  std::ifstream in(history);
  std::string line;
  int ok = 0;
  while (std::getline(in, line)) {
    auto op = nlohmann::json::parse(line);
    if (op["outcome"] == "ok" && op["region"] == "primary") ++ok;
  }
  EXPECT_GT(ok, 20) << r.output;

  // An outage, then the operator fails over: the daemon measures first failed probe → route.
  ASSERT_EQ(run_binary("drsim", {"inject", "outage", "--home", home, "--region", "primary"}, 20s)
                .exit_code,
            0);
  std::this_thread::sleep_for(500ms);
  r = run_binary("drsim", {"failover", "--home", home}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  bool measured = false;
  for (int i = 0; i < 50 && !measured; ++i) {  // bounded: 50 x (status + 100 ms)
    st = json_status();
    measured = st["profiles"][0]["last_failover_ms"].get<double>() > 0;
    if (!measured) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(measured) << st.dump(2);
  EXPECT_EQ(st["profiles"][0]["last_failover_endpoint"], "primary");
  EXPECT_EQ(st["profiles"][0]["route"], "secondary");
  // At least the 500 ms between the outage and the failover.
  EXPECT_GE(st["profiles"][0]["last_failover_ms"].get<double>(), 500.0);
}

TEST(Demo, DefaultDrillPassesWithNoAcknowledgedWriteLost) {
  std::string home = make_temp_dir("drsim-demo-test");
  auto r = run_binary("drsim", {"demo", "--home", home, "--warmup", "2", "--after", "1"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASSED"), std::string::npos) << r.output;
  std::ifstream in(home + "/report.json");
  ASSERT_TRUE(in) << "no report.json";
  auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["acknowledged_writes_lost"], 0);
  EXPECT_TRUE(report["failover"]["automated_by_drill"].get<bool>());
  EXPECT_GT(report["rto_ms"].get<double>(), 0.0);
  EXPECT_GT(report["acknowledged_by_region"]["secondary"].get<int>(), 0);
  std::filesystem::remove_all(home);
}

// An unplanned failover of a healthy, replicating pair fences a working region: refused unless
// --force, saying what would be lost and offering --planned. With the primary in an outage (what
// an unplanned failover is for) no --force is needed.
TEST(Cli, UnplannedFailoverOfAHealthyActiveRegionNeedsForce) {
  std::string home = make_temp_dir("drsim-force") + "/home";
  ASSERT_EQ(run_binary("drsim", {"up", "--home", home}, 60s).exit_code, 0);
  auto refused = run_binary("drsim", {"failover", "--home", home}, 30s);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("region primary is active, healthy and replicating to secondary"),
            std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("--planned"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("add --force"), std::string::npos) << refused.output;
  auto status = run_binary("drsim", {"status", "--home", home, "--json"}, 30s);
  EXPECT_NE(status.output.find("\"epoch\": 1"), std::string::npos)
      << "the refused failover changed the epoch:\n" << status.output;

  auto forced = run_binary("drsim", {"failover", "--force", "--home", home}, 30s);
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(forced.output.find("region secondary promoted to active at epoch 2"),
            std::string::npos)
      << forced.output;
  // Failed over, not re-protected: failing back at once (unplanned) would give up what the
  // secondary acknowledged since, which is on no other region: refused, offering re-protect and
  // failback; --force does it.
  auto back = run_binary("drsim", {"failover", "--region", "primary", "--home", home}, 30s);
  EXPECT_EQ(back.exit_code, 1) << back.output;
  EXPECT_NE(back.output.find("region secondary is active, healthy and unprotected (failed over, "
                             "re-protect pending)"),
            std::string::npos)
      << back.output;
  EXPECT_NE(back.output.find("`drsim reprotect`, then `drsim failback`"), std::string::npos)
      << back.output;
  back = run_binary("drsim", {"failover", "--region", "primary", "--force", "--home", home}, 30s);
  EXPECT_EQ(back.exit_code, 0) << back.output;
  run_binary("drsim", {"down", "--home", home}, 30s);

  std::string home2 = make_temp_dir("drsim-force-outage") + "/home";
  ASSERT_EQ(run_binary("drsim", {"up", "--home", home2}, 60s).exit_code, 0);
  ASSERT_EQ(
      run_binary("drsim", {"inject", "outage", "--region", "primary", "--home", home2}, 30s)
          .exit_code,
      0);
  // Failback before anything failed over says what is really wrong (not "already active").
  auto failback = run_binary("drsim", {"failback", "--home", home2}, 30s);
  EXPECT_EQ(failback.exit_code, 1) << failback.output;
  EXPECT_NE(failback.output.find("cannot fail back: nothing failed over — the primary region is "
                                 "still the active region, in an injected outage"),
            std::string::npos)
      << failback.output;
  auto outage = run_binary("drsim", {"failover", "--home", home2}, 30s);
  EXPECT_EQ(outage.exit_code, 0) << outage.output;
  // Failed over, primary still in its outage: failback names the outage.
  failback = run_binary("drsim", {"failback", "--home", home2}, 30s);
  EXPECT_EQ(failback.exit_code, 1) << failback.output;
  EXPECT_NE(failback.output.find("the primary region is in an injected outage; end it first"),
            std::string::npos)
      << failback.output;
  run_binary("drsim", {"down", "--home", home2}, 30s);
}

}  // namespace
}  // namespace drsim::testing
