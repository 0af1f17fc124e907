// Site Recovery from the command line and from drills: protect an item, list items, recovery
// points and jobs, fail over unplanned to a chosen recovery point (reporting the data given up
// first), commit. The vault lives in the region the items replicate to (the standby when they
// were protected); these helpers find it. `drsim reprotect` checks the vault's guard rails in
// cli/protection.cc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "cli/json_output.h"
#include "cli/topology.h"
#include "cli/units.h"  // parse_duration_text, parse_size_text
#include "common/core/status.h"
#include "common/core/time.h"
#include "drsim/v1/siterecovery.pb.h"

namespace drsim::cli {

struct ProtectOptions {
  std::string item;
  std::string source = "azure-vm";  // azure-vm vmware-vm hyperv-vm physical-windows ...
  bool hyperv_vmm = false;
  std::string target_kind = "azure-region";  // or secondary-site
  std::string os_disk;                       // NAME:CAPACITY:USED, e.g. os:128G:30G
  std::vector<std::string> data_disks;       // the same, one per disk
  bool no_vm_agent = false;
  std::string retention;       // "24h", "15d" ("" = 1 day)
  std::string app_consistent;  // "off", "1h", "4h" ("" = off)
  std::string rpo_threshold;   // "15m" ("" = 15m)
  double wait_s = 30;          // wait this long for initial replication (0 = don't wait)
};

Result<drsim::v1::ProtectItemRequest> build_protect_request(const ProtectOptions& options);

// The region whose vault holds protected items ("" when none does).
std::string find_vault(const TopologyState& state);
// The vault region, or a refusal saying how to get one.
Result<std::string> vault_region(const TopologyState& state);
// stderr "drsim: <message>"; exit code 2 for INVALID_ARGUMENT, else 1.
int report_error(const Status& s);
// A verb: loads the topology in `home`, runs `step(state, &lines)` (returning a Result), prints
// the lines (on failure too: they say what happened first) and reports a failure on stderr.
// `as_json`: one document instead (docs/cli.md, JSON): "ok", the lines as "messages", the
// answer as "response" when it is a message, or the error.
template <typename Step>
int run_verb(const std::string& home, Step step, bool as_json = false) {
  auto state = load_state(home);
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  std::vector<std::string> lines;
  auto r = step(*state, &lines);
  if (as_json) {
    if (!r.is_ok()) return print_json_error(r.status());
    JsonObject body = {{"messages", lines}};
    using Value = std::decay_t<decltype(*r)>;
    if constexpr (std::is_base_of_v<google::protobuf::Message, Value>) {
      body["response"] = proto_to_json(*r);
    }
    print_json_document(json_ok(body));
    return 0;
  }
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  if (!r.is_ok()) return report_error(r.status());
  return 0;
}

struct PointFailoverOptions {
  std::string point = "latest-processed";  // latest | latest-processed | latest-app-consistent |
                                           // custom
  uint64_t point_id = 0;                   // custom
  std::vector<std::string> items;          // empty = every protected item
  bool dry_run = false;
  std::string reason;
};
Result<drsim::v1::PointChoice> parse_point_choice(const std::string& text, uint64_t point_id);

// Runs (or, dry, previews) an unplanned failover to a recovery point on the vault's region.
// `lines` gets the report of the data given up, then what happened.
Result<drsim::v1::UnplannedFailoverResponse> run_point_failover(const TopologyState& state,
                                                                const PointFailoverOptions& opts,
                                                                std::vector<std::string>* lines);
Result<drsim::v1::CommitResponse> run_commit(const TopologyState& state,
                                             const std::vector<std::string>& items,
                                             std::vector<std::string>* lines);
// The isolated region process of a test failover, in topology.json (one at a time).
inline constexpr char kTestFailoverProcess[] = "test-failover";

struct TestFailoverOptions {
  std::string item;  // "" = the only protected item
  std::string point = "latest-processed";
  uint64_t point_id = 0;
};
// Test failover: the vault copies the point; an isolated region process (no peer, not in the
// Traffic Manager) serves the copy on an ephemeral loopback port; production replication goes
// on. Recorded in `state` (saved) as process "test-failover".
Result<drsim::v1::TestFailoverResponse> run_test_failover(TopologyState& state,
                                                          const TestFailoverOptions& opts,
                                                          std::vector<std::string>* lines);
// Stops the isolated process and has the vault delete the copy.
Status run_test_cleanup(TopologyState& state, std::vector<std::string>* lines);
// Starts an isolated region process (no peer, not in the Traffic Manager) on a test failover
// copy and records it in the topology as `process`.
Result<ProcessInfo> start_test_copy(TopologyState& state, const std::string& process,
                                    const std::string& item, const std::string& copy_dir);

// "2026-11-25 16:03:12.250" (UTC).
std::string format_wall(int64_t unix_nanos);
// The seqs a recovery point of `item` holds: "1343" for a single VM, "vm-a=12 vm-b=40" (sorted)
// for a consistency group, whose point lists every member.
std::string point_seqs_text(const std::string& item, const drsim::v1::ReplicationPointInfo& p);

// `as_json`: one JSON document (the Protect answer and the state reached), errors included.
int cmd_protect(const std::string& home, const ProtectOptions& options, bool as_json = false);
int cmd_items(const std::string& home, bool as_json);
int cmd_points(const std::string& home, const std::string& item, bool as_json);
int cmd_point_failover(const std::string& home, const PointFailoverOptions& options,
                       bool as_json = false);
int cmd_test_failover(const std::string& home, const TestFailoverOptions& options,
                      bool as_json = false);
int cmd_test_cleanup(const std::string& home, bool as_json = false);
int cmd_commit(const std::string& home, const std::vector<std::string>& items,
               bool as_json = false);
int cmd_jobs(const std::string& home, bool as_json);

}  // namespace drsim::cli
