#include "common/model/backup/item.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/core/check.h"

namespace drsim::model {

namespace {

// Billed bytes of `points` taken as incremental copies: per disk, the oldest copy is full and
// each later one adds what changed since the one before.
template <typename Pred>
uint64_t stored_bytes(const std::vector<BackupPoint>& points, Pred keep) {
  std::map<std::string, std::vector<DiskCopy>> chains;
  for (const auto& p : points) {
    if (!keep(p)) continue;
    for (const auto& d : p.disks) chains[d.disk].push_back(d);
  }
  uint64_t bytes = 0;
  for (const auto& [disk, chain] : chains) bytes += chain_billed_bytes(chain);
  return bytes;
}

}  // namespace

const char* consistency_name(Consistency c) {
  switch (c) {
    case Consistency::kApplication:
      return "ApplicationConsistent";
    case Consistency::kCrash:
      return "CrashConsistent";
  }
  return "Unknown";
}

const char* backup_protection_state_name(BackupProtectionState s) {
  switch (s) {
    case BackupProtectionState::kProtected:
      return "Protected";
    case BackupProtectionState::kProtectionStopped:
      return "ProtectionStopped";
    case BackupProtectionState::kSoftDeleted:
      return "SoftDeleted";
  }
  return "Unknown";
}

uint64_t BackupPoint::used_bytes() const {
  uint64_t used = 0;
  for (const auto& d : disks) used += d.used_bytes;
  return used;
}

BackupItem::BackupItem(std::string vm, BackupPolicy policy, Time now)
    : vm_(std::move(vm)), policy_(std::move(policy)) {
  DRSIM_CHECK(policy_.validate().is_ok());
  next_due_ = policy_.next_backup_due(now);
}

Status BackupItem::check_can_back_up(const VirtualMachine& vm) const {
  DRSIM_CHECK(vm.name == vm_);
  if (state_ != BackupProtectionState::kProtected) {
    return failed_precondition("VM " + vm_ + " is " + backup_protection_state_name(state_) +
                               "; resume protection to back it up");
  }
  if (source_ == SourceVm::kDeleted) {
    return failed_precondition("VM " + vm_ + " was deleted; its recovery points stay restorable");
  }
  return vm.validate();
}

Result<BackupJob> BackupItem::run_scheduled_backup(const VirtualMachine& vm, GeoCopy geo,
                                                   Time now) {
  if (Status s = check_can_back_up(vm); !s.is_ok()) return s;
  if (now < next_due_) {
    return failed_precondition("VM " + vm_ + ": the next scheduled backup is due at " +
                               format_drill_time(next_due_) + ", not " + format_drill_time(now));
  }
  const Time slot = next_due_;
  next_due_ = policy_.next_backup_due(now + Duration(1));
  const RetentionTags tags = policy_.tags_for(slot);
  return back_up(vm, BackupTrigger::kScheduled, tags, policy_.expiry_of(now, tags), geo, now);
}

Result<BackupJob> BackupItem::run_on_demand_backup(const VirtualMachine& vm, Time retain_until,
                                                   GeoCopy geo, Time now) {
  if (Status s = check_can_back_up(vm); !s.is_ok()) return s;
  if (retain_until <= now) {
    return invalid_argument("retain_until: " + format_drill_time(retain_until) +
                            " must be later than now (" + format_drill_time(now) + ")");
  }
  return back_up(vm, BackupTrigger::kOnDemand, RetentionTags{}, retain_until, geo, now);
}

BackupJob BackupItem::back_up(const VirtualMachine& vm, BackupTrigger trigger, RetentionTags tags,
                              Time expires_at, GeoCopy geo, Time now) {
  BackupJob job{.vm = vm_,
                .trigger = trigger,
                .at = now,
                .status = {},
                .error_code = {},
                .point = std::nullopt};
  // The snapshot extension runs through the VM agent, whatever the power state.
  if (vm.agent == GuestAgent::kMissing) {
    job.error_code = kErrorGuestAgentStatusUnavailable;
    job.status = failed_precondition(
        job.error_code + ": the VM agent is missing on " + vm_ +
        ": install the Microsoft Azure Virtual Machine Agent extension (the MARS agent does "
        "not count: it backs up files and folders, not the VM)");
    return job;
  }
  if (points_.size() >= kMaxRecoveryPointsPerItem) {
    job.status = Status(StatusCode::kResourceExhausted,
                        "VM " + vm_ + " holds " + std::to_string(points_.size()) +
                            " recovery points, the most Azure Backup keeps per item; shorten "
                            "the policy's retention or wait for points to expire");
    return job;
  }
  BackupPoint p;
  last_id_ = last_id_.next();
  p.id = last_id_;
  p.created = now;
  p.trigger = trigger;
  p.consistency =
      vm.power == PowerState::kRunning ? Consistency::kApplication : Consistency::kCrash;
  p.tags = tags;
  p.expires_at = expires_at;
  p.snapshot_until = policy_.snapshot_until(now);
  p.replicated_to_paired_region = geo == GeoCopy::kPairedRegion;
  for (const auto& d : vm.disks) p.disks.push_back(copy_of(d));
  points_.push_back(std::move(p));
  job.point = last_id_;
  return job;
}

std::vector<BackupPointExpired> BackupItem::expire_points(Time now) {
  std::vector<BackupPointExpired> expired;
  if (state_ != BackupProtectionState::kProtected || points_.size() < 2) return expired;
  // Never the newest (the last element): it stays even past its retention.
  auto last_kept = std::prev(points_.end());
  auto gone = std::stable_partition(points_.begin(), last_kept,
                                    [&](const BackupPoint& p) { return p.expires_at > now; });
  for (auto it = gone; it != last_kept; ++it) {
    expired.push_back(BackupPointExpired{vm_, it->id, it->expires_at});
  }
  points_.erase(gone, last_kept);
  return expired;
}

Status BackupItem::stop_protection() {
  if (state_ != BackupProtectionState::kProtected) {
    return failed_precondition("VM " + vm_ + " is " + backup_protection_state_name(state_) +
                               ", not Protected");
  }
  state_ = BackupProtectionState::kProtectionStopped;
  return Status::ok();
}

Status BackupItem::delete_data(Time now) {
  switch (state_) {
    case BackupProtectionState::kProtected:
      return failed_precondition("VM " + vm_ +
                                 " is still protected: stop protection first, then delete its "
                                 "backup data");
    case BackupProtectionState::kSoftDeleted:
      return failed_precondition("backup data of VM " + vm_ +
                                 " is already soft-deleted; it is purged at " +
                                 format_drill_time(purge_at_));
    case BackupProtectionState::kProtectionStopped:
      break;
  }
  state_ = BackupProtectionState::kSoftDeleted;
  purge_at_ = now + kSoftDeleteRetention;
  return Status::ok();
}

Status BackupItem::undelete(Time now) {
  if (state_ != BackupProtectionState::kSoftDeleted) {
    return failed_precondition("backup data of VM " + vm_ + " is not deleted (" +
                               backup_protection_state_name(state_) + ")");
  }
  if (now >= purge_at_) {
    return failed_precondition("backup data of VM " + vm_ + " was purged at " +
                               format_drill_time(purge_at_) + ", 14 days after its deletion");
  }
  state_ = BackupProtectionState::kProtectionStopped;
  purge_at_ = kNever;
  return Status::ok();
}

Status BackupItem::resume_protection(Time now) {
  if (state_ != BackupProtectionState::kProtectionStopped) {
    return failed_precondition("VM " + vm_ + " is " + backup_protection_state_name(state_) +
                               (state_ == BackupProtectionState::kSoftDeleted
                                    ? "; undelete its backup data, then resume protection"
                                    : "; only stopped protection can resume"));
  }
  if (source_ == SourceVm::kDeleted) {
    return failed_precondition("VM " + vm_ + " was deleted; there is nothing to protect");
  }
  state_ = BackupProtectionState::kProtected;
  next_due_ = policy_.next_backup_due(now);
  return Status::ok();
}

Time BackupItem::next_backup_due() const {
  if (state_ != BackupProtectionState::kProtected || source_ == SourceVm::kDeleted) return kNever;
  return next_due_;
}

Time BackupItem::next_deadline() const {
  Time next = std::min(next_backup_due(), purge_at_);
  if (state_ == BackupProtectionState::kProtected && points_.size() >= 2) {
    for (auto it = points_.begin(); it != std::prev(points_.end()); ++it) {
      next = std::min(next, it->expires_at);
    }
  }
  return next;
}

uint64_t BackupItem::vault_stored_bytes() const {
  return stored_bytes(points_, [](const BackupPoint&) { return true; });
}

uint64_t BackupItem::snapshot_stored_bytes(Time now) const {
  return stored_bytes(points_,
                      [&](const BackupPoint& p) { return p.instant_restore_available(now); });
}

const BackupPoint* BackupItem::point(BackupPointId id) const {
  for (const auto& p : points_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

}  // namespace drsim::model
