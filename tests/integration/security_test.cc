// Hardening against a caller on the same machine (issue 17), with real processes on loopback:
// names that would reach paths outside the data dir are refused by every region service and by
// the CLI's reproducer; plan scripts see only an allow-listed environment, a fixed cwd and
// descriptors 0-2, and die with a killed daemon's restart; plan-run logs survive a restart; and
// `drsim down` / `inject` signal no PID that now belongs to another process.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "cli/child_process.h"
#include "cli/plan_commands.h"
#include "cli/protection.h"
#include "cli/rpc_clients.h"
#include "common/net/grpc_util.h"
#include "common/region/plan_script.h"
#include "drsim/v1/backup.grpc.pb.h"
#include "drsim/v1/faultproxy.grpc.pb.h"
#include "drsim/v1/siterecovery.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kTwoVms[] = R"(
workloads:
  - { name: vm-web, mode: async }
  - { name: vm-db, mode: async }
site_recovery: { time_scale: 30 }
fault_proxy: { enabled: false }
)";

// Every file and directory under `dir` (relative names), to tell that nothing changed.
std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    out.insert(fs::relative(e.path(), dir).string());
  }
  return out;
}

template <typename Call>
grpc::Status call(Call c) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  return c(&ctx);
}

// The reproducer of issue 17: a consistency group named "/../../..<victim>" made checkpoints
// outside the data dir, and a test failover of it deleted <victim> recursively.
TEST(Security, TraversalGroupNameIsRefusedAndNothingOutsideTheDataDirIsTouched) {
  TestTopology topo(kTwoVms);
  ASSERT_TRUE(topo.ok());
  const std::string victim = make_temp_dir("drsim-victim");
  { std::ofstream(victim + "/precious.txt") << "keep me\n"; }
  fs::create_directories(victim + "/sub");
  const auto before = listing(victim);
  const std::string group = "/../../../.." + victim;

  auto protect = run_binary(
      "drsim",
      {"protect", "--home", topo.home(), "--group", group, "--item", "vm-web", "--item", "vm-db"},
      30s);
  EXPECT_NE(protect.exit_code, 0) << protect.output;
  EXPECT_NE(protect.output.find("group: '" + group + "' may use only letters, digits"),
            std::string::npos)
      << protect.output;
  // Something protected, so the CLI sends the test failover to the vault (on the old code the
  // group itself was protected: wait until it or vm-web is, whichever the vault took).
  (void)run_binary("drsim", {"protect", "--home", topo.home(), "--item", "vm-web"}, 30s);
  (void)wait_until(
      [&] {
        return sr_item_state(topo.address("secondary"), "vm-web") == "Protected" ||
               sr_item_state(topo.address("secondary"), group) == "Protected";
      },
      30s);
  auto test =
      run_binary("drsim", {"failover", "--home", topo.home(), "--test", "--item", group}, 30s);
  EXPECT_NE(test.exit_code, 0) << test.output;
  EXPECT_NE(test.output.find("item: '" + group + "' may use only letters, digits"),
            std::string::npos)
      << test.output;

  EXPECT_EQ(listing(victim), before) << "a directory outside the data dir changed";
  std::ifstream in(victim + "/precious.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "keep me");
  fs::remove_all(victim);
}

// The drill and topology loaders refuse such names before anything starts, with file:line.
TEST(Security, DrillAndTopologyFilesRefuseTraversalNames) {
  const std::string dir = make_temp_dir("drsim-drill-names");
  const std::string path = dir + "/bad.yaml";
  struct Case {
    std::string text, want;
  };
  const std::vector<Case> cases = {
      {"name: x\nsteps:\n  - protect: { group: ../../victim, items: [vm-a, vm-b] }\n",
       path + ":3: steps[0].protect.group: '../../victim' may use only letters, digits"},
      {"name: x\nsteps:\n  - protect: { item: .. }\n",
       path + ":3: steps[0].protect.item: '..' is not a name"},
      {"name: x\nsteps:\n  - failover: { test: true, items: [/etc] }\n",
       path + ":3: steps[0].failover.items[0]: '/etc' may use only letters, digits"},
      {"name: x\nsteps:\n  - plan: { run: ../p, kind: test }\n",
       path + ":3: steps[0].plan.run: '../p' may use only letters, digits"},
      {"name: x\ntopology:\n  workloads: [ { name: '..', mode: sync } ]\nsteps: [ {wait: 1s} ]\n",
       path + ":3: topology.workloads[0].name: '..' is not a name"},
  };
  for (const auto& c : cases) {
    { std::ofstream(path, std::ios::trunc) << c.text; }
    auto r = run_binary("drsim", {"drill", "run", path, "--home", dir + "/home"}, 20s);
    EXPECT_EQ(r.exit_code, 2) << c.text << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos)
        << "want: " << c.want << "\ngot: " << r.output;
  }
  fs::remove_all(dir);
}

