// The recovery points one protection scope (a VM or a multi-VM consistency group) holds at its
// replication target, and the replicated data not yet in a point. The protection lifecycle
// cuts points into it on schedule, prunes it with the retention ladder and picks failover
// points from it. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/recovery_point_schedule.h"

namespace drsim::model {

class RecoveryPointLog {
 public:
  // Data of `workload` up to `seq` reached the target. A seq equal to what is already there is
  // a no-op; an older one is OUT_OF_RANGE (the stream went backwards: a bug upstream).
  Status on_replicated(const std::string& workload, Seq seq);

  // Cuts a point at `now` holding everything replicated so far. Ids increase from 1 and are
  // never reused, also across clear().
  const RecoveryPoint& cut(RecoveryPointType type, Time now);

  // Applies the retention ladder (recovery_point_schedule.h); returns the ids removed.
  std::vector<RecoveryPointId> prune(Time now, Duration retention);

  // Replicated data that no point holds yet: "Latest" processes it at failover.
  bool has_unprocessed_data() const;

  const RecoveryPoint* find(RecoveryPointId id) const;
  const RecoveryPoint* latest() const;  // "latest processed"
  const RecoveryPoint* latest_app_consistent() const;

  // Commit drops every point but the one failed over to (facts.md).
  void keep_only(RecoveryPointId id);
  // Replication stopped or reversed: the points and replicated seqs belong to the old stream.
  void clear();

  const std::vector<RecoveryPoint>& points() const { return points_; }  // oldest first
  const std::map<std::string, Seq>& replicated() const { return replicated_; }

 private:
  std::vector<RecoveryPoint> points_;
  std::map<std::string, Seq> replicated_;
  RecoveryPointId last_id_{0};
};

}  // namespace drsim::model
