#include "cli/final_state.h"

#include "cli/operator_transport.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/workload.grpc.pb.h"

namespace drsim::cli {

Result<model::FinalState> read_final_state(const std::string& region_address,
                                           const std::vector<std::string>& workloads) {
  auto stub = drsim::v1::Workload::NewStub(operator_channel(region_address));
  model::FinalState state;
  for (const auto& w : workloads) {
    std::string start;
    for (int page = 0; page < 100000; ++page) {
      grpc::ClientContext ctx;
      net::set_deadline(ctx, std::chrono::milliseconds(5000));
      drsim::v1::ScanRequest req;
      req.set_workload(w);
      req.set_start_key(start);
      req.set_limit(5000);
      req.set_allow_stale(true);  // what this region holds, whatever its role
      drsim::v1::ScanResponse resp;
      grpc::Status s = stub->Scan(&ctx, req, &resp);
      if (!s.ok()) {
        return Status(static_cast<StatusCode>(s.error_code()),
                      "scan " + w + " at " + region_address + ": " + s.error_message());
      }
      for (const auto& kv : resp.items()) state[{w, kv.key()}] = kv.value();
      if (resp.next_key().empty()) break;
      start = resp.next_key();
    }
  }
  return state;
}

}  // namespace drsim::cli