// Each region service refuses a traversal name with INVALID_ARGUMENT naming the field.
TEST(Security, EveryRegionServiceRefusesTraversalNames) {
  TestTopology topo(kTwoVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  auto sr = drsim::v1::SiteRecovery::NewStub(cli::operator_channel(vault));
  auto backup = drsim::v1::Backup::NewStub(cli::operator_channel(topo.address("primary")));
  auto workload = topo.workload_stub("primary");
  auto expect_refused = [](const grpc::Status& s, const std::string& field, const char* rpc) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << rpc << ": " << s.error_message();
    EXPECT_EQ(s.error_message().rfind(field + ": ", 0), 0u) << rpc << ": " << s.error_message();
  };

  // Site Recovery.
  drsim::v1::ProtectGroupRequest group;
  group.set_group("../../victim");
  group.add_items("vm-web");
  group.add_items("vm-db");
  drsim::v1::ProtectItemResponse protected_group;
  expect_refused(call([&](auto* c) { return sr->ProtectGroup(c, group, &protected_group); }),
                 "group", "ProtectGroup");
  drsim::v1::TestFailoverRequest test;
  test.set_item("..");
  drsim::v1::TestFailoverResponse tested;
  expect_refused(call([&](auto* c) { return sr->TestFailover(c, test, &tested); }), "item",
                 "TestFailover");
  drsim::v1::CreatePlanRequest plan;
  plan.mutable_plan()->set_name("..");
  plan.mutable_plan()->add_groups()->add_items("vm-web");
  drsim::v1::PlanInfo plan_info;
  expect_refused(call([&](auto* c) { return sr->CreatePlan(c, plan, &plan_info); }), "plan.name",
                 "CreatePlan");

  // Backup: vaults, snapshots, images.
  drsim::v1::CreateVaultRequest v;
  v.set_vault("..");
  drsim::v1::CreateVaultResponse created_vault;
  expect_refused(call([&](auto* c) { return backup->CreateVault(c, v, &created_vault); }), "vault",
                 "CreateVault");
  drsim::v1::CreateSnapshotRequest snap;
  snap.set_disk("vm-web-osdisk");
  snap.set_snapshot("..");
  drsim::v1::CreateSnapshotResponse snapped;
  expect_refused(call([&](auto* c) { return backup->CreateSnapshot(c, snap, &snapped); }),
                 "snapshot", "CreateSnapshot");
  drsim::v1::CaptureImageRequest image;
  image.set_vm("vm-web");
  image.set_image("../../image");
  drsim::v1::CaptureImageResponse captured;
  expect_refused(call([&](auto* c) { return backup->CaptureImage(c, image, &captured); }), "image",
                 "CaptureImage");

  // Workload.
  drsim::v1::PutRequest put;
  put.set_workload("../vm-web");
  put.set_key("k");
  put.set_value("v");
  drsim::v1::PutResponse put_resp;
  expect_refused(call([&](auto* c) { return workload->Put(c, put, &put_resp); }), "workload",
                 "Put");
}

// "A: B" lines of the script's output between "== A" and the next "==".
std::vector<std::string> section(const std::string& output, const std::string& name) {
  std::vector<std::string> out;
  std::istringstream in(output);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("== ", 0) == 0) {
      inside = line == "== " + name;
      continue;
    }
    if (inside && !line.empty()) out.push_back(line);
  }
  return out;
}

