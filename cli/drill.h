// Drills as code: a YAML file naming the topology, the client workload, timed
// steps (wait, inject, heal, failover, wait_until, pause) and expectations.
// `drsim drill run FILE` and `drsim demo` (an embedded drill) both run here:
// up → load → steps → check the history → report (JSON) → down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/topology.h"
#include "common/core/status.h"

namespace drsim::cli {

struct DrillStep {
  enum class Kind { kWait, kInject, kHeal, kFailover, kWaitUntil, kPause };
  Kind kind = Kind::kWait;
  int line = 0;                   // in the drill file, for messages
  double seconds = 0;             // wait / pause
  std::string fault;              // inject: kill | pause | resume | outage | restart
  std::string region;             // inject / heal ("" = all) / failover ("" = the standby)
  std::string condition;          // wait_until: degraded | online | routed_to | acked_by
  std::string target;             // wait_until: endpoint or region
  double timeout_s = 10;          // wait_until
  std::string message;            // pause
  std::string describe() const;
};

struct DrillWorkload {
  double rate = 400;
  uint32_t clients = 8;
  uint64_t keys = 1000;
  uint32_t value_bytes = 100;
  double write_fraction = 0.9;
  uint64_t seed = 1;
};

struct DrillExpectations {
  std::optional<double> max_rto_ms;
  std::optional<uint64_t> max_lost_writes;
  std::optional<uint64_t> max_stale_reads;
  std::optional<std::string> final_routing;
  std::optional<double> min_availability;  // ok operations / all operations
};

struct Drill {
  std::string name;
  std::string description;
  std::string source;  // file name, for messages
  TopologyConfig topology;
  DrillWorkload workload;
  std::vector<DrillStep> steps;
  DrillExpectations expect;
};

// Parses a drill; errors are "file:line: field: reason".
Result<Drill> parse_drill(const std::string& text, const std::string& source);
Result<Drill> load_drill(const std::string& path);

struct DrillRunOptions {
  std::string home;       // empty = a fresh /tmp/drsim-drill-* directory
  std::string json_path;  // empty = <home>/report.json
  bool keep = false;      // leave the topology up
};

// Runs the drill end to end. Returns 0 when every expectation held, 1 when
// one failed or a step could not complete.
int run_drill(const Drill& drill, const DrillRunOptions& options);

}  // namespace drsim::cli
