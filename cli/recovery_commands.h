// `drsim protect --group` (multi-VM consistency groups) and `drsim change-point` (change the
// recovery point of failed-over items before commit): the CLI side of
// SiteRecovery.ProtectGroup and SiteRecovery.ChangeRecoveryPoint. Used by main.cc, the drill
// runner and the integration tests.
#pragma once

#include <string>
#include <vector>

#include "cli/site_recovery.h"

namespace drsim::cli {

// Protects `items` (2..16 workloads) as one consistency group in the standby's vault; the
// members share `spec`'s target and policy. Waits up to spec.wait_s for initial replication.
Result<drsim::v1::ProtectItemResponse> run_protect_group(const TopologyState& state,
                                                         const std::string& group,
                                                         const std::vector<std::string>& items,
                                                         const ProtectOptions& spec,
                                                         std::vector<std::string>* lines);
int cmd_protect_group(const std::string& home, const std::string& group,
                      const std::vector<std::string>& items, const ProtectOptions& spec,
                      bool as_json = false);

struct ChangePointOptions {
  std::string point = "latest-processed";  // not latest: that data was rolled back
  uint64_t point_id = 0;
  std::vector<std::string> items;  // empty = every failed-over item
  bool dry_run = false;
};
// Reports what the change discards, regains or gives up, then (unless dry_run) changes.
Result<drsim::v1::ChangeRecoveryPointResponse> run_change_point(const TopologyState& state,
                                                                const ChangePointOptions& o,
                                                                std::vector<std::string>* lines);
int cmd_change_point(const std::string& home, const ChangePointOptions& options,
                     bool as_json = false);

}  // namespace drsim::cli