TEST(Security, PlanScriptsSeeOnlyAllowedEnvironmentFixedCwdAndDescriptorsZeroToTwo) {
  // Inherited by the daemons the topology starts: the script must not see it.
  ::setenv("SECRET_OF_THE_DAEMON", "hunter2", 1);
  TestTopology topo(kTwoVms);
  ::unsetenv("SECRET_OF_THE_DAEMON");
  ASSERT_TRUE(topo.ok());
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-web"));
  cli::PlanCreateOptions o;
  o.name = "inspect";
  o.groups = {"vm-web"};
  // $$ is the script's shell: ls runs as its child, so the listing is the shell's descriptors.
  o.before = {
      "1:script:echo '== env'; env; echo '== cwd'; pwd; echo '== fds'; ls /proc/$$/fd; "
      "echo '== session'; cut -d' ' -f6 /proc/$$/stat; echo $$"};
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, o));
  cli::PlanRunOptions run;
  run.name = "inspect";
  run.kind = "test";
  run.wait_s = 60;
  std::vector<std::string> lines;
  auto r = cli::run_plan(topo.state(), run, &lines);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_GE(r->run().actions_size(), 1);
  const std::string output = r->run().actions(0).output();
  std::cout << output;

  // Environment: PATH fixed, DRSIM_* of the plan, and what /bin/sh sets itself.
  std::set<std::string> names;
  for (const auto& line : section(output, "env")) {
    std::string name = line.substr(0, line.find('='));
    names.insert(name);
    if (name.rfind("DRSIM_", 0) == 0) continue;
    EXPECT_TRUE(name == "PATH" || name == "PWD" || name == "SHLVL" || name == "OLDPWD" ||
                name == "_")
        << "the script sees the daemon's " << line;
  }
  EXPECT_EQ(names.count("SECRET_OF_THE_DAEMON"), 0u);
  EXPECT_EQ(names.count("HOME"), 0u);
  EXPECT_NE(output.find("\nPATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos);
  for (const char* v :
       {"DRSIM_PLAN=inspect", "DRSIM_GROUP=1", "DRSIM_PHASE=before", "DRSIM_FAILOVER_KIND=test",
        "DRSIM_GROUP_ITEMS=vm-web", "DRSIM_REGION=secondary"}) {
    EXPECT_NE(output.find(std::string("\n") + v + "\n"), std::string::npos) << v;
  }
  // cwd: the plan-runs directory of the vault, beside the region's data dir.
  auto cwd = section(output, "cwd");
  ASSERT_EQ(cwd.size(), 1u) << output;
  const std::string data_dir = fs::path(topo.state().at("secondary").data_dir).lexically_normal();
  EXPECT_EQ(cwd[0], data_dir + ".points/plan-runs");
  // Descriptors: stdin, stdout, stderr, nothing of the daemon's.
  EXPECT_EQ(section(output, "fds"), (std::vector<std::string>{"0", "1", "2"})) << output;
  // A session of its own: its session id is its pid.
  auto session = section(output, "session");
  ASSERT_EQ(session.size(), 2u) << output;
  EXPECT_EQ(std::stoi(session[0]), std::stoi(session[1])) << "not the leader of its own session";

  std::vector<std::string> cleanup;
  EXPECT_TRUE(cli::run_test_cleanup(topo.state(), &cleanup).is_ok());
}

// A daemon SIGKILLed while a script runs: the script does not hold the daemon's HTTP port, so
// `drsim inject restart` works, the restarted daemon kills the script's whole session, and the
// plan-run logs of before the restart are still there.
TEST(Security, ScriptsOfAKilledDaemonDieAtItsRestartAndPlanRunLogsSurvive) {
  TestTopology topo(kTwoVms);
  ASSERT_TRUE(topo.ok());
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-web"));
  const std::string pids = topo.home() + "/script-pids.txt";
  cli::PlanCreateOptions o;
  o.name = "stuck";
  o.groups = {"vm-web"};
  o.before = {"1:script:echo started; sleep 300 & echo $$ $! > " + pids + "; wait"};
  o.script_timeout = "10m";
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, o));
  cli::PlanRunOptions run;
  run.name = "stuck";
  run.kind = "test";
  run.wait_s = 0;  // start and return
  std::vector<std::string> lines;
  auto started = cli::run_plan(topo.state(), run, &lines);
  ASSERT_TRUE(started.is_ok()) << started.status().message();
  pid_t shell = 0, sleeper = 0;
  struct KillOnExit {  // whatever the test asserts, no script outlives it
    pid_t* pids[2];
    ~KillOnExit() {
      for (pid_t* p : pids) {
        if (*p > 0 && cli::process_alive(*p)) ::kill(*p, SIGKILL);
      }
    }
  } kill_on_exit{{&shell, &sleeper}};
  ASSERT_TRUE(wait_until(
      [&] {
        std::ifstream in(pids);
        return bool(in >> shell >> sleeper);
      },
      20s))
      << "the script did not start";
  ASSERT_TRUE(cli::process_alive(shell));
  ASSERT_TRUE(cli::process_alive(sleeper));
  const std::string runs = topo.state().at("secondary").data_dir + ".points/plan-runs";
  // The script runs only once its session is recorded (HeldScript): the record is there.
  ASSERT_TRUE(fs::exists(runs + "/running/" + std::to_string(shell)))
      << "the script ran before its session " << shell << " was recorded";
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(runs)) {
    if (e.path().extension() == ".log") logs.push_back(e.path().string());
  }
  ASSERT_FALSE(logs.empty()) << "no plan-run log in " << runs;

  topo.kill("secondary");
  EXPECT_TRUE(cli::process_alive(shell)) << "the script died with the daemon (nothing to test)";
  auto restarted = run_binary(
      "drsim", {"inject", "restart", "--region", "secondary", "--home", topo.home()}, 60s);
  EXPECT_EQ(restarted.exit_code, 0) << restarted.output;
  // The CLI recorded the new PID in topology.json: the fixture stops it.
  auto state = cli::load_state(topo.home());
  ASSERT_TRUE(state.is_ok());
  topo.state() = *state;
  EXPECT_TRUE(
      wait_until([&] { return !cli::process_alive(shell) && !cli::process_alive(sleeper); }, 10s))
      << "script session still running after the restart (shell " << shell << ", sleep " << sleeper
      << ")";
  for (const auto& log : logs) EXPECT_TRUE(fs::exists(log)) << log << " was swept at restart";
}

