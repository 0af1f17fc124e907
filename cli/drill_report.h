// A finished drill's report, typed: every fact the summary on stdout and report.json carry.
// DrillRun (cli/drill_finish.cc) fills one; print_drill_report prints it for people and
// drill_report_json serialises it as report.json, which the HTML report and the JUnit file read.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/stale_clients.h"
#include "common/core/time.h"
#include "common/model/drill/expectations.h"
#include "common/model/drill/history_checker.h"

namespace drsim::cli {

// "123 ms", or "n/a" when not measured; the JSON's number of milliseconds, or null.
inline std::string ms(std::optional<Duration> d) {
  return d ? fmt::format("{:.0f} ms", to_ms(*d)) : "n/a";
}
inline nlohmann::json ms_json(std::optional<Duration> d) {
  return d ? nlohmann::json(to_ms(*d)) : nlohmann::json(nullptr);
}

// A fault as it happened, for the report's shaded bands.
struct FaultWindow {
  std::string description;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // 0 = until the end of the drill
  std::string target;
};

// A planned failover (or failback): drained, then promoted with no acknowledged write given up.
struct PlannedFailoverReport {
  std::string from, to;
  uint64_t new_epoch = 0;
  int64_t promoted_ns = 0;
  double writes_paused_ms = 0, duration_ms = 0;
  std::vector<model::DrainedCursor> drained;
  std::vector<uint64_t> acked_beyond_drain;  // write ids the drain missed (should be none)
};

// A re-protect: the resync that made the new standby follow the active region again.
struct ReprotectReport {
  std::string active, standby;
  std::string kind;  // "full", "delta" or "none"
  uint64_t bytes = 0;
  double duration_ms = 0;
  uint64_t changes = 0, keys_copied = 0, rolled_back_entries = 0, restored_keys = 0;
};

// A workload's replication lag when the first outage hit.
struct LagBeforeFault {
  uint64_t lag_writes = 0;
  double lag_ms = 0;
  double write_to_ack_p50_ms = 0, write_to_ack_p99_ms = 0;
  uint64_t samples = 0;
};

// The active region's replication lag at one sample (all workloads: writes summed, worst ms).
struct LagPoint {
  int64_t unix_nanos = 0;
  std::string region;
  uint64_t epoch = 0;
  uint64_t lag_writes = 0;
  double lag_ms = 0;
};

// A change the Traffic Manager reported: an endpoint's status or the route.
struct RoutingEventReport {
  int64_t unix_nanos = 0;
  std::string kind;  // "route_changed" or "endpoint_status"
  std::string endpoint, new_status, old_route, new_route, reason;
};

// The topology's timings and the load the drill ran with.
struct DrillReportConfig {
  std::string workloads;  // as --workloads spells them
  uint32_t probe_interval_ms = 0, probe_timeout_ms = 0, tolerated_failures = 0;
  uint64_t ttl_ms = 0;
  bool fault_proxy = false;
  double rate = 0;
  uint32_t workers = 0;
  int64_t deadline_ms = 0;
  uint32_t in_flight = 0;
  StaleClientOptions stale_clients;
  // The failover time the configuration promises: documented, strict, and its lease wait.
  uint64_t documented_failover_ms = 0, strict_failover_ms = 0, lease_wait_ms = 0;
};

struct DrillReport {
  // The drill.
  std::string drill, description, source;
  std::vector<std::string> placement;              // where each daemon ran
  nlohmann::json steps = nlohmann::json::array();  // each step's line, action and outcome
  DrillReportConfig config;

  // Faults: the first outage (the RTO clock's start), and every fault injected.
  std::string fault_region, fault_kind;
  int64_t fault_ns = 0;  // 0: no outage
  int64_t load_start_ns = 0, end_ns = 0;
  std::vector<FaultWindow> faults;
  std::vector<std::string> clock_notes;
  std::vector<std::string> clock_drift_beyond_lease_bound;

  // Failovers: the unplanned one the RTO measures, planned ones, re-protects.
  bool automated_failover = false;
  bool failed_over = false;  // to a recovery point or by promotion: the RPO applies
  std::string new_active;
  uint64_t failover_epoch = 0;
  int64_t promoted_ns = 0;
  double lease_wait_ms = 0;  // how long the promotion waited out the old lease
  std::vector<PlannedFailoverReport> planned_failovers;
  std::vector<ReprotectReport> reprotects;
  std::string final_active;

  // The history judged against the final state.
  model::OpCounts writes, reads;
  std::map<std::string, uint64_t> acknowledged_by_region;
  double availability = 0;  // of every operation, 0..1
  bool has_rto = false;     // an outage and a failover: RTO and clients moved were measured
  model::RtoBreakdown rto;
  model::ClientSwitch clients_moved;
  uint64_t lost_count = 0;
  bool lost_given_up_by_recovery_point = false;
  std::vector<model::LostOp> lost;
  uint64_t recovered_count = 0;
  uint64_t stale_reads = 0;
  model::FencedWrites after_fencing;
  model::RpoEstimate rpo;
  std::map<std::string, LagBeforeFault> lag_before_fault;  // by workload
  std::vector<LagPoint> replication_lag;
  std::vector<RoutingEventReport> routing_events;

  // The verdict.
  std::vector<model::Expectation> expectations;
  std::string aborted;
  std::vector<std::string> problems;
  bool passed = false;
  std::string history_file;
  double duration_s = 0;
};

// The summary people read at the end of `drsim drill run`.
void print_drill_report(const DrillReport& r, std::FILE* out);

// report.json: the report serialised (write_html_report and junit_xml read it).
nlohmann::json drill_report_json(const DrillReport& r);

}  // namespace drsim::cli
