// BackupDriver: Azure Backup in a region daemon. Glues the pure vault models
// (common/model/vault*.h, backup_*.h) to storage and gRPC on the region loop:
//   - every vault change is a VaultOp, applied to the models by one function, logged in the
//     BackupStore (replayed at start) and shipped to the paired region, which applies it to its
//     copy of this region's vaults (with the points' data when the vault is GRS);
//   - a recovery point is a real copy of the workload's keys from a RocksDB snapshot (a "blob");
//     restore writes it back: a new VM's disk, restored disks, or the live workload's keys
//     (through the replicated write path, so the standby gets the restore too);
//   - scheduled backups, retention and the soft-delete purge run on the backup clock, a
//     ScaledClock over the process clock, which a drill speeds up (SetBackupClock).
// A VM is a workload the daemon hosts (one OS disk "<vm>-osdisk" holding its keys), or one a
// restore created here.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/core/scheduler.h"
#include "common/model/backup/clock.h"
#include "common/model/backup/cost_meter.h"
#include "common/model/backup/disk_snapshot.h"
#include "common/model/backup/geo_copy_intake.h"
#include "common/model/backup/restore.h"
#include "common/model/backup/vault_registry.h"
#include "common/model/backup/vm_image.h"
#include "common/region/region_node.h"
#include "common/storage/backup_store.h"
#include "common/storage/region_store.h"
#include "drsim/v1/backup.grpc.pb.h"

namespace drsim::region {

struct BackupOptions {
  double time_scale = 1;                   // backup clock speed (--backup-time-scale)
  uint64_t disk_size_bytes = 64ull << 30;  // provisioned OS disk of a hosted VM (--vm-disk-gib)
};

class BackupDriver {
 public:
  // `scheduler` and `clock` are the process's; the backup clock is a ScaledClock over `clock`.
  BackupDriver(RegionNode& node, Scheduler& scheduler, const Clock& clock,
               storage::RegionStore& region_store, storage::BackupStore& store,
               BackupOptions options);
  ~BackupDriver();

  // Replays the logged vault ops, restores the clock, arms the schedule. On the loop.
  Status start();
  void stop();

  // The Backup service, on the loop. UNAVAILABLE while the region is in an injected outage.
  Result<drsim::v1::CreateVaultResponse> create_vault(const drsim::v1::CreateVaultRequest& req);
  Status delete_vault(const drsim::v1::DeleteVaultRequest& req);
  Result<drsim::v1::ListVaultsResponse> list_vaults();
  Status create_policy(const drsim::v1::CreatePolicyRequest& req);
  Result<drsim::v1::ProtectResponse> protect(const drsim::v1::ProtectRequest& req);
  Result<drsim::v1::BackupNowResponse> backup_now(const drsim::v1::BackupNowRequest& req);
  Result<drsim::v1::StopProtectionResponse> stop_protection(
      const drsim::v1::StopProtectionRequest& req);
  Result<drsim::v1::ItemResponse> undelete(const drsim::v1::ItemRequest& req);
  Result<drsim::v1::ItemResponse> resume_protection(const drsim::v1::ItemRequest& req);
  using RestoreDone = std::function<void(Result<drsim::v1::RestoreResponse>)>;
  void restore(const drsim::v1::RestoreRequest& req, RestoreDone done);
  Status set_vm(const drsim::v1::SetVmRequest& req);
  Result<drsim::v1::ListVmsResponse> list_vms();
  // The VM goes (a hosted workload then refuses writes; a restored VM's settings go, its disks
  // stay); its backups hear of it through a logged, shipped vault op. Unconfirmed: nothing
  // changes, FAILED_PRECONDITION saying what would (model::VaultRegistry::delete_vm).
  Result<drsim::v1::DeleteVmResponse> delete_vm(const drsim::v1::DeleteVmRequest& req);
  Result<drsim::v1::ReadDiskResponse> read_disk(const drsim::v1::ReadDiskRequest& req);
  Result<drsim::v1::SetBackupClockResponse> set_clock(const drsim::v1::SetBackupClockRequest& req);
  // Disk snapshots, images and the cost report (backup_driver_disks.cc), on the loop.
  Result<drsim::v1::CreateSnapshotResponse> create_snapshot(
      const drsim::v1::CreateSnapshotRequest& req);
  Result<drsim::v1::ListSnapshotsResponse> list_snapshots(const drsim::v1::ListSnapshotsRequest&);
  Result<drsim::v1::DeleteSnapshotResponse> delete_snapshot(
      const drsim::v1::DeleteSnapshotRequest& req);
  Result<drsim::v1::CreateDiskResponse> create_disk(const drsim::v1::CreateDiskRequest& req);
  Result<drsim::v1::CaptureImageResponse> capture_image(const drsim::v1::CaptureImageRequest& req);
  Result<drsim::v1::ListImagesResponse> list_images(const drsim::v1::ListImagesRequest&);
  Result<drsim::v1::CreateVmFromImageResponse> create_vm_from_image(
      const drsim::v1::CreateVmFromImageRequest& req);
  Result<drsim::v1::CostResponse> cost(const drsim::v1::CostRequest& req);
  // The region's write gate: a generalized VM (captured into an image) takes no client writes.
  Status admit_write(const std::string& vm) const;

