// Reads the whole state of every workload from a region (Scan, page by page):
// the "final state of the active region" the checker judges a history against.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/drill/history.h"
#include "drsim/v1/workload.grpc.pb.h"

namespace drsim::cli {

// Every key and value of `workload` that the region behind `stub` holds, whatever its role
// (allow_stale), page by page (5,000 keys a page, at most 100,000 pages, 5 s each); the first
// failed page's status, naming the workload and `where`, otherwise.
Result<std::map<std::string, std::string>> scan_workload(drsim::v1::Workload::Stub& stub,
                                                         const std::string& workload,
                                                         const std::string& where);

Result<model::FinalState> read_final_state(const std::string& region_address,
                                           const std::vector<std::string>& workloads);

}  // namespace drsim::cli
