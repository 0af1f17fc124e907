// `drsim demo`: the default drill, needing no files. up → replicate under
// load → primary region outage → failover (automated by the drill, and it
// says so) → clients follow routing to the secondary → check → report → down.
#pragma once

#include <string>

#include "cli/topology.h"

namespace drsim::cli {

enum class FaultKind { kKill, kOutage, kPause };

struct DemoOptions {
  std::string home;               // empty = a fresh temporary directory
  TopologyConfig config;
  FaultKind fault = FaultKind::kKill;
  double rate = 400;
  uint32_t workers = 8;
  uint64_t keys = 1000;
  uint32_t value_bytes = 100;
  double warmup_s = 3;
  double after_s = 2;
  uint64_t seed = 1;
  std::string json_path;          // empty = <home>/report.json
  bool keep = false;              // leave the topology up afterwards
};

// The demo as a drill file (YAML), with the options' numbers filled in.
std::string demo_drill_yaml(const DemoOptions& options);
bool all_sync(const TopologyConfig& config);

// Returns the process exit code: 0 when every expectation held, 1 otherwise.
int run_demo(const DemoOptions& options);

}  // namespace drsim::cli
