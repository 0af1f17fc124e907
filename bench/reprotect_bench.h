// drsim-bench reprotect: how much faster a delta re-protect is than a full resync. Loads
// `data_mb` of 1 KiB values into the primary, kills it, fails over, rewrites `changed_fraction`
// of the keys on the new active region, restarts the old primary (its data kept: delta; its
// data directory wiped: full) and times RegionAdmin.Reprotect until the pair is protected.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace drsim::bench {

nlohmann::json reprotect_delta_vs_full(uint64_t data_mb, double changed_fraction);

}  // namespace drsim::bench