  // GET /metrics (region_metrics.cc): this region's vaults with their items by protection
  // state, and the backup jobs this process ran (scheduled and on-demand) by how they ended.
  enum class JobResult { kCompleted, kFailed };
  struct JobKey {
    std::string vault;
    model::BackupTrigger trigger;
    JobResult result;
    auto operator<=>(const JobKey&) const = default;
  };
  struct VaultFigures {
    std::string vault;
    std::map<model::BackupProtectionState, uint64_t> items;  // every state, 0 included
  };
  struct Figures {
    std::vector<VaultFigures> vaults;
    std::map<JobKey, uint64_t> jobs;
  };
  Figures figures() const;

  // From the paired region.
  Status geo_put_blob(const drsim::v1::GeoBlobChunk& chunk);
  Result<drsim::v1::GeoOpsResponse> geo_apply_ops(const drsim::v1::GeoOpsRequest& req);

 private:
  // A region's vaults: this region's, or the copy of the paired region's.
  struct PointData {
    uint64_t blob = 0;
    uint64_t source_seq = 0;
    uint64_t keys = 0;
  };
  struct VaultSet {
    std::string region;  // "" = this region
    model::VaultRegistry registry;
    std::map<std::string, std::map<std::string, model::BackupPolicy>, std::less<>> policies;
    // (vault, vm) -> point id -> data
    std::map<std::pair<std::string, std::string>, std::map<uint64_t, PointData>> points;
    std::map<std::pair<std::string, std::string>, std::string> item_policy;  // policy's name
    uint64_t applied_seq = 0;
  };
  // What applying an op did, beyond its status.
  // The (vault, VM) and point of `set` whose data is blob `blob`, if one names it.
  static std::optional<std::pair<std::pair<std::string, std::string>, uint64_t>> point_naming(
      const VaultSet& set, uint64_t blob);
  // `source`'s paired copy, or an empty one when no op of it has been applied.
  const VaultSet& paired_copy(const std::string& source) const;
  // Drops the paired copies' blobs no applied op names (at start: see unnamed_geo_blobs).
  Status drop_unnamed_geo_blobs();
  struct Applied {
    std::optional<model::BackupJob> job;
    std::optional<model::BackupDataDeleted> deleted;
    std::optional<model::SourceVmDeleted> vm_deleted;
  };

