// Replacing a small file so that a crash or power loss leaves either the old or the new content,
// never a torn one: write a temporary beside it, fsync, rename over it, fsync the directory.
// For state a daemon must remember across restarts (the lease witness's epochs, certificates).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/core/status.h"

namespace drsim::runtime {

// FAILED_PRECONDITION naming the file and the system's reason when any step fails (the old
// content is then untouched). The file gets `mode` whatever the umask.
Status replace_file_durably(const std::string& path, const std::string& text, mode_t mode);

}  // namespace drsim::runtime
