// Recovery points of Site Recovery and their schedule: when the next crash-consistent and
// app-consistent points are due, and which points the retention ladder keeps. Pure; the
// protection lifecycle asks it on every tick and the driver arms a timer at next_deadline().
//
// Retention ladder (facts.md, Site Recovery "Pruning"), as drsim implements it exactly:
//   - every point whose age is at most 2h is kept;
//   - older points fall into buckets of a width that depends on the policy's retention R and
//     the point's age: 1h when R <= 1d; 2h when 1d < R <= 7d; when R > 7d, 2h up to an age of
//     7d and 4h beyond;
//   - buckets are aligned on the clock (bucket = time / width since the clock's zero), and the
//     earliest point of each bucket is kept. Aligned, nesting buckets and "earliest wins" make
//     pruning stable: a point kept past 2h stays kept until its bucket widens at 7d or it
//     passes retention, so repeated pruning never erodes below one point per bucket;
//   - no point older than R is kept, except that the newest point is always kept: pruning must
//     never leave a protected item with nothing to fail over to (a drsim rule for a stalled
//     replication; the facts do not say).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/time.h"

namespace drsim::model {

using RecoveryPointId = StrongId<struct RecoveryPointIdTag>;

enum class RecoveryPointType { kCrashConsistent, kAppConsistent };
const char* recovery_point_type_name(RecoveryPointType type);  // "crash-consistent", ...

struct RecoveryPoint {
  RecoveryPointId id;
  Time time;
  RecoveryPointType type = RecoveryPointType::kCrashConsistent;
  // The last seq of every workload the point holds. One map for the whole protection scope,
  // so the VMs of a multi-VM consistency group share every point.
  std::map<std::string, Seq> seqs;
};

inline constexpr Duration kKeepEveryPointFor = std::chrono::hours(2);
inline constexpr Duration kLadderTwoHourSpan = std::chrono::hours(7 * 24);

// Width of the ladder bucket for a point of age `age` under `retention`; nullopt while the
// point is in the keep-everything window (age <= 2h, or in the future).
std::optional<Duration> ladder_bucket_width(Duration age, Duration retention);

// The ids of `points` the ladder keeps at `now` (see the header comment), oldest first.
// `points` may be in any order; ties in time are broken by id.
std::vector<RecoveryPointId> recovery_points_to_keep(const std::vector<RecoveryPoint>& points,
                                                     Time now, Duration retention);

// When points are due. Crash-consistent points lie on the grid start + n * 5m, app-consistent
// ones on start + n * interval (n >= 1), so late ticks never make the cadence drift.
class RecoveryPointSchedule {
 public:
  // nullopt interval: app-consistent snapshots off.
  RecoveryPointSchedule(std::optional<Duration> app_consistent_interval, Time start);

  // The point to cut at `now`, if one is due: app-consistent when that grid is due (it is also
  // crash-consistent, so it stands for a crash point due at the same time), else
  // crash-consistent. Advances every due grid to its first slot after `now`: a driver that fell
  // behind gets one point, not a burst of catch-up points.
  std::optional<RecoveryPointType> take_due(Time now);

  // A schedule as persisted: the next slots of both grids (next_app kNever when off).
  static RecoveryPointSchedule resume(std::optional<Duration> app_consistent_interval,
                                      Time next_crash, Time next_app);

  Time next_crash_consistent_due() const { return next_crash_; }
  Time next_app_consistent_due() const { return next_app_; }  // kNever when off
  Time next_deadline() const { return std::min(next_crash_, next_app_); }

 private:
  std::optional<Duration> app_interval_;
  Time next_crash_;
  Time next_app_ = kNever;
};

}  // namespace drsim::model
