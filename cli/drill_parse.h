// Parsing a drill file's steps and fields (cli/drill_steps_parse.cc), for parse_drill_node
// (cli/drill.cc). Internal to the drill parser; every error is "file:line: field: reason".
#pragma once

#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "cli/drill.h"
#include "cli/yaml_fields.h"

namespace drsim::cli::drill_parse {

// "2s", "500ms", "1.5s", "1m", or a bare number of seconds.
Result<double> parse_seconds(const ConfigError& err, const std::string& field,
                             const YAML::Node& node);

Result<double> parse_number(const ConfigError& err, const std::string& field,
                            const YAML::Node& node, double min, double max);

Result<std::string> parse_choice(const ConfigError& err, const std::string& field,
                                 const YAML::Node& node, const std::set<std::string>& allowed);

Result<DrillStep> parse_step(const ConfigError& err, const std::string& field,
                             const YAML::Node& node);

// stale_clients: {count: 4, in_flight: 8, deadline_ms: 10000, rate: 100,
//                 reresolve_after_failures: 3 | never}
Status parse_stale_clients(const ConfigError& err, const std::string& f, const YAML::Node& node,
                           StaleClientOptions* out);

}  // namespace drsim::cli::drill_parse
