// BackupItem: one VM protected by a Recovery Services vault — its protection state, its
// recovery points and their retention, scheduled and on-demand backup jobs, and stop / soft
// delete / undelete / resume. Pure; RecoveryServicesVault owns the items and adds the
// vault-wide rules (region, storage redundancy, cross-region copies).
//
// Lifecycle (facts.md "Backup"):
//   Protected --stop--> ProtectionStopped: points kept (no expiry), billed, resumable
//   ProtectionStopped --resume--> Protected: the policy's retention applies again
//   ProtectionStopped --delete data--> SoftDeleted: restorable by undelete for 14 days, then
//                                      purged. Deleting data needs protection stopped first.
//   SoftDeleted --undelete, before the purge--> ProtectionStopped
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/backup/policy.h"
#include "common/model/backup/vm.h"
#include "common/model/backup/disk_snapshot.h"

namespace drsim::model {

// Backup's recovery points are BackupPoint, apart from Site Recovery's RecoveryPoint: same
// word in Azure, different things (a vault copy of disks vs a replica's consistency point).
using BackupPointId = StrongId<struct BackupPointTag>;

enum class BackupTrigger { kScheduled, kOnDemand };

// App-consistent needs the VM agent to quiesce a running VM; a stopped VM has nothing in
// flight, so its disks are crash-consistent.
enum class Consistency { kApplication, kCrash };
const char* consistency_name(Consistency c);  // "ApplicationConsistent", "CrashConsistent"

enum class BackupProtectionState { kProtected, kProtectionStopped, kSoftDeleted };
const char* backup_protection_state_name(BackupProtectionState s);  // the portal's words

enum class SourceVm { kExists, kDeleted };

// Whether the vault keeps a copy of each point in its paired region (GRS) or not.
enum class GeoCopy { kPairedRegion, kNone };

inline constexpr Duration kSoftDeleteRetention = 14 * kDay;
// The Azure error code of a VM backup without the VM agent.
inline constexpr char kErrorGuestAgentStatusUnavailable[] = "UserErrorGuestAgentStatusUnavailable";

struct BackupPoint {
  BackupPointId id;
  Time created;
  BackupTrigger trigger = BackupTrigger::kScheduled;
  Consistency consistency = Consistency::kCrash;
  RetentionTags tags;   // scheduled points only
  Time expires_at;      // from the policy's tags, or the on-demand retain-until
  Time snapshot_until;  // instant-restore snapshot kept beside the VM until then
  bool replicated_to_paired_region = false;
  std::vector<DiskCopy> disks;  // OS disk first

  bool instant_restore_available(Time now) const { return now < snapshot_until; }
  uint64_t used_bytes() const;
};

// One backup job that ran: a recovery point, or why there is none.
struct BackupJob {
  std::string vm;
  BackupTrigger trigger = BackupTrigger::kScheduled;
  Time at;
  Status status;           // OK, or the failure
  std::string error_code;  // Azure's error code for the failure, when drsim models one
  std::optional<BackupPointId> point;
};

struct BackupPointExpired {
  std::string vm;
  BackupPointId point;
  Time expires_at;
};

class BackupItem {
 public:
  // `policy` must be valid (checked). The first scheduled backup is the policy's first slot at
  // or after `now`.
  BackupItem(std::string vm, BackupPolicy policy, Time now);

  // `vm` is this item's VM (checked) as it is now: agent, power state, disks.
  // Scheduled backup of the slot next_backup_due() named. The slot is used up even when the
  // job fails, and slots missed while the driver was behind are skipped, not caught up (Azure
  // does not run missed scheduled backups). Refused (no job) unless protected, the VM exists
  // and the slot is due.
  Result<BackupJob> run_scheduled_backup(const VirtualMachine& vm, GeoCopy geo, Time now);
  // "Backup now": kept until `retain_until`, outside the policy's tags.
  Result<BackupJob> run_on_demand_backup(const VirtualMachine& vm, Time retain_until, GeoCopy geo,
                                         Time now);

  // Removes the points whose retention ended at or before `now`, oldest first. Only while
  // protected: stopped and soft-deleted data is kept as it is. The newest point is never
  // expired, so a protected VM whose backups keep failing still has one point to restore.
  std::vector<BackupPointExpired> expire_points(Time now);

  Status stop_protection();
  // ProtectionStopped → SoftDeleted, purged kSoftDeleteRetention after `now`.
  Status delete_data(Time now);
  // SoftDeleted → ProtectionStopped, while now < purge_at().
  Status undelete(Time now);
  // ProtectionStopped → Protected; the next slot after `now` is scheduled.
  Status resume_protection(Time now);
  void on_source_vm_deleted() { source_ = SourceVm::kDeleted; }

  bool purge_due(Time now) const {
    return state_ == BackupProtectionState::kSoftDeleted && now >= purge_at_;
  }
  // kNever unless protected and the VM exists.
  Time next_backup_due() const;
  // Earliest of the next backup, the next expiry and the purge.
  Time next_deadline() const;

  // Bytes the vault stores for the points (first full, then changes), and the bytes of the
  // instant-restore snapshots still kept at `now`.
  uint64_t vault_stored_bytes() const;
  uint64_t snapshot_stored_bytes(Time now) const;

  const std::string& vm() const { return vm_; }
  BackupProtectionState state() const { return state_; }
  SourceVm source() const { return source_; }
  const BackupPolicy& policy() const { return policy_; }
  const std::vector<BackupPoint>& points() const { return points_; }  // oldest first
  const BackupPoint* point(BackupPointId id) const;
  Time purge_at() const { return purge_at_; }  // kNever unless soft-deleted

 private:
  Status check_can_back_up(const VirtualMachine& vm) const;
  BackupJob back_up(const VirtualMachine& vm, BackupTrigger trigger, RetentionTags tags,
                    Time expires_at, GeoCopy geo, Time now);

  std::string vm_;
  BackupPolicy policy_;
  BackupProtectionState state_ = BackupProtectionState::kProtected;
  SourceVm source_ = SourceVm::kExists;
  Time next_due_;
  Time purge_at_ = kNever;
  BackupPointId last_id_;
  std::vector<BackupPoint> points_;
};

}  // namespace drsim::model
