// The `drsim` verbs other than demo: up, down, status, load, inject, heal,
// failover, check. Each returns the process exit code (0 ok, 1 failed, 2 bad
// input).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/load_generator.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"

namespace drsim::cli {

// How a command prints what it did: lines for people, or one JSON document (docs/cli.md).
enum class Output { kText, kJson };

int cmd_up(const std::string& home, const std::string& config_path,
           Output output = Output::kText);
int cmd_down(const std::string& home, Output output = Output::kText);
// `drsim attach --config FILE`: drive daemons that run elsewhere (cli/attach.h).
int cmd_attach(const std::string& home, const std::string& config_path,
               Output output = Output::kText);
int cmd_status(const std::string& home, bool as_json);

struct LoadCommand {
  LoadOptions options;
  double duration_s = 10;
  std::string history_path;  // empty = <home>/history.jsonl
  // --json: progress lines go to stderr, and stdout gets one JSON document at the end (or the
  // error) instead of the summary line.
  bool json = false;
};
// cli/load_command.cc.
int cmd_load(const std::string& home, LoadCommand cmd);

// `params` maps the flags given (--region, --link, --latency-ms, ...) to their text.
int cmd_inject(const std::string& home, const std::string& fault,
               const std::map<std::string, std::string>& params, Output output = Output::kText);
// Heals everything, or one daemon / region / link selector.
// `target_is_region`: given as --region (a daemon or region), else --link (a link or group).
int cmd_heal(const std::string& home, const std::string& target, bool target_is_region,
             Output output = Output::kText);
// Points `options` at the Traffic Manager's DNS server (the client resolves the profile's name
// over UDP and caches each answer for its TTL) and maps the answered addresses to regions.
Status resolve_by_dns(const TopologyState& state, LoadOptions* options);
// `healthy` kRefuse: an unplanned failover of an active region that is healthy and replicating
// is refused (model::check_unplanned_failover_of_healthy_region) unless kForce.
enum class HealthyActive { kRefuse, kForce };
// What a command prints: lines for people, or one JSON document (cli/json_output.h) — its
// result, or {"ok": false, "error": ...} — for scripts.
int cmd_failover(const std::string& home, const std::string& region, const std::string& reason,
                 WitnessCheck witness = WitnessCheck::kRequire,
                 HealthyActive healthy = HealthyActive::kRefuse, Output output = Output::kText);
int cmd_planned_failover(const std::string& home, const std::string& region,
                         const std::string& reason, uint32_t drain_timeout_ms, bool reprotect,
                         Output output = Output::kText);
int cmd_reprotect(const std::string& home, const std::string& region, const std::string& reason,
                  Output output = Output::kText);
int cmd_failback(const std::string& home, const std::string& reason, uint32_t drain_timeout_ms,
                 Output output = Output::kText);
int cmd_check(const std::string& home, const std::string& history_path, bool as_json);

}  // namespace drsim::cli
