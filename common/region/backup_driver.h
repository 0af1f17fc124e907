// BackupDriver: Azure Backup in a region daemon. Glues the pure vault models
// (common/model/vault*.h, backup_*.h) to storage and gRPC on the region loop:
//   - every vault change is a VaultOp, applied to the models by one function, logged in the
//     BackupStore (replayed at start) and shipped to the paired region, which applies it to its
//     copy of this region's vaults (with the points' data when the vault is GRS);
//   - a recovery point is a real copy of the workload's keys from a RocksDB snapshot (a "blob");
//     restore writes it back: a new VM's disk, restored disks, or the live workload's keys
//     (through the replicated write path, so the standby gets the restore too);
//   - scheduled backups, retention and the soft-delete purge run on BackupClock, which a drill
//     speeds up (SetBackupClock).
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

#include "common/model/backup_clock.h"
#include "common/model/backup_restore.h"
#include "common/model/vault_registry.h"
#include "common/net/asio_scheduler.h"
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
  BackupDriver(RegionNode& node, storage::RegionStore& region_store, storage::BackupStore& store,
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
  Result<drsim::v1::ReadDiskResponse> read_disk(const drsim::v1::ReadDiskRequest& req);
  Result<drsim::v1::SetBackupClockResponse> set_clock(const drsim::v1::SetBackupClockRequest& req);
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
  struct Applied {
    std::optional<model::BackupJob> job;
    std::optional<model::BackupDataDeleted> deleted;
  };

  Time now() const;
  Status check_serving() const;
  Result<Applied> apply(VaultSet& set, const drsim::v1::VaultOp& op);
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
  net::AsioScheduler scheduler_;
  std::unique_ptr<model::BackupClock> clock_;
  bool stopped_ = false;
  std::optional<TimerId> timer_;
  std::set<std::string> warned_;  // VMs whose scheduled backup could not run (logged once)

  VaultSet local_;
  std::map<std::string, VaultSet> paired_;  // by source region
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
