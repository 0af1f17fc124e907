// Integration-test fixture: a real topology (drsim-primary, drsim-secondary,
// drsim-trafficmgr from the build tree) on 127.0.0.1 ephemeral ports in a
// fresh temporary directory. Every process it started is stopped by PID in
// the destructor, whatever the test did.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/load_generator.h"
#include "cli/topology.h"
#include "common/core/status.h"
#include "common/model/drill/history.h"
#include "drsim/v1/admin.pb.h"
#include "drsim/v1/replication.pb.h"
#include "drsim/v1/workload.grpc.pb.h"
#include "tests/support/temp_dir.h"

namespace drsim::cli {
struct PlanCreateOptions;
}

namespace drsim::testing {

class TestTopology {
 public:
  // Starts the topology described by YAML (empty = the default); fails the
  // calling test (ADD_FAILURE) when it cannot.
  explicit TestTopology(const std::string& yaml = "");
  ~TestTopology();
  TestTopology(const TestTopology&) = delete;
  TestTopology& operator=(const TestTopology&) = delete;

  bool ok() const { return ok_; }
  cli::TopologyState& state() { return state_; }
  const std::string& home() const { return home_; }
  std::string address(const std::string& process) const;
  pid_t pid(const std::string& process) const;

  void kill(const std::string& process);  // SIGKILL, waits until gone
  void signal(const std::string& process, int sig);
  Status restart(const std::string& process);

  drsim::v1::GetStatusResponse status(const std::string& region);
  // Waits (at most `timeout`) until `region` holds its lease (or runs without one): a promoted
  // region takes reads and writes a few ms after the failover's answer ("no lease yet at epoch
  // 2"). Whether it did.
  bool wait_until_lease_held(const std::string& region, std::chrono::milliseconds timeout);
  // The last applied seq of `workload` in `region` (0 when it does not report it).
  uint64_t applied_seq(const std::string& region, const std::string& workload);
  std::unique_ptr<drsim::v1::Workload::Stub> workload_stub(const std::string& region) const;
  // A channel to `address` presenting `identity`'s certificate from this topology's <home>/tls
  // (the operator's is what the cli:: helpers use): for calls a test makes as another daemon.
  std::shared_ptr<grpc::Channel> channel_as(const std::string& identity,
                                            const std::string& address) const;

 private:
  std::string home_;
  cli::TopologyState state_;
  bool ok_ = false;
  std::vector<pid_t> started_;
};

// What a forged replication Hello got: the first reply, if any, and the stream's status.
struct HelloAnswer {
  std::optional<drsim::v1::ReplicationReply> reply;
  grpc::Status status;
};
// Opens Replication.Stream to `process` of `topo` as `identity` (its certificate) and sends one
// Hello claiming `region` at `epoch`; reads one reply, then ends the stream (5 s deadline).
HelloAnswer forge_hello(const TestTopology& topo, const std::string& identity,
                        const std::string& process, const std::string& region, uint64_t epoch);

// The Site Recovery state of `item` in the vault at `vault` ("" when it is not listed).
std::string sr_item_state(const std::string& vault, const std::string& item);

// Protects `item` (default options) in the secondary's vault and waits until it is Protected.
// Fatal failures: call it inside ASSERT_NO_FATAL_FAILURE.
void protect_and_wait(TestTopology& topo, const std::string& item);

// Creates the recovery plan `o` in the vault, asserting it is accepted.
void create_recovery_plan(TestTopology& topo, const cli::PlanCreateOptions& o);

// After a re-protect: `item` is the only item of the former primary's vault, replicating
// secondary -> primary. Fails back (planned failover to the primary, commit, re-protect) and
// checks the former primary's jobs on `item` (Reprotect, PlannedFailover, Commit, Reprotect) and
// that the secondary's vault holds `item` Protected again. The failback's lines go to `lines`.
// Fatal failures: call it inside ASSERT_NO_FATAL_FAILURE.
void fail_back_reversed_item(TestTopology& topo, const std::string& item,
                             std::vector<std::string>* lines);

// SIGKILLs and restarts the secondary, the active region after a failover of `item`: `item` is
// still FailedOver there, and `drsim commit` then moves it to Committed. Call it inside
// ASSERT_NO_FATAL_FAILURE.
void restart_secondary_then_commit(TestTopology& topo, const std::string& item);

// One Put of `key` = `value` through `stub` (10 s deadline), recorded in `history` when given,
// with its invoke/complete times, outcome and the region/epoch/seq that acknowledged it, as the
// history checker reads it. Returns the gRPC status.
grpc::Status recorded_put(drsim::v1::Workload::Stub& stub, const std::string& workload,
                          const std::string& key, const std::string& value,
                          std::vector<model::OpRecord>* history);

// The client load the failover tests drive: through `topo`'s Traffic Manager, 300 ops/s from 6
// clients over 200 keys of each of vm-web and vm-db.
cli::LoadOptions standard_load(const TestTopology& topo);

// One Put of `key` = "value-of-<key>" into vm-web through `stub`, with `deadline`.
grpc::Status put_key(drsim::v1::Workload::Stub& stub, const std::string& key,
                     drsim::v1::PutResponse* resp,
                     std::chrono::milliseconds deadline = std::chrono::seconds(2));

// Every key and value of `workload` on the region behind `stub`, page by page (Scan with
// allow_stale: what the region holds, whatever its role); a failed page is a test failure.
std::map<std::string, std::string> scan_all(drsim::v1::Workload::Stub& stub,
                                            const std::string& workload);

// One call of `method` with an empty request message (every request parses from no bytes)
// through gRPC's generic stub, with a 5 s deadline: any RPC can be tried without its stub. `ctx`
// (fresh) shows afterwards what the call saw, e.g. the server's certificate in auth_context().
grpc::Status empty_unary_call(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& method, grpc::ClientContext& ctx);

// Polls `pred` every 10 ms until it holds or `timeout` passes. Returns
// whether it held; the caller asserts with a message saying what it awaited.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Runs a drsim binary from the build tree with arguments; captures output.
struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
RunResult run_binary(const std::string& binary, const std::vector<std::string>& args,
                     std::chrono::seconds timeout);

// A verb's --json output, parsed. When it is not one JSON document: a test failure showing the
// output, and a discarded value (is_discarded(); it compares equal to nothing).
nlohmann::json parse_json_output(const RunResult& run);

}  // namespace drsim::testing