// The script's shell waits for its session's record: a daemon killed between the spawn and the
// record (HeldScript's gate closed unreleased) leaves a shell that exits without running the
// script, where it used to leave a script no restart knew to kill.
region::ScriptSpec script_in(const std::string& runs, const std::string& text) {
  region::ScriptSpec spec;
  spec.text = text;
  spec.runs_dir = runs;
  spec.log = runs + "/script.log";
  return spec;
}

TEST(Security, AHeldPlanScriptNeverReleasedExitsWithoutRunning) {
  const std::string runs = make_temp_dir("drsim-held");
  const region::ScriptSpec spec = script_in(runs, "echo ran > ran.txt; sleep 300");
  pid_t pid = 0;
  {
    auto held = region::HeldScript::spawn(spec);
    ASSERT_TRUE(held.is_ok()) << held.status().message();
    pid = held->identity().pid;
    std::this_thread::sleep_for(300ms);  // time enough to run, had it not waited
    EXPECT_TRUE(cli::process_alive(pid)) << "the held shell did not wait";
  }  // closed unreleased: the shell exits 125 and is reaped
  EXPECT_FALSE(cli::process_alive(pid)) << "the held shell outlived its gate";
  EXPECT_FALSE(fs::exists(runs + "/ran.txt")) << "the script ran before it was released";
}

// Started the daemon's way, the script sees its own session's record from its first instruction.
TEST(Security, APlanScriptRunsOnlyOnceItsSessionIsRecorded) {
  const std::string runs = make_temp_dir("drsim-recorded");
  const region::ScriptSpec spec =
      script_in(runs, "if test -f running/$$; then echo recorded; else echo not-recorded; fi");
  for (int i = 0; i < 20; ++i) {
    auto script = region::PlanScript::start(spec);
    ASSERT_TRUE(script.is_ok()) << script.status().message();
    std::optional<region::PlanScript::Exit> done;
    ASSERT_TRUE(wait_until([&] { return (done = script->poll()).has_value(); }, 10s));
    ASSERT_TRUE(WIFEXITED(done->wait_status)) << done->wait_status;
    EXPECT_EQ(WEXITSTATUS(done->wait_status), 0);
    std::ifstream in(spec.log);
    std::string said;
    in >> said;
    ASSERT_EQ(said, "recorded") << "run " << i;
    EXPECT_FALSE(fs::exists(runs + "/running/" + std::to_string(script->pid())));
  }
}

