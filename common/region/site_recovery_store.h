// Durable state of a region's Site Recovery vault: each protected item's lifecycle (state,
// retained points with their seqs, types and times, the point schedule), the job table and
// drsim's clock, as records in the region's RocksDB (RegionStore::put_record, synced). The
// driver writes a record whenever it changed and reads them all back at start-up; the
// conversions between the model's records and the stored messages live here too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/siterecovery/job.h"
#include "common/model/siterecovery/lifecycle.h"
#include "common/storage/region_store.h"
#include "drsim/v1/siterecovery.pb.h"

namespace drsim::region {

// The region store's records of what the operator protected: a single item's
// ProtectItemRequest under item/<name>, a consistency group's ProtectGroupRequest under
// group/<name>.
inline constexpr char kItemRecordPrefix[] = "item/";
inline constexpr char kGroupRecordPrefix[] = "group/";

// In-process instants of drsim's clock and its wall time: `wall_at_start` is what the clock read
// at the instant `start`.
struct DrsimWallMapping {
  Time start = kTimeZero;
  int64_t wall_at_start = 0;

  int64_t to_wall(Time t) const { return wall_at_start + (t - start).count(); }
  Time from_wall(int64_t wall) const { return start + Duration(wall - wall_at_start); }
};

drsim::v1::StoredLifecycle to_stored(const std::string& item, const model::ProtectionRecord& r,
                                     const DrsimWallMapping& clock);
// INVALID_ARGUMENT naming the field for a value no model state has (an unknown enum).
Result<model::ProtectionRecord> from_stored(const drsim::v1::StoredLifecycle& s,
                                            const DrsimWallMapping& clock);
drsim::v1::StoredJobs to_stored(const std::vector<model::Job>& jobs, const DrsimWallMapping& clock);
Result<std::vector<model::Job>> from_stored(const drsim::v1::StoredJobs& s,
                                            const DrsimWallMapping& clock);

class SiteRecoveryStore {
 public:
  explicit SiteRecoveryStore(storage::RegionStore& store) : store_(store) {}

  // What drsim's clock reads now (`real_now`: real wall time): an earlier run's clock continued
  // at its scale (the clock runs while the daemon is down), or `real_now` on the first start.
  // Re-anchors the clock at `real_now` with `scale` from here on.
  Result<int64_t> resume_clock(int64_t real_now, double scale);

  struct Loaded {
    std::map<std::string, drsim::v1::StoredLifecycle> lifecycles;  // by item
    drsim::v1::StoredJobs jobs;
  };
  Result<Loaded> load();

  // A record to write (nullopt: delete it). The driver hands them to its worker thread, which
  // applies them in order with synced writes (write()).
  using RecordWrite = std::pair<std::string, std::optional<std::string>>;
  // Queue a record when it changed since the last one queued.
  void save_lifecycle(const drsim::v1::StoredLifecycle& lc);
  void save_jobs(const drsim::v1::StoredJobs& jobs);
  void save_record(const std::string& name, std::string value) {
    queue_if_changed(name, std::move(value));
  }
  // The item left this vault: its lifecycle record and the protected item record go.
  void forget(const std::string& item, const std::string& item_record);
  std::vector<RecordWrite> take_pending() { return std::exchange(pending_, {}); }
  static Status write(storage::RegionStore& store, const std::vector<RecordWrite>& records);

 private:
  void queue_if_changed(const std::string& name, std::string value);

  storage::RegionStore& store_;
  std::map<std::string, std::string> written_;  // record name → bytes last queued
  std::vector<RecordWrite> pending_;
};

}  // namespace drsim::region
