// Paths built from names stay under their base directory: join, normalize (lexically: the daemons
// never create symlinks under their data dirs), refuse anything that leaves the base. Used
// wherever a daemon makes a path from a name it was sent (checkpoints, test-failover copies,
// plan-run logs).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace drsim {

// base / relative, normalized; INVALID_ARGUMENT naming `field` when the result is not strictly
// inside base (an absolute `relative`, "..", or an empty result).
Result<std::filesystem::path> confined_path(const std::filesystem::path& base,
                                            std::string_view relative, std::string_view field);

}  // namespace drsim
