#include "tests/support/test_topology.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "cli/child_process.h"
#include "cli/final_state.h"
#include "cli/plan_commands.h"
#include "cli/protection.h"
#include "cli/rpc_clients.h"
#include "cli/site_recovery.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/replication.grpc.pb.h"

namespace drsim::testing {

using namespace std::chrono_literals;

cli::LoadOptions standard_load(const TestTopology& topo) {
  cli::LoadOptions lo;
  lo.trafficmgr_address = topo.address("trafficmgr");
  lo.workloads = {"vm-web", "vm-db"};
  lo.rate = 300;
  lo.workers = 6;
  lo.keys = 200;
  return lo;
}

grpc::Status put_key(drsim::v1::Workload::Stub& stub, const std::string& key,
                     drsim::v1::PutResponse* resp, std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  net::set_deadline(ctx, deadline);
  drsim::v1::PutRequest req;
  req.set_workload("vm-web");
  req.set_key(key);
  req.set_value("value-of-" + key);
  return stub.Put(&ctx, req, resp);
}

std::map<std::string, std::string> scan_all(drsim::v1::Workload::Stub& stub,
                                            const std::string& workload) {
  auto keys = cli::scan_workload(stub, workload, "the region under test");
  EXPECT_TRUE(keys.is_ok()) << keys.status().message();
  return keys.is_ok() ? std::move(keys).value() : std::map<std::string, std::string>{};
}

grpc::Status empty_unary_call(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& method, grpc::ClientContext& ctx) {
  grpc::GenericStub stub(channel);
  net::set_deadline(ctx, std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  return status;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TestTopology::TestTopology(const std::string& yaml) {
  ::setenv("DRSIM_BIN_DIR", DRSIM_TEST_BIN_DIR, 1);
  home_ = make_temp_dir("drsim-it");
  cli::TopologyConfig cfg;
  if (!yaml.empty()) {
    auto parsed = cli::parse_topology_config(yaml, "test.yaml");
    if (!parsed.is_ok()) {
      ADD_FAILURE() << parsed.status().message();
      return;
    }
    cfg = *parsed;
  }
  auto up = cli::topology_up(home_, cfg, [](const std::string&) {});
  if (!up.is_ok()) {
    ADD_FAILURE() << "topology up: " << up.status().message();
    return;
  }
  state_ = *up;
  for (const auto& [name, p] : state_.processes) started_.push_back(p.pid);
  ok_ = true;
}

TestTopology::~TestTopology() {
  for (const auto& [name, p] : state_.processes) started_.push_back(p.pid);
  for (pid_t pid : started_) cli::stop_process(pid, 2s);
  remove_test_dir(home_);
}

std::string TestTopology::address(const std::string& process) const {
  return state_.at(process).address;
}

pid_t TestTopology::pid(const std::string& process) const { return state_.at(process).pid; }

void TestTopology::kill(const std::string& process) {
  pid_t p = pid(process);
  ::kill(p, SIGKILL);
  wait_until([&] { return !cli::process_alive(p); }, 5s);
}

void TestTopology::signal(const std::string& process, int sig) { ::kill(pid(process), sig); }

Status TestTopology::restart(const std::string& process) {
  Status s = cli::restart_process(state_, process);
  if (s.is_ok()) started_.push_back(pid(process));
  return s;
}

drsim::v1::GetStatusResponse TestTopology::status(const std::string& region) {
  auto st = cli::region_status(address(region));
  EXPECT_TRUE(st.is_ok()) << st.status().message();
  return st.is_ok() ? *st : drsim::v1::GetStatusResponse();
}

bool TestTopology::wait_until_lease_held(const std::string& region,
                                         std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        const std::string lease = status(region).lease().state();
        return lease == "held" || lease == "disabled";
      },
      timeout);
}

uint64_t TestTopology::applied_seq(const std::string& region, const std::string& workload) {
  auto st = status(region);  // kept: a range-for over a temporary's member dangles
  for (const auto& w : st.workloads()) {
    if (w.name() == workload) return w.last_seq();
  }
  return 0;
}

std::string sr_item_state(const std::string& vault, const std::string& item) {
  auto items = cli::sr_items(vault);
  if (!items.is_ok()) return "";
  for (const auto& i : items->items()) {
    if (i.item() == item) return i.state();
  }
  return "";
}

void protect_and_wait(TestTopology& topo, const std::string& item) {
  cli::ProtectOptions o;
  o.item = item;
  auto req = cli::build_protect_request(o);
  ASSERT_TRUE(req.is_ok());
  auto r = cli::sr_protect(topo.address("secondary"), *req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("secondary"), item) == "Protected"; }, 30s))
      << item << " did not finish initial replication";
}

void create_recovery_plan(TestTopology& topo, const cli::PlanCreateOptions& o) {
  auto spec = cli::build_plan_spec(o);
  ASSERT_TRUE(spec.is_ok()) << spec.status().message();
  std::vector<std::string> lines;
  auto created = cli::run_plan_create(topo.state(), *spec, &lines);
  ASSERT_TRUE(created.is_ok()) << created.status().message();
}

void restart_secondary_then_commit(TestTopology& topo, const std::string& item) {
  const std::string vault = topo.address("secondary");
  topo.kill("secondary");
  if (Status s = topo.restart("secondary"); !s.is_ok()) FAIL() << s.message();
  EXPECT_EQ(sr_item_state(vault, item), "FailedOver");
  std::vector<std::string> lines;
  auto commit = cli::run_commit(topo.state(), {}, &lines);
  ASSERT_TRUE(commit.is_ok()) << commit.status().message();
  EXPECT_EQ(sr_item_state(vault, item), "Committed");
}

