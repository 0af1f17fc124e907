// SiteRecoveryDriver across daemon restarts: after every change the driver persists each
// item's lifecycle (a single VM's or a consistency group's) and the job table
// (site_recovery_store.h); at start-up it puts them back,
// keeps the recovery points whose checkpoint directory is still there and readable, drops the
// others with a logged reason, fails the jobs a restart interrupted and removes checkpoint
// directories that no retained point names.
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "common/core/names.h"
#include "common/region/recovery_plan_driver.h"
#include "common/region/site_recovery_driver.h"

namespace drsim::region {

namespace fs = std::filesystem;
using namespace drsim::v1;

Status SiteRecoveryDriver::checkpoint_usable(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found("checkpoint directory " + dir + " is missing");
  auto cursors = storage::RegionStore::read_checkpoint_cursors(dir, {});
  return cursors.status();
}

Status SiteRecoveryDriver::restore_state() {
  std::error_code ec;
  fs::create_directories(points_dir_, ec);
  if (ec) return invalid_argument("points directory " + points_dir_ + ": " + ec.message());
  auto drsim_now = durable_.resume_clock(process_clock_.wall_unix_nanos(), clock_.scale());
  if (!drsim_now.is_ok()) return drsim_now.status();
  wall_start_nanos_ = *drsim_now - (now() - drsim_start_).count();
  auto loaded = durable_.load();
  if (!loaded.is_ok()) return loaded.status();
  if (Status s = restore_scopes(loaded->lifecycles); !s.is_ok()) return s;
  restore_jobs(loaded->jobs);
  remove_unused_point_dirs();
  persist();
  return Status::ok();
}

// Every protected item and group again, from its protect request (a record of the region's
// store) and its lifecycle record.
Status SiteRecoveryDriver::restore_scopes(
    const std::map<std::string, StoredLifecycle>& lifecycles) {
  const std::string& me = node_.options().name;
  auto records = node_.store().records();
  if (!records.is_ok()) return records.status();
  std::map<std::string, ProtectItemRequest> requests;
  std::map<std::string, ProtectGroupRequest> groups;
  for (const auto& [name, value] : *records) {
    if (name.rfind(kGroupRecordPrefix, 0) == 0) {
      ProtectGroupRequest req;
      if (req.ParseFromString(value)) groups[req.group()] = std::move(req);
      continue;
    }
    if (name.rfind(kItemRecordPrefix, 0) != 0) continue;
    ProtectItemRequest req;
    if (req.ParseFromString(value)) requests[req.item()] = std::move(req);
  }
  for (const auto& [name, stored] : lifecycles) {
    if (Status s = validate_name("item", name); !s.is_ok()) {
      // Written before names were checked: it would reach paths outside the points directory.
      spdlog::warn("site recovery: lifecycle record refused: {}", s.message());
      continue;
    }
    if (stored.active_region() != me && stored.active_region() != node_.options().peer_name) {
      // A test failover's isolated copy: the records came with the checkpoint, the vault did not.
      spdlog::info("site recovery: lifecycle record of {} belongs to region {}, not {}; ignored",
                   name, stored.active_region(), me);
      continue;
    }
    if (auto g = groups.find(name); g != groups.end()) {
      restore_group(g->second, stored);
      continue;
    }
    auto it = requests.find(name);
    if (it == requests.end()) {
      spdlog::warn(
          "site recovery: lifecycle record of {} has no protected item or group record; ignored",
          name);
      continue;
    }
    restore_item(it->second, stored);
  }
  return Status::ok();
}

// Jobs: the table as it was; a job a restart cut short failed (an enable replication still
// running goes on: its item's sync resumes).
void SiteRecoveryDriver::restore_jobs(const drsim::v1::StoredJobs& stored) {
  auto jobs = from_stored(stored, wall_mapping());
  auto table = jobs.is_ok() ? model::JobTable::restore(std::move(jobs).value())
                            : Result<model::JobTable>(jobs.status());
  if (table.is_ok()) {
    jobs_ = std::move(table).value();
  } else {
    spdlog::warn("site recovery: jobs of an earlier run not restored: {}",
                 table.status().message());
    jobs_ = model::JobTable();
  }
  Time t = now();
  for (const auto& j : jobs_.jobs()) {
    if (model::job_state_final(j.state)) continue;
    auto item = items_.find(j.target);
    const auto* lc = vault_.find(j.target);
    if (j.kind == model::JobKind::kEnableReplication && item != items_.end() && lc != nullptr &&
        lc->state() == model::ProtectionState::kInitialReplication) {
      item->second.enable_job = j.id;
      continue;
    }
    if (j.state == model::JobState::kNotStarted) {
      (void)jobs_.transition(j.id, model::JobState::kInProgress, t);
    }
    (void)jobs_.transition(j.id, model::JobState::kFailed, t,
                           "interrupted: region " + node_.options().name +
                               " restarted while it ran");
  }
}

// Directories no retained point (or pending test copy) names belong to nothing now; the
// plan-run logs outlive a restart.
void SiteRecoveryDriver::remove_unused_point_dirs() {
  std::error_code ec;
  std::set<std::string> keep;
  for (const auto& [name, item] : items_) {
    for (const auto& [id, dir] : item.checkpoints) keep.insert(fs::path(dir).lexically_normal());
    if (!item.test_copy.empty()) {
      keep.insert(fs::path(item.test_copy).lexically_normal());
      keep.insert(fs::path(item.test_copy + ".points").lexically_normal());
    }
  }
  for (const auto& top : fs::directory_iterator(points_dir_, ec)) {
    const std::string p = top.path().lexically_normal();
    if (keep.count(p)) continue;
    const bool item_dir = items_.count(top.path().filename().string()) > 0;
    if (item_dir && top.is_directory(ec)) {
      for (const auto& sub : fs::directory_iterator(top.path(), ec)) {
        if (keep.count(sub.path().lexically_normal())) continue;
        spdlog::info("site recovery: removing {}: no retained recovery point uses it",
                     sub.path().string());
        fs::remove_all(sub.path(), ec);
      }
    } else {
      if (top.path().filename() == kPlanRunsDir) continue;  // plan-run logs outlive a restart
      spdlog::info("site recovery: removing {}: no protected item uses it", p);
      fs::remove_all(top.path(), ec);
    }
  }
}

void SiteRecoveryDriver::restore_item(const ProtectItemRequest& req,
                                      const StoredLifecycle& stored) {
  if (auto r = protect_recorded(req, false); !r.is_ok()) {
    spdlog::warn("site recovery: cannot restore {}: {}", req.item(), r.status().message());
    return;
  }
  restore_lifecycle(req.item(), stored);
}

void SiteRecoveryDriver::restore_group(const ProtectGroupRequest& req,
                                       const StoredLifecycle& stored) {
  // Not protect_group: the group may run here now (failed over), where an operator's protect
  // is refused; its record exists already.
  if (auto r = add_group(req, GroupOrigin::kRestored); !r.is_ok()) {
    spdlog::warn("site recovery: cannot restore consistency group {}: {}", req.group(),
                 r.status().message());
    return;
  }
  restore_lifecycle(req.group(), stored);
}

void SiteRecoveryDriver::restore_lifecycle(const std::string& name, const StoredLifecycle& stored) {
  model::ProtectionLifecycle& lc = **vault_.lifecycle(name);
  auto record = from_stored(stored, wall_mapping());
  Status restored = record.is_ok() ? lc.restore(*record) : record.status();
  Item& item = items_[name];
  item.enable_job.reset();  // the restored job table says which job runs
  if (!restored.is_ok()) {
    spdlog::warn("site recovery: {}: its record is refused ({}); it starts over in {}", name,
                 restored.message(), model::protection_state_name(lc.state()));
    return;
  }
  std::vector<model::RecoveryPointId> gone;
  for (const auto& p : lc.points().points()) {
    auto confined = checkpoint_dir(name, p.id);
    const std::string dir = confined.is_ok() ? *confined : "";
    if (Status s = confined.is_ok() ? checkpoint_usable(dir) : confined.status(); !s.is_ok()) {
      spdlog::warn("site recovery: {} recovery point {} dropped at start-up: {}", name,
                   p.id.value(), s.message());
      gone.push_back(p.id);
      continue;
    }
    item.checkpoints[p.id] = dir;
  }
  for (auto id : gone) (void)lc.drop_point(id);
  // Only the copy this item's name makes: cleanup removes it recursively.
  if (auto copy = test_copy_dir(name); copy.is_ok() && stored.test_copy() == *copy) {
    item.test_copy = stored.test_copy();
  } else if (!stored.test_copy().empty()) {
    spdlog::warn("site recovery: {}: test failover copy {} is not {}; not restored", name,
                 stored.test_copy(), copy.is_ok() ? *copy : copy.status().message());
  }
  spdlog::info("site recovery: {} restored: {}, {} recovery point(s){}", name,
               model::protection_state_name(lc.state()), item.checkpoints.size(),
               gone.empty() ? "" : " (" + std::to_string(gone.size()) + " dropped)");
}

void SiteRecoveryDriver::persist(PersistWhen when) {
  const DrsimWallMapping m = wall_mapping();
  for (const auto& name : vault_.scope_names()) {
    const auto* lc = vault_.find(name);
    if (lc == nullptr) continue;
    StoredLifecycle stored = to_stored(name, lc->record(), m);
    if (auto it = items_.find(name); it != items_.end()) stored.set_test_copy(it->second.test_copy);
    durable_.save_lifecycle(stored);
  }
  durable_.save_jobs(to_stored(jobs_.jobs(), m));
  auto records = durable_.take_pending();
  if (records.empty()) return;
  checkpoints_->write(std::move(records));
  if (when == PersistWhen::kBeforeReturning) checkpoints_->drain();
}

}  // namespace drsim::region
