#include "common/model/siterecovery/recovery_point_loss.h"

#include <set>

namespace drsim::model {

DataGivenUp data_given_up(const RecoveryPoint& point,
                          const std::map<std::string, Seq>& source_last_written) {
  std::set<std::string> names;
  for (const auto& [w, seq] : point.seqs) names.insert(w);
  for (const auto& [w, seq] : source_last_written) names.insert(w);

  DataGivenUp out;
  for (const std::string& w : names) {
    WorkloadWritesGivenUp row{.workload = w};
    if (auto it = point.seqs.find(w); it != point.seqs.end()) row.point_seq = it->second;
    if (auto it = source_last_written.find(w); it != source_last_written.end()) {
      row.source_last_written = it->second;
      // A point ahead of the source means the source lost its own tail; nothing is given up.
      row.writes = it->second > row.point_seq ? it->second.value() - row.point_seq.value() : 0;
      out.known_writes += *row.writes;
    } else {
      ++out.unknown_workloads;
    }
    out.workloads.push_back(std::move(row));
  }
  return out;
}

}  // namespace drsim::model
