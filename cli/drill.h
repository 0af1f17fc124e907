// Drills as code: a YAML file naming the topology, the client workload, timed
// steps (wait, at, inject, heal, failover, reprotect, failback, wait_until, pause, vm_delete,
// ...) and
// expectations.
// `drsim drill run FILE` and `drsim demo` (an embedded drill) both run here:
// up → load → steps → check the history → report (JSON) → down; with --attached, the daemons
// of an attached home instead of up and down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/faults.h"
#include "cli/plan_commands.h"
#include "cli/recovery_commands.h"
#include "cli/site_recovery.h"
#include "cli/stale_clients.h"
#include "cli/topology.h"
#include "common/model/drill/expectations.h"
#include "common/core/status.h"

namespace drsim::cli {

struct DrillStep {
  enum class Kind {
    kWait,
    kAt,
    kInject,
    kHeal,
    kFailover,
    kReprotect,
    kFailback,
    kWaitUntil,
    kPause,
    kDrsim,
    kProtect,
    kCommit,
    kTestCleanup,
    kPlan,
    kChangePoint,
    kVmDelete
  };
  Kind kind = Kind::kWait;
  int line = 0;                   // in the drill file, for messages
  double seconds = 0;             // wait / pause; at: seconds since the load started
  FaultSpec fault;                // inject
  std::string region;             // heal: daemon, region or link ("" = all); failover target;
                                  // reprotect: the active region ("" = whichever is active)
  bool planned = false;           // failover: planned (drain, zero loss) instead of unplanned
  bool reprotect = false;         // planned failover: replicate back at once
  // failover: {unplanned: true, point: ...}: Site Recovery failover to a recovery point.
  bool to_point = false;
  bool test = false;              // failover: {test: true, ...}: test failover of one item
  PointFailoverOptions point;
  ProtectOptions protect;         // protect
  std::string protect_group;      // protect: {group: NAME, items: [...]}: a consistency group
  std::vector<std::string> protect_items;
  // plan: {create: NAME, groups: [...]} | {run: NAME, kind: ..., expect: STATE} |
  // {resume: NAME, expect: STATE}
  std::string plan_verb;             // create | run | resume
  drsim::v1::RecoveryPlanSpec plan;  // create
  PlanRunOptions plan_run;           // run (name also for resume)
  std::string expect_state;          // run / resume: Succeeded (default), Suspended, Failed
  ChangePointOptions change_point;   // change_point
  double drain_timeout_s = 10;    // planned failover / failback
  // wait_until: degraded | online | routed_to | acked_by | lag_above | lag_below
  std::string condition;
  std::string target;             // wait_until: endpoint or region
  uint64_t writes = 0;            // wait_until lag_above / lag_below: replication lag in writes
  double timeout_s = 10;          // wait_until
  std::string message;            // pause
  std::vector<std::string> args;  // drsim: a vault / backup / vm verb and its arguments
  std::string expect_error;       // drsim: the verb must fail with this in its message
  // vm_delete: {vm: NAME, region: primary, expect: gone | restorable}: the YAML is the --yes.
  std::string vm;
  std::string expect_vm;          // "" = either; gone | restorable
  std::string describe() const;
  // A Site Recovery or Backup step that done changes what the drill protects (protect, test
  // failover, commit, re-protect, failback, backup, soft delete, restore, VM delete, ...): its
  // short label for the report's timeline. Empty for the others (waits, faults, list verbs).
  std::string timeline_label() const;
};

struct DrillWorkload {
  double rate = 400;
  uint32_t clients = 8;
  uint64_t keys = 1000;
  uint32_t value_bytes = 100;
  double write_fraction = 0.9;
  uint64_t seed = 1;
  bool resolve_dns = false;  // resolve the profile through the Traffic Manager's DNS server
  uint32_t deadline_ms = 1000;  // the TTL-honouring clients' deadline per call
  uint32_t in_flight = 1;       // calls each TTL-honouring client keeps in flight
  // workload.stale_clients: {count, in_flight, deadline_ms, rate, reresolve_after_failures}
  StaleClientOptions stale;
};

// A drill file's `expect:` (judged by model::judge_drill, shared with the simulator).
using DrillExpectations = model::DrillExpectations;

// Stop the drill early (heal every fault, stop the load, report ABORTED, exit 1) when the
// system under test is worse than the drill allows — Chaos Studio's "abort when a health check
// fails".
struct DrillAbort {
  std::optional<double> no_ack_for_s;        // no acknowledged write for this long
  std::optional<uint64_t> max_failed_operations;
};

struct Drill {
  std::string name;
  std::string description;
  std::string source;  // file name, for messages
  TopologyConfig topology;
  DrillWorkload workload;
  std::vector<DrillStep> steps;
  DrillExpectations expect;
  DrillAbort abort;
};

// Parses a drill; errors are "file:line: field: reason".
Result<Drill> parse_drill(const std::string& text, const std::string& source);
Result<Drill> load_drill(const std::string& path);

struct DrillRunOptions {
  std::string home;       // empty = a fresh /tmp/drsim-drill-* directory
  std::string json_path;  // empty = <home>/report.json
  bool keep = false;      // leave the topology up
  std::string junit_path;  // non-empty: also write JUnit XML there (even when the drill cannot start)
  // `--attached`: drive the daemons attached in `home` (`drsim attach`) instead of starting a
  // topology: the drill's workloads must be theirs, its timings are theirs, steps that need a
  // process or link drsim started are refused before the load, nothing is stopped at the end.
  bool attached = false;
};

// Runs the drill end to end. Returns 0 when every expectation held, 1 when
// one failed or a step could not complete.
int run_drill(const Drill& drill, const DrillRunOptions& options);

}  // namespace drsim::cli
