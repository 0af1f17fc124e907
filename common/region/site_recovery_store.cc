#include "common/region/site_recovery_store.h"

#include <algorithm>
#include <cmath>

namespace drsim::region {

using namespace drsim::v1;

namespace {

constexpr char kLifecyclePrefix[] = "life/";
constexpr char kJobsRecord[] = "jobs";
constexpr char kClockRecord[] = "clock";

void to_stored(const model::RecoveryPoint& p, const DrsimWallMapping& clock, StoredPoint* out) {
  out->set_id(p.id.value());
  out->set_type(static_cast<uint32_t>(p.type));
  out->set_time_unix_nanos(clock.to_wall(p.time));
  for (const auto& [w, seq] : p.seqs) (*out->mutable_seqs())[w] = seq.value();
}

Result<model::RecoveryPoint> from_stored(const StoredPoint& s, const std::string& field,
                                         const DrsimWallMapping& clock) {
  if (s.type() > static_cast<uint32_t>(model::RecoveryPointType::kAppConsistent)) {
    return invalid_argument(field + ".type: unknown recovery point type " +
                            std::to_string(s.type()));
  }
  model::RecoveryPoint p;
  p.id = model::RecoveryPointId(s.id());
  p.type = static_cast<model::RecoveryPointType>(s.type());
  p.time = clock.from_wall(s.time_unix_nanos());
  for (const auto& [w, seq] : s.seqs()) p.seqs[w] = Seq(seq);
  return p;
}

}  // namespace

StoredLifecycle to_stored(const std::string& item, const model::ProtectionRecord& r,
                          const DrsimWallMapping& clock) {
  StoredLifecycle s;
  s.set_item(item);
  s.set_state(static_cast<uint32_t>(r.state));
  s.set_active_region(r.active_region);
  for (const auto& p : r.points) to_stored(p, clock, s.add_points());
  for (const auto& [w, seq] : r.replicated) (*s.mutable_replicated())[w] = seq.value();
  s.set_last_point_id(r.last_point_id.value());
  if (r.sync) s.set_sync(static_cast<uint32_t>(*r.sync));
  s.set_replicating_since_unix_nanos(clock.to_wall(r.replicating_since));
  if (r.last_heard) s.set_last_heard_unix_nanos(clock.to_wall(*r.last_heard));
  s.set_heard_since_cut(r.heard_since_cut);
  if (r.replication_error) s.set_replication_error(*r.replication_error);
  if (r.failover_point) to_stored(*r.failover_point, clock, s.mutable_failover_point());
  if (r.test_failover_point) {
    to_stored(*r.test_failover_point, clock, s.mutable_test_failover_point());
  }
  if (r.next_crash_consistent_due) {
    s.set_next_crash_due_unix_nanos(clock.to_wall(*r.next_crash_consistent_due));
  }
  if (r.next_app_consistent_due) {
    s.set_next_app_due_unix_nanos(clock.to_wall(*r.next_app_consistent_due));
  }
  return s;
}

Result<model::ProtectionRecord> from_stored(const StoredLifecycle& s,
                                            const DrsimWallMapping& clock) {
  const std::string head = "site recovery record " + s.item() + ": ";
  if (s.state() > static_cast<uint32_t>(model::ProtectionState::kCommitted)) {
    return invalid_argument(head + "state: unknown protection state " + std::to_string(s.state()));
  }
  if (s.has_sync() && s.sync() > static_cast<uint32_t>(model::SyncKind::kDelta)) {
    return invalid_argument(head + "sync: unknown sync kind " + std::to_string(s.sync()));
  }
  model::ProtectionRecord r;
  r.state = static_cast<model::ProtectionState>(s.state());
  r.active_region = s.active_region();
  for (int i = 0; i < s.points_size(); ++i) {
    auto p = from_stored(s.points(i), head + "points[" + std::to_string(i) + "]", clock);
    if (!p.is_ok()) return p.status();
    r.points.push_back(std::move(p).value());
  }
  for (const auto& [w, seq] : s.replicated()) r.replicated[w] = Seq(seq);
  r.last_point_id = model::RecoveryPointId(s.last_point_id());
  if (s.has_sync()) r.sync = static_cast<model::SyncKind>(s.sync());
  r.replicating_since = clock.from_wall(s.replicating_since_unix_nanos());
  if (s.has_last_heard_unix_nanos()) r.last_heard = clock.from_wall(s.last_heard_unix_nanos());
  r.heard_since_cut = s.heard_since_cut();
  if (s.has_replication_error()) r.replication_error = s.replication_error();
  if (s.has_failover_point()) {
    auto p = from_stored(s.failover_point(), head + "failover_point", clock);
    if (!p.is_ok()) return p.status();
    r.failover_point = std::move(p).value();
  }
  if (s.has_test_failover_point()) {
    auto p = from_stored(s.test_failover_point(), head + "test_failover_point", clock);
    if (!p.is_ok()) return p.status();
    r.test_failover_point = std::move(p).value();
  }
  if (s.has_next_crash_due_unix_nanos()) {
    r.next_crash_consistent_due = clock.from_wall(s.next_crash_due_unix_nanos());
  }
  if (s.has_next_app_due_unix_nanos()) {
    r.next_app_consistent_due = clock.from_wall(s.next_app_due_unix_nanos());
  }
  return r;
}

StoredJobs to_stored(const std::vector<model::Job>& jobs, const DrsimWallMapping& clock) {
  StoredJobs s;
  for (const auto& j : jobs) {
    auto* out = s.add_jobs();
    out->set_id(j.id.value());
    out->set_kind(static_cast<uint32_t>(j.kind));
    out->set_target(j.target);
    out->set_state(static_cast<uint32_t>(j.state));
    out->set_created_unix_nanos(clock.to_wall(j.created_at));
    if (j.started_at) out->set_started_unix_nanos(clock.to_wall(*j.started_at));
    if (j.ended_at) out->set_ended_unix_nanos(clock.to_wall(*j.ended_at));
    out->set_error(j.error);
  }
  return s;
}

Result<std::vector<model::Job>> from_stored(const StoredJobs& s, const DrsimWallMapping& clock) {
  std::vector<model::Job> out;
  for (const auto& j : s.jobs()) {
    const std::string head = "site recovery job " + std::to_string(j.id()) + ": ";
    if (j.kind() > static_cast<uint32_t>(model::JobKind::kRecoveryPlan)) {
      return invalid_argument(head + "kind: unknown job kind " + std::to_string(j.kind()));
    }
    if (j.state() > static_cast<uint32_t>(model::JobState::kSuspended)) {
      return invalid_argument(head + "state: unknown job state " + std::to_string(j.state()));
    }
    model::Job job;
    job.id = model::JobId(j.id());
    job.kind = static_cast<model::JobKind>(j.kind());
    job.target = j.target();
    job.state = static_cast<model::JobState>(j.state());
    job.created_at = clock.from_wall(j.created_unix_nanos());
    if (j.has_started_unix_nanos()) job.started_at = clock.from_wall(j.started_unix_nanos());
    if (j.has_ended_unix_nanos()) job.ended_at = clock.from_wall(j.ended_unix_nanos());
    job.error = j.error();
    out.push_back(std::move(job));
  }
  return out;
}

Result<int64_t> SiteRecoveryStore::resume_clock(int64_t real_now, double scale) {
  auto records = store_.records();
  if (!records.is_ok()) return records.status();
  int64_t drsim_now = real_now;
  for (const auto& [name, value] : *records) {
    if (name != kClockRecord) continue;
    StoredClock c;
    if (!c.ParseFromString(value) || !std::isfinite(c.scale()) || c.scale() <= 0) {
      return Status(StatusCode::kDataLoss, "Site Recovery record clock is corrupt");
    }
    // A wall clock stepped backwards while the daemon was down: the drsim clock stands still.
    int64_t elapsed = std::max<int64_t>(0, real_now - c.real_unix_nanos());
    drsim_now =
        c.drsim_unix_nanos() + static_cast<int64_t>(static_cast<double>(elapsed) * c.scale());
  }
  StoredClock anchor;
  anchor.set_real_unix_nanos(real_now);
  anchor.set_drsim_unix_nanos(drsim_now);
  anchor.set_scale(scale);
  if (Status s = store_.put_record(kClockRecord, anchor.SerializeAsString()); !s.is_ok()) {
    return s;
  }
  return drsim_now;
}

Result<SiteRecoveryStore::Loaded> SiteRecoveryStore::load() {
  auto records = store_.records();
  if (!records.is_ok()) return records.status();
  Loaded out;
  const std::string prefix = kLifecyclePrefix;
  for (const auto& [name, value] : *records) {
    if (name == kJobsRecord) {
      if (!out.jobs.ParseFromString(value)) {
        return Status(StatusCode::kDataLoss, "Site Recovery record jobs is corrupt");
      }
      written_[name] = value;
    } else if (name.rfind(prefix, 0) == 0) {
      StoredLifecycle lc;
      if (!lc.ParseFromString(value) || lc.item() != name.substr(prefix.size())) {
        return Status(StatusCode::kDataLoss, "Site Recovery record " + name + " is corrupt");
      }
      written_[name] = value;
      out.lifecycles[lc.item()] = std::move(lc);
    }
  }
  return out;
}

void SiteRecoveryStore::save_lifecycle(const StoredLifecycle& lc) {
  queue_if_changed(kLifecyclePrefix + lc.item(), lc.SerializeAsString());
}

void SiteRecoveryStore::save_jobs(const StoredJobs& jobs) {
  queue_if_changed(kJobsRecord, jobs.SerializeAsString());
}

void SiteRecoveryStore::forget(const std::string& item, const std::string& item_record) {
  const std::string life = kLifecyclePrefix + item;
  written_.erase(life);
  written_.erase(item_record);
  pending_.emplace_back(life, std::nullopt);
  pending_.emplace_back(item_record, std::nullopt);
}

void SiteRecoveryStore::queue_if_changed(const std::string& name, std::string value) {
  auto it = written_.find(name);
  if (it != written_.end() && it->second == value) return;
  pending_.emplace_back(name, value);
  written_[name] = std::move(value);
}

Status SiteRecoveryStore::write(storage::RegionStore& store,
                                const std::vector<RecordWrite>& records) {
  for (const auto& [name, value] : records) {
    Status s = value ? store.put_record(name, *value) : store.delete_record(name);
    if (!s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace drsim::region
