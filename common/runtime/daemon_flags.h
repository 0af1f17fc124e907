// The flags every drsim daemon takes the same way — the region daemons, the Traffic Manager and
// the fault proxy: --ready-file, --log-format, --log-level (one spelling, one check, one help).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace drsim::runtime {

struct DaemonFlags {
  std::string ready_file;
  std::string log_format = "text";
  std::string log_level = "info";

  // Adds the three to `app`; `ready_help` says what the ready file holds ("write {pid, address}
  // here once serving"). An unknown format or level is refused naming the flag.
  void add_to(CLI::App& app, const std::string& ready_help);
  // Logging for `process` as the flags say (setup_logging).
  void start_logging(const std::string& process) const;
};

}  // namespace drsim::runtime