  Time now() const;
  Status check_serving() const;
  // A vault, policy, VM, disk, snapshot or image name: required, at most 64 bytes, the
  // characters of a workload name. INVALID_ARGUMENT naming `field`.
  static Status check_name(const char* field, const std::string& name);
  Result<Applied> apply(VaultSet& set, const drsim::v1::VaultOp& op);
  // One op applied to `set` (apply dispatches on its kind): when, in which region (the set's)
  // paired with which, and the vaults it may name.
  struct OpScope {
    VaultSet& set;
    Time at;
    std::string region;
    std::string paired;
    // NOT_FOUND naming the vault and the region when `set` has none of that name.
    Result<model::RecoveryServicesVault*> vault(const std::string& name) const;
  };
  Result<Applied> apply_create_vault(const OpScope& s, const drsim::v1::VaultOpCreate& c);
  Result<Applied> apply_delete_vault(const OpScope& s, const drsim::v1::VaultOpName& c);
  Result<Applied> apply_create_policy(const OpScope& s, const drsim::v1::VaultOpPolicy& c);
  Result<Applied> apply_protect(const OpScope& s, const drsim::v1::VaultOpProtect& c);
  Result<Applied> apply_backup(const OpScope& s, const drsim::v1::VaultOpBackup& c);
  using Vault = model::RecoveryServicesVault;
  using ItemAction = std::function<Status(Vault&, const drsim::v1::VaultOpItem&, Time)>;
  Result<Applied> apply_item_op(const OpScope& s, const drsim::v1::VaultOpItem& c,
                                const ItemAction& act);
  Result<Applied> apply_delete_data(const OpScope& s, const drsim::v1::VaultOpItem& c);
  Result<Applied> apply_expire(const OpScope& s, const drsim::v1::VaultOpName& c);
  Result<Applied> apply_delete_vm(const OpScope& s, const drsim::v1::VaultOpVm& c);
  // Applies a new op of this region: model, log, clock record, paired region.
  Result<Applied> commit(drsim::v1::VaultOp op, std::optional<Time> at = std::nullopt);
  // Deletes the data of one point, or of every point of the VM.
  void drop_points(VaultSet& set, const std::string& vault, const std::string& vm,
                   std::optional<uint64_t> only);
  Result<drsim::v1::VmFacts> facts_of(const std::string& vm, uint64_t used_bytes,
                                      uint64_t written_bytes);
  Result<drsim::v1::VaultOp> take_backup(const std::string& vault, const std::string& vm,
                                         bool on_demand, Time retain_until);
  // `slot`: the scheduled time of a scheduled backup.
  Result<model::BackupJob> run_backup(const std::string& vault, const std::string& vm,
                                      bool on_demand, Time retain_until,
                                      std::optional<Time> slot = std::nullopt);
  void fill_vault(const VaultSet& set, const model::RecoveryServicesVault& v,
                  drsim::v1::VaultInfo* out) const;
  void fill_item(const VaultSet& set, const std::string& vault, const model::BackupItem& item,
                 drsim::v1::BackupItemInfo* out) const;
  void fill_point(const VaultSet& set, const std::string& vault, const std::string& vm,
                  const model::BackupPoint& p, drsim::v1::RecoveryPointInfo* out) const;
  // Undelete / resume: one item op (`kind` picks it), answered with the item.
  Result<drsim::v1::ItemResponse> item_op(const drsim::v1::ItemRequest& req,
                                          drsim::v1::VaultOpItem* (drsim::v1::VaultOp::*kind)());
  bool hosted(const std::string& vm) const;
  Result<drsim::v1::VmInfo> vm_info(const std::string& vm);
  // restore()'s parts: the vault set it reads (this region's, or a paired copy for a
  // cross-region restore), the point, the targets that must not exist, what it writes.
  struct RestoreFrom {
    const VaultSet* set;
    model::RestoreLocation location;
  };
  Result<RestoreFrom> restore_from(const drsim::v1::RestoreRequest& req);
  static Result<uint64_t> point_to_restore(const model::RecoveryServicesVault& vault,
                                           const drsim::v1::RestoreRequest& req);
  Status check_restore_targets(model::RestoreKind kind, const drsim::v1::RestoreRequest& req,
                               const model::RestorePlan& plan);
  Status write_restored(const model::RestorePlan& plan, const storage::BlobRef& blob,
                        drsim::v1::RestoreResponse& resp);
  Result<uint64_t> copy_blob_to_disk(const storage::BlobRef& blob, const std::string& disk,
                                     uint64_t* bytes);
  void replace_existing(const std::string& vm, const storage::BlobRef& blob,
                        drsim::v1::RestoreResponse resp, RestoreDone done);
  struct ReplaceJob {
    std::vector<drsim::v1::WriteOp> ops;
    size_t written = 0;
    drsim::v1::RestoreResponse resp;
    RestoreDone done;
    std::string vm;
    static void next(RegionNode& node, const std::shared_ptr<ReplaceJob>& job);
  };

