// What failing over to a recovery point gives up: per workload, the writes the source made
// after the point. Used for the failover report and for drill expectations on RPO. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/model/siterecovery/recovery_point_schedule.h"

namespace drsim::model {

struct WorkloadWritesGivenUp {
  std::string workload;
  Seq point_seq = {};                           // Seq(0) when the point holds nothing of it
  std::optional<Seq> source_last_written = {};  // nullopt: the source is gone or did not say
  // source_last_written - point_seq, 0 when the point is ahead; nullopt when the source is
  // unknown.
  std::optional<uint64_t> writes = {};
};

struct DataGivenUp {
  std::vector<WorkloadWritesGivenUp> workloads;  // by workload name
  uint64_t known_writes = 0;                     // sum over workloads with a known source
  size_t unknown_workloads = 0;                  // workloads whose loss cannot be told
};

// Every workload of the point or of `source_last_written` appears once.
DataGivenUp data_given_up(const RecoveryPoint& point,
                          const std::map<std::string, Seq>& source_last_written);

}  // namespace drsim::model
