#include "common/region/region_options.h"

#include "common/core/names.h"

#include <fstream>
#include <set>
#include <sstream>

namespace drsim::region {

const char* replication_mode_name(ReplicationMode m) {
  return m == ReplicationMode::kSync ? "sync" : "async";
}

Status validate_workload_name(const std::string& where, const std::string& name) {
  return validate_name(where, name);
}

Result<std::vector<WorkloadSpec>> parse_workloads(const std::string& flag, const std::string& text,
                                                  ReplicationMode default_mode) {
  std::vector<WorkloadSpec> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    WorkloadSpec spec;
    spec.mode = default_mode;
    auto colon = item.find(':');
    spec.name = item.substr(0, colon);
    if (colon != std::string::npos) {
      std::string mode = item.substr(colon + 1);
      if (mode == "sync") {
        spec.mode = ReplicationMode::kSync;
      } else if (mode == "async") {
        spec.mode = ReplicationMode::kAsync;
      } else {
        return invalid_argument(flag + ": replication mode '" + mode + "' of workload '" +
                                spec.name + "' must be sync or async");
      }
    }
    if (Status s = validate_workload_name(flag, spec.name); !s.is_ok()) return s;
    out.push_back(spec);
  }
  if (out.empty()) return invalid_argument(flag + ": at least one workload is required");
  return out;
}

Result<std::vector<WorkloadSpec>> read_workloads_file(const std::string& path,
                                                      ReplicationMode default_mode) {
  std::ifstream in(path);
  if (!in) return invalid_argument("--workloads-file: cannot read '" + path + "'");
  std::string text;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (!text.empty()) text += ',';
    text += line;
  }
  if (in.bad()) return invalid_argument("--workloads-file: cannot read '" + path + "'");
  return parse_workloads("--workloads-file " + path, text, default_mode);
}

Status RegionOptions::validate() const {
  if (Status s = validate_workload_name("--name", name); !s.is_ok()) return s;
  if (Status s = validate_workload_name("--peer-name", peer_name); !s.is_ok()) return s;
  if (name == peer_name) return invalid_argument("--peer-name: must differ from --name");
  if (data_dir.empty()) return invalid_argument("--data-dir: required");
  if (workloads.empty()) return invalid_argument("--workloads: at least one workload is required");
  std::set<std::string> seen;
  for (const auto& w : workloads) {
    if (!seen.insert(w.name).second) {
      return invalid_argument("--workloads: workload '" + w.name + "' is listed twice");
    }
  }
  if (max_batch_changes == 0) return invalid_argument("--max-batch-changes: must be > 0");
  if (max_unacked_changes < max_batch_changes) {
    return invalid_argument("--max-unacked-changes: must be >= --max-batch-changes");
  }
  if (log_retention < max_unacked_changes) {
    return invalid_argument("--log-retention: must be >= --max-unacked-changes");
  }
  if (max_value_bytes == 0 || max_value_bytes > (8u << 20)) {
    return invalid_argument("--max-value-bytes: must be 1..8388608");
  }
  if (sync_ack_timeout.count() <= 0) return invalid_argument("--sync-ack-timeout-ms: must be > 0");
  if (fence_check_timeout.count() < 0) {
    return invalid_argument("--fence-check-timeout-ms: must be >= 0");
  }
  if (peer_fence_timeout.count() < 0 || peer_fence_timeout.count() > 60'000) {
    return invalid_argument("--peer-fence-timeout-ms: must be 0..60000");
  }
  if (Status s = lease.validate("flags (--lease-ms, --lease-renew-interval-ms, --lease-drift)");
      !s.is_ok()) {
    return s;
  }
  return Status::ok();
}

}  // namespace drsim::region
