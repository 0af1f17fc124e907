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
#include "common/model/siterecovery/recovery_point_schedule.h"

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

  // A point whose checkpoint could not be made (or is gone after a restart) leaves the log.
  // NOT_FOUND when no such point is retained.
  Status drop(RecoveryPointId id);
  // The point's checkpoint holds `seqs` (at least what the point lists, when writes were applied
  // between the cut and the checkpoint): the point lists those seqs from now on, and the
  // replicated seqs catch up with them. NOT_FOUND for an unknown point, OUT_OF_RANGE when a seq
  // is behind the one the point lists or a workload is not the point's.
  Status settle(RecoveryPointId id, const std::map<std::string, Seq>& seqs);

  // A log as persisted: points oldest first (time order, ids increasing and at most `last_id`),
  // replicated seqs at least those of the newest point. INVALID_ARGUMENT names what is wrong.
  static Result<RecoveryPointLog> restore(std::vector<RecoveryPoint> points,
                                          std::map<std::string, Seq> replicated,
                                          RecoveryPointId last_id);
  RecoveryPointId last_id() const { return last_id_; }

  const std::vector<RecoveryPoint>& points() const { return points_; }  // oldest first
  const std::map<std::string, Seq>& replicated() const { return replicated_; }

 private:
  std::vector<RecoveryPoint> points_;
  std::map<std::string, Seq> replicated_;
  RecoveryPointId last_id_{0};
};

}  // namespace drsim::model