void fail_back_reversed_item(TestTopology& topo, const std::string& item,
                             std::vector<std::string>* lines) {
  const std::string vault = topo.address("secondary");
  const std::string reversed_vault = topo.address("primary");
  auto items = cli::sr_items(reversed_vault);
  ASSERT_TRUE(items.is_ok()) << items.status().message();
  ASSERT_EQ(items->items_size(), 1);
  EXPECT_EQ(items->items(0).item(), item);
  EXPECT_EQ(items->items(0).active_region(), "secondary");
  EXPECT_EQ(items->items(0).replication_target(), "primary");
  EXPECT_NE(items->items(0).health(), "Not applicable");

  auto fb = cli::run_failback(topo.state(), "test failback", 10'000);
  ASSERT_TRUE(fb.is_ok()) << fb.status().message();
  for (const auto& l : fb->failover.lines) std::cout << "[failback] " << l << "\n";
  *lines = fb->failover.lines;
  EXPECT_EQ(fb->failover.items_failed_over, 1);
  auto jobs = cli::sr_jobs(reversed_vault);
  ASSERT_TRUE(jobs.is_ok()) << jobs.status().message();
  std::vector<std::string> kinds;
  for (const auto& j : jobs->jobs()) {
    kinds.push_back(j.kind());
    EXPECT_EQ(j.target(), item) << j.kind();
  }
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"Reprotect", "PlannedFailover", "Commit", "Reprotect"}));
  ASSERT_TRUE(wait_until([&] { return sr_item_state(vault, item) == "Protected"; }, 20s))
      << item << " was not re-protected in the original direction";
}

grpc::Status recorded_put(drsim::v1::Workload::Stub& stub, const std::string& workload,
                          const std::string& key, const std::string& value,
                          std::vector<model::OpRecord>* history) {
  drsim::v1::PutRequest req;
  req.set_workload(workload);
  req.set_key(key);
  req.set_value(value);
  model::OpRecord op;
  op.kind = model::OpKind::kPut;
  op.workload = workload;
  op.key = key;
  op.value = value;
  op.invoke_ns = wall_now_unix_nanos();
  grpc::ClientContext ctx;
  net::set_deadline(ctx, std::chrono::seconds(10));
  drsim::v1::PutResponse resp;
  grpc::Status s = stub.Put(&ctx, req, &resp);
  op.complete_ns = wall_now_unix_nanos();
  op.outcome = s.ok() ? model::Outcome::kOk : model::Outcome::kFail;
  op.region = resp.result().region();
  op.epoch = resp.result().epoch();
  op.seq = resp.result().seq();
  if (history) {
    op.id = history->size() + 1;
    history->push_back(op);
  }
  return s;
}

std::unique_ptr<drsim::v1::Workload::Stub> TestTopology::workload_stub(
    const std::string& region) const {
  return drsim::v1::Workload::NewStub(cli::operator_channel(address(region)));
}

std::shared_ptr<grpc::Channel> TestTopology::channel_as(const std::string& identity,
                                                       const std::string& address) const {
  auto loaded = tls::load_identity(cli::tls_dir_of(home_), identity,
                                   std::chrono::system_clock::now());
  EXPECT_TRUE(loaded.is_ok()) << loaded.status().message();
  if (!loaded.is_ok()) return nullptr;
  return net::Transport::mutual_tls(std::move(*loaded)).channel(address);
}

HelloAnswer forge_hello(const TestTopology& topo, const std::string& identity,
                        const std::string& process, const std::string& region, uint64_t epoch) {
  auto stub =
      drsim::v1::Replication::NewStub(topo.channel_as(identity, topo.address(process)));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, std::chrono::seconds(5));
  auto stream = stub->Stream(&ctx);
  drsim::v1::ReplicationFrame frame;
  frame.mutable_hello()->set_region(region);
  frame.mutable_hello()->set_epoch(epoch);
  HelloAnswer answer;
  stream->Write(frame);
  drsim::v1::ReplicationReply reply;
  if (stream->Read(&reply)) answer.reply = std::move(reply);
  stream->WritesDone();
  answer.status = stream->Finish();
  return answer;
}

RunResult run_binary(const std::string& binary, const std::vector<std::string>& args,
                     std::chrono::seconds timeout) {
  RunResult result;
  std::string out_path = make_temp_dir("drsim-run") + "/out.txt";
  std::vector<std::string> argv = {std::string(DRSIM_TEST_BIN_DIR) + "/" + binary};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pid = cli::spawn_process(argv, out_path);
  if (!pid.is_ok()) {
    result.output = pid.status().message();
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(*pid, &status, WNOHANG);
    if (r == *pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, &status, 0);
      result.output = "timed out after " + std::to_string(timeout.count()) + " s\n";
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::ifstream in(out_path);
  std::stringstream ss;
  ss << in.rdbuf();
  result.output += ss.str();
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(out_path).parent_path(), ec);
  return result;
}

nlohmann::json parse_json_output(const RunResult& run) {
  auto j = nlohmann::json::parse(run.output, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << run.output;
  return j;
}

}  // namespace drsim::testing
