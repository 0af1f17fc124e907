// A process told apart from a later one that reuses its PID: the PID and its start time (field 22
// of /proc/PID/stat, clock ticks after boot). Used by `drsim down`/`inject` (topology.json) and by
// the region daemon for the plan scripts it must kill after a restart.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/core/status.h"

namespace drsim::runtime {

struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // 0 = not recorded
};

// The start time of `pid`; NOT_FOUND when no such process exists.
Result<uint64_t> process_start_ticks(pid_t pid);

// OK when `id.pid` runs and started at `id.start_ticks`. NOT_FOUND when it is gone;
// FAILED_PRECONDITION "<what> (pid N) ..." when the PID now belongs to another process or no start
// time was recorded, so nothing may signal it.
Status check_identity(const ProcessIdentity& id, const std::string& what);

}  // namespace drsim::runtime
