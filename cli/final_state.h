// Reads the whole state of every workload from a region (Scan, page by page):
// the "final state of the active region" the checker judges a history against.
#pragma once

#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/drill/history.h"

namespace drsim::cli {

Result<model::FinalState> read_final_state(const std::string& region_address,
                                           const std::vector<std::string>& workloads);

}  // namespace drsim::cli
