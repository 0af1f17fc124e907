// The command line of the region daemons (drsim-primary, drsim-secondary): their flags, help and
// checks, read into the RegionDaemonConfig that run_region_daemon (region_daemon.cc) serves.
#pragma once

#include <cstdint>
#include <optional>

#include "common/net/transport.h"
#include "common/region/backup_driver.h"
#include "common/region/region_daemon.h"
#include "common/region/region_options.h"
#include "common/runtime/daemon_flags.h"

namespace drsim::region {

// Below this, RocksDB may not even open (a restart on a full disk died in its assertion).
inline constexpr uint64_t kDefaultMinFreeBytes = 16ull << 20;

// What the flags say, checked: everything serve() needs.
struct RegionDaemonConfig {
  RegionOptions opt;
  BackupOptions backup;
  double time_scale = 1.0;
  uint64_t min_free_bytes = kDefaultMinFreeBytes;
  runtime::DaemonFlags daemon_flags;
  std::optional<net::Transport> transport;
};

// Parses and checks the flags into `c`; an exit code when the daemon must not go on (0 after
// --help, 2 for bad flags, with the reason on stderr).
std::optional<int> parse_region_daemon_flags(int argc, char** argv, const DaemonDefaults& defaults,
                                             RegionDaemonConfig& c);

}  // namespace drsim::region
