#include "cli/final_state.h"

#include "cli/operator_transport.h"
#include "common/net/grpc_util.h"

namespace drsim::cli {

Result<std::map<std::string, std::string>> scan_workload(drsim::v1::Workload::Stub& stub,
                                                         const std::string& workload,
                                                         const std::string& where) {
  std::map<std::string, std::string> out;
  std::string start;
  for (int page = 0; page < 100000; ++page) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, std::chrono::milliseconds(5000));
    drsim::v1::ScanRequest req;
    req.set_workload(workload);
    req.set_start_key(start);
    req.set_limit(5000);
    req.set_allow_stale(true);  // what this region holds, whatever its role
    drsim::v1::ScanResponse resp;
    grpc::Status s = stub.Scan(&ctx, req, &resp);
    if (!s.ok()) {
      return Status(static_cast<StatusCode>(s.error_code()),
                    "scan " + workload + " at " + where + ": " + s.error_message());
    }
    for (const auto& kv : resp.items()) out[kv.key()] = kv.value();
    if (resp.next_key().empty()) break;
    start = resp.next_key();
  }
  return out;
}

Result<model::FinalState> read_final_state(const std::string& region_address,
                                           const std::vector<std::string>& workloads) {
  auto stub = drsim::v1::Workload::NewStub(operator_channel(region_address));
  model::FinalState state;
  for (const auto& w : workloads) {
    auto keys = scan_workload(*stub, w, region_address);
    if (!keys.is_ok()) return keys.status();
    for (auto& [k, v] : *keys) state[{w, k}] = std::move(v);
  }
  return state;
}

}  // namespace drsim::cli