// topology.json names a PID that now belongs to another program (a `sleep` here, recorded with
// another start time): `drsim down` and `drsim inject kill` leave it alone and say why.
TEST(Security, DownAndInjectDoNotSignalAPidThatNowBelongsToAnotherProcess) {
  ::setenv("DRSIM_BIN_DIR", DRSIM_TEST_BIN_DIR, 1);
  const std::string home = make_temp_dir("drsim-pidreuse");
  auto sleeper = cli::spawn_process({"/bin/sleep", "60"}, home + "/sleep.log");
  ASSERT_TRUE(sleeper.is_ok()) << sleeper.status().message();
  auto ticks = runtime::process_start_ticks(*sleeper);
  ASSERT_TRUE(ticks.is_ok()) << ticks.status().message();
  cli::TopologyState state;
  state.home = home;
  cli::ProcessInfo p;
  p.pid = *sleeper;
  p.start_ticks = *ticks + 12345;  // the drsim daemon that had this PID started earlier
  p.address = "127.0.0.1:1";
  p.argv = {"drsim-primary"};
  state.processes["primary"] = p;
  ASSERT_TRUE(cli::save_state(state).is_ok());

  auto kill = run_binary("drsim", {"inject", "kill", "--region", "primary", "--home", home}, 20s);
  EXPECT_NE(kill.exit_code, 0) << kill.output;
  EXPECT_NE(kill.output.find("now belongs to another process"), std::string::npos) << kill.output;
  EXPECT_TRUE(cli::process_alive(*sleeper)) << "inject kill signalled an unrelated process";

  auto down = run_binary("drsim", {"down", "--home", home}, 20s);
  EXPECT_NE(down.exit_code, 0) << down.output;
  EXPECT_NE(down.output.find("primary (pid " + std::to_string(*sleeper) + ") is gone: pid " +
                             std::to_string(*sleeper) + " now belongs to another process"),
            std::string::npos)
      << down.output;
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(cli::process_alive(*sleeper)) << "drsim down signalled an unrelated process";
  EXPECT_TRUE(fs::exists(home + "/topology.json")) << "the record of what may run was dropped";

  // With the right start time it is drsim's, and down stops it.
  state.processes["primary"].start_ticks = *ticks;
  ASSERT_TRUE(cli::save_state(state).is_ok());
  auto real = run_binary("drsim", {"down", "--home", home}, 20s);
  EXPECT_EQ(real.exit_code, 0) << real.output;
  EXPECT_TRUE(wait_until([&] { return !cli::process_alive(*sleeper); }, 5s));

  cli::stop_process(*sleeper, 100ms);
  fs::remove_all(home);
}

// A region started on a disk with less free space than it needs exits with a drsim message
// before RocksDB opens (which died in an assertion, exit 134, on a full disk). Simulated with a
// threshold above the free space there is: mounting a small tmpfs needs privileges tests lack.
TEST(Security, StartOnAFullDiskExitsWithDiskFullBeforeOpeningTheStore) {
  const std::string dir = make_temp_dir("drsim-full") + "/data";
  auto r = run_binary("drsim-primary",
                      {"--data-dir", dir, "--listen", "127.0.0.1:0", "--insecure", "--workloads", "vm-web",
                       "--min-free-bytes", "18446744073709551615"},
                      20s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("disk full: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" bytes free under " + dir), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/CURRENT")) << "RocksDB was opened";
  fs::remove_all(fs::path(dir).parent_path());
}