  // Disks, snapshots, images, cost (backup_driver_disks.cc).
  struct SnapshotData {
    model::DiskSnapshot snap;  // kind, created, the disk's size / used / written mark
    std::string vm;
    drsim::v1::DiskContent content;  // the blob
    uint64_t source_seq = 0;
  };
  struct ImageData {
    model::VmImage image;
    std::vector<drsim::v1::DiskContent> disks;
  };
  using DiskKeys = std::map<std::string, std::string>;
  struct CopiedDisk {
    drsim::v1::DiskContent content;
    uint64_t source_seq = 0;
  };
  Result<Applied> apply_disk_op(const drsim::v1::VaultOp& op);
  Result<Applied> apply_create_snapshot(const drsim::v1::VaultOpSnapshot& c, Time at);
  Result<Applied> apply_delete_snapshot(const drsim::v1::VaultOpDeleteSnapshot& c);
  Result<Applied> apply_capture_image(const drsim::v1::VaultOpImage& c, Time at);
  // What every billed item holds at `at` (the state after the last op).
  std::vector<model::BilledUsage> usage_at(Time at) const;
  // Times in (after, until) where that usage changes without an op.
  std::vector<Time> usage_changes(Time after, Time until) const;
  // Into the cost meter: catch_up_usage before each op of this region (the changes since the
  // last one), record_usage after it.
  void catch_up_usage(Time at);
  void record_usage(Time at);
  // The VM a disk belongs to ("" = a standalone disk) and whether it is that VM's OS disk;
  // NOT_FOUND for no such disk.
  Result<std::pair<std::string, model::DiskRole>> disk_owner(const std::string& disk);
  // Copies a disk into a new blob: every key, or (with `base`) only what differs from it
  // (deleted keys as tombstones).
  Result<CopiedDisk> copy_disk(const std::string& disk, model::DiskRole role, const DiskKeys* base,
                               uint64_t base_written_mark);
  // copy_disk's read: every key of the disk (a hosted OS disk's from `snap`), as blob entries
  // (with `base`, only the changed ones, and tombstones for the keys gone), and what it holds.
  struct DiskScan {
    DiskKeys entries;
    uint64_t used = 0;     // bytes of keys and values
    uint64_t changed = 0;  // of those, the bytes that differ from `base`
    uint64_t keys = 0;
  };
  Result<DiskScan> scan_disk(const std::string& disk, const std::string& workload,
                             const storage::RegionStore::Snapshot* snap, const DiskKeys* base);
  // A blob's raw entries (0x01 + value, or 0x00).
  Result<DiskKeys> blob_entries(uint64_t blob);
  Result<uint64_t> write_blob(uint64_t blob, const DiskKeys& entries, uint64_t* stored_bytes);
  // The disk's keys at a snapshot, resolving an incremental one through its chain.
  Result<DiskKeys> snapshot_keys(const std::string& snapshot);
  // Writes `keys` as a new disk.
  Status write_new_disk(const std::string& disk, const DiskKeys& keys, uint64_t* bytes);
  // ALREADY_EXISTS when a VM or disk of that name exists here.
  Status check_new_vm(const std::string& field, const std::string& vm);
  Status check_new_disk(const std::string& field, const std::string& disk);
  void fill_snapshot(const SnapshotData& s, drsim::v1::SnapshotInfo* out) const;
  void fill_image(const ImageData& i, drsim::v1::ImageInfo* out) const;

  // The schedule.
  void arm();
  void on_tick();
  void save_clock();

  // Paired-region copy.
  void ship_next();
  void ship_blob(std::shared_ptr<drsim::v1::VaultOp> op, std::string start_key);
  // Sends one op (none: only asks how far the peer's copy is).
  void ship_op(std::shared_ptr<drsim::v1::VaultOp> op);
  void ship_failed(const Status& why);
  drsim::v1::Backup::Stub* peer();
  // One async call to the paired region (`method(async_stub, ctx, req, resp, callback)`);
  // `then` runs on the loop with the answer.
  template <typename Request, typename Response, typename Method, typename Then>
  void call_peer(Method method, Request req, Then then);

  RegionNode& node_;
  storage::RegionStore& region_store_;
  storage::BackupStore& store_;
  BackupOptions options_;
  Scheduler& scheduler_;
  const Clock& process_clock_;
  std::unique_ptr<ScaledClock> clock_;  // the backup clock, from start()
  bool stopped_ = false;
  std::optional<TimerId> timer_;
  std::set<std::string> warned_;  // VMs whose scheduled backup could not run (logged once)
  std::map<JobKey, uint64_t> job_results_;  // since start, for /metrics

  VaultSet local_;
  std::map<std::string, SnapshotData> snapshots_;                  // by name
  std::map<std::string, model::IncrementalSnapshotChain> chains_;  // by disk
  std::map<std::string, ImageData> images_;                        // by name
  std::map<std::string, std::string> generalized_;                 // VM -> its image
  // VMs this region hosts as the standby that the paired region captured into an image
  // (VM -> "image in region"): generalized there, so they take no writes here after a failover.
  std::map<std::string, std::string> generalized_in_peer_;
  // Hosted VMs deleted here, and ones the paired region deleted (the same VM as this region's
  // standby copy): they take no writes here, even after a failover.
  std::set<std::string> deleted_vms_;
  std::set<std::string> deleted_in_peer_;
  model::CostMeter meter_;
  Time last_usage_at_ = kTimeZero;
  std::map<std::string, VaultSet> paired_;  // by source region
  // What the paired copies keep of blobs no applied op names yet: one each (geo_copy_intake.h).
  std::map<std::string, model::GeoCopyIntake> geo_intake_;  // by source region
  std::vector<drsim::v1::VaultOp> local_ops_;
  uint64_t next_seq_ = 1;

  // Shipping to the paired region: one call in flight.
  std::string peer_address_;
  std::unique_ptr<drsim::v1::Backup::Stub> peer_stub_;
  std::shared_ptr<grpc::ClientContext> in_flight_;
  bool shipping_ = false;
  bool retry_scheduled_ = false;
  uint64_t peer_applied_ = 0;
  bool peer_applied_known_ = false;
  std::string ship_error_;
};

}  // namespace drsim::region
