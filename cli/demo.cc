#include "cli/demo.h"

#include <cstdio>

#include <fmt/format.h>

#include "cli/drill.h"

namespace drsim::cli {

namespace {

const char* fault_name(FaultKind f) {
  switch (f) {
    case FaultKind::kKill: return "kill";
    case FaultKind::kOutage: return "outage";
    case FaultKind::kPause: return "pause";
  }
  return "kill";
}

}  // namespace

std::string demo_drill_yaml(const DemoOptions& opt) {
  // The demo is the first drill of the library (deploy/drills/region-outage-kill.yaml is the
  // same drill as a file); the flags of `drsim demo` fill in its numbers. Besides the
  // TTL-honouring clients, two stale clients keep the primary's address (re-resolving after
  // three failed calls) with four calls in flight each: a superseded primary that still
  // acknowledged writes would show as "writes acked by a superseded region".
  return fmt::format(R"(name: demo
description: primary region outage, failover automated by the drill, clients follow routing
workload:
  {{ rate: {rate}, clients: {clients}, keys: {keys}, value_bytes: {value_bytes}, seed: {seed},
    stale_clients: {{ count: 2, in_flight: 4, deadline_ms: 5000, rate: 50 }} }}
steps:
  - wait: {warmup}s
  - inject: {{ fault: {fault}, region: primary }}
  - wait_until: {{ condition: degraded, target: primary, timeout: 15s }}
  - failover: {{ region: secondary }}
  - wait_until: {{ condition: routed_to, target: secondary, timeout: 15s }}
  - wait_until: {{ condition: acked_by, target: secondary, timeout: 15s }}
  - wait: {after}s
expect:
  max_rto_ms: {max_rto}
  max_writes_acked_after_fencing: 0
{lost}  final_routing: secondary
)",
                     fmt::arg("rate", opt.rate), fmt::arg("clients", opt.workers),
                     fmt::arg("keys", opt.keys), fmt::arg("value_bytes", opt.value_bytes),
                     fmt::arg("seed", opt.seed), fmt::arg("warmup", opt.warmup_s),
                     fmt::arg("fault", fault_name(opt.fault)), fmt::arg("after", opt.after_s),
                     fmt::arg("max_rto", opt.config.strict_failover_ms() + 1000),
                     fmt::arg("lost", all_sync(opt.config) ? "  max_lost_writes: 0\n" : ""));
}

bool all_sync(const TopologyConfig& cfg) {
  for (const auto& w : cfg.workloads) {
    if (w.mode != region::ReplicationMode::kSync) return false;
  }
  return true;
}

int run_demo(const DemoOptions& opt) {
  auto drill = parse_drill(demo_drill_yaml(opt), "demo");
  if (!drill.is_ok()) {
    std::fprintf(stderr, "drsim demo: %s\n", drill.status().message().c_str());
    return 2;
  }
  drill->topology = opt.config;
  return run_drill(
      *drill, {.home = opt.home, .json_path = opt.json_path, .keep = opt.keep, .junit_path = ""});
}

}  // namespace drsim::cli