// The --unsafe-* test hooks exist only in the test build's drsim-*-testhooks daemons: the
// production binaries refuse the flags, and a topology that asks for a hook without the test
// build beside drsim is refused naming the missing binary.
// Every gRPC server has an explicit receive limit (common/net/grpc_util.h): 64 KiB for the
// Traffic Manager and the fault proxy, 16 MiB for a region (replication). A larger message is
// refused RESOURCE_EXHAUSTED before it is parsed, and the daemon goes on serving.
TEST(Security, OversizedGrpcMessagesAreRefusedResourceExhaustedAndTheDaemonsGoOn) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  auto expect_exhausted = [](const Status& s, int limit) {
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.message();
    EXPECT_NE(s.message().find(std::to_string(limit)), std::string::npos) << s.message();
  };
  const int control = net::kControlServerLimits.max_receive_message_bytes;
  drsim::v1::ResolveRequest resolve;
  resolve.set_profile(std::string(control + 1, 'x'));
  expect_exhausted(cli::unary_call<drsim::v1::TrafficManager>(
                       topo.address("trafficmgr"), "resolve",
                       &drsim::v1::TrafficManager::Stub::Resolve, resolve)
                       .status(),
                   control);
  drsim::v1::SetFaultRequest fault;
  fault.set_link(std::string(control + 1, 'x'));
  expect_exhausted(cli::unary_call<drsim::v1::FaultProxy>(topo.address("faultproxy"), "set fault",
                                                          &drsim::v1::FaultProxy::Stub::SetFault,
                                                          fault)
                       .status(),
                   control);
  {
    // A region's limit is the channels' own: a client that may send more than drsim's do.
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    auto region =
        drsim::v1::Workload::NewStub(cli::operator_channel_with(topo.address("primary"), args));
    const int limit = net::kRegionServerLimits.max_receive_message_bytes;
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 20s);
    drsim::v1::PutRequest req;
    req.set_workload("vm-web");
    req.set_key("big");
    req.set_value(std::string(limit + 1, 'x'));
    drsim::v1::PutResponse resp;
    expect_exhausted(net::from_grpc(region->Put(&ctx, req, &resp)), limit);
  }
  // Each daemon still answers, and the topology still routes and replicates.
  auto resolved = cli::tm_resolve(topo.address("trafficmgr"), topo.state().config.profile);
  ASSERT_TRUE(resolved.is_ok()) << resolved.status().message();
  EXPECT_EQ(resolved->endpoint(), "primary");
  auto links = cli::fp_list_links(topo.address("faultproxy"));
  ASSERT_TRUE(links.is_ok()) << links.status().message();
  EXPECT_GT(links->links_size(), 0);
  auto workload = topo.workload_stub("primary");
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 5s);
  drsim::v1::PutRequest put;
  put.set_workload("vm-web");
  put.set_key("after-oversized");
  put.set_value("v");
  drsim::v1::PutResponse put_resp;
  grpc::Status put_status = workload->Put(&ctx, put, &put_resp);
  EXPECT_TRUE(put_status.ok()) << put_status.error_message();
}

TEST(Security, ProductionDaemonsCarryNoTestHook) {
  for (const std::string daemon : {"drsim-primary", "drsim-secondary"}) {
    auto help = run_binary(daemon, {"--help"}, 20s);
    EXPECT_EQ(help.exit_code, 0) << help.output;
    EXPECT_EQ(help.output.find("unsafe"), std::string::npos) << daemon << ":\n" << help.output;
    const std::string dir = make_temp_dir("drsim-hooks") + "/data";
    for (const std::string hook : {"--unsafe-no-lease", "--unsafe-ack-before-standby"}) {
      auto r = run_binary(daemon, {"--data-dir", dir, "--listen", "127.0.0.1:0", hook}, 20s);
      EXPECT_NE(r.exit_code, 0) << daemon << " " << hook << " was accepted:\n" << r.output;
      EXPECT_NE(r.output.find(hook), std::string::npos) << r.output;
      EXPECT_FALSE(fs::exists(dir + "/CURRENT")) << daemon << " " << hook << " opened its store";
    }
    fs::remove_all(fs::path(dir).parent_path());
    auto hooked = run_binary(daemon + "-testhooks", {"--help"}, 20s);
    EXPECT_EQ(hooked.exit_code, 0) << hooked.output;
    EXPECT_NE(hooked.output.find("--unsafe-no-lease"), std::string::npos) << hooked.output;
  }
}

TEST(Security, ATestingTopologyWithoutTheTestBuildIsRefused) {
  // A bin directory with the production binaries only, as an installation has.
  const std::string root = make_temp_dir("drsim-prodbin");
  const std::string bin = root + "/bin";
  fs::create_directories(bin);
  for (const char* b : {"drsim", "drsim-primary", "drsim-secondary", "drsim-trafficmgr",
                        "drsim-faultproxy"}) {
    fs::create_symlink(std::string(DRSIM_TEST_BIN_DIR) + "/" + b, bin + "/" + b);
  }
  const std::string config = root + "/topology.yaml";
  std::ofstream(config) << "testing: { ack_writes_without_lease: true }\n";
  const char* old = std::getenv("DRSIM_BIN_DIR");
  std::string saved = old ? old : "";
  ::setenv("DRSIM_BIN_DIR", bin.c_str(), 1);
  auto r = run_binary("drsim", {"up", "--config", config, "--home", root + "/home"}, 60s);
  if (old) ::setenv("DRSIM_BIN_DIR", saved.c_str(), 1); else ::unsetenv("DRSIM_BIN_DIR");
  run_binary("drsim", {"down", "--home", root + "/home"}, 30s);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("drsim-secondary-testhooks"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("production binaries carry no test hook"), std::string::npos)
      << r.output;
  fs::remove_all(root);
}

}  // namespace
}  // namespace drsim::testing
