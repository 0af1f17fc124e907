// BackupClient: blocking calls to a region's Backup service (cli/backup_client.h).
#include "cli/backup_client.h"

#include <chrono>

#include "cli/rpc_clients.h"
#include "drsim/v1/backup.grpc.pb.h"

namespace drsim::cli {

namespace v1 = drsim::v1;
using namespace std::chrono_literals;

namespace {

// Backups and restores copy a workload: longer than an admin call.
constexpr auto kBackupDeadline = 60s;
constexpr int kMaxDiskPages = 100000;

template <typename Request, typename Response>
Result<Response> call(const std::string& address, const char* what,
                      grpc::Status (v1::Backup::Stub::*method)(grpc::ClientContext*, const Request&,
                                                               Response*),
                      const Request& req) {
  return unary_call<v1::Backup>(
      address, what, method, req,
      std::chrono::duration_cast<std::chrono::milliseconds>(kBackupDeadline));
}

}  // namespace

#define DRSIM_BACKUP_CALL(name, Method, Request, Response, what)  \
  Result<v1::Response> BackupClient::name(const v1::Request& r) { \
    return call(address_, what, &v1::Backup::Stub::Method, r);    \
  }
DRSIM_BACKUP_CALL(create_vault, CreateVault, CreateVaultRequest, CreateVaultResponse,
                  "create vault")
DRSIM_BACKUP_CALL(delete_vault, DeleteVault, DeleteVaultRequest, DeleteVaultResponse,
                  "delete vault")
DRSIM_BACKUP_CALL(create_policy, CreatePolicy, CreatePolicyRequest, CreatePolicyResponse,
                  "create policy")
DRSIM_BACKUP_CALL(protect, Protect, ProtectRequest, ProtectResponse, "protect")
DRSIM_BACKUP_CALL(backup_now, BackupNow, BackupNowRequest, BackupNowResponse, "backup now")
DRSIM_BACKUP_CALL(stop_protection, StopProtection, StopProtectionRequest, StopProtectionResponse,
                  "stop protection")
DRSIM_BACKUP_CALL(undelete, Undelete, ItemRequest, ItemResponse, "undelete")
DRSIM_BACKUP_CALL(resume_protection, ResumeProtection, ItemRequest, ItemResponse, "resume")
DRSIM_BACKUP_CALL(restore, Restore, RestoreRequest, RestoreResponse, "restore")
DRSIM_BACKUP_CALL(set_vm, SetVm, SetVmRequest, SetVmResponse, "set VM")
DRSIM_BACKUP_CALL(delete_vm, DeleteVm, DeleteVmRequest, DeleteVmResponse, kBackupDeleteVmCall)
DRSIM_BACKUP_CALL(create_snapshot, CreateSnapshot, CreateSnapshotRequest, CreateSnapshotResponse,
                  "create snapshot")
DRSIM_BACKUP_CALL(delete_snapshot, DeleteSnapshot, DeleteSnapshotRequest, DeleteSnapshotResponse,
                  "delete snapshot")
DRSIM_BACKUP_CALL(create_disk, CreateDisk, CreateDiskRequest, CreateDiskResponse, "create disk")
DRSIM_BACKUP_CALL(capture_image, CaptureImage, CaptureImageRequest, CaptureImageResponse,
                  "capture image")
DRSIM_BACKUP_CALL(create_vm_from_image, CreateVmFromImage, CreateVmFromImageRequest,
                  CreateVmFromImageResponse, "create VM from image")
DRSIM_BACKUP_CALL(cost, GetCost, CostRequest, CostResponse, "cost report")
DRSIM_BACKUP_CALL(set_clock, SetBackupClock, SetBackupClockRequest, SetBackupClockResponse,
                  "set backup clock")
#undef DRSIM_BACKUP_CALL

Result<v1::ListVaultsResponse> BackupClient::list_vaults() {
  return call(address_, "list vaults", &v1::Backup::Stub::ListVaults, v1::ListVaultsRequest());
}

Result<v1::ListSnapshotsResponse> BackupClient::list_snapshots() {
  return call(address_, "list snapshots", &v1::Backup::Stub::ListSnapshots,
              v1::ListSnapshotsRequest());
}

Result<v1::ListImagesResponse> BackupClient::list_images() {
  return call(address_, "list images", &v1::Backup::Stub::ListImages, v1::ListImagesRequest());
}

Result<v1::ListVmsResponse> BackupClient::list_vms() {
  return call(address_, "list VMs", &v1::Backup::Stub::ListVms, v1::ListVmsRequest());
}

Result<std::map<std::string, std::string>> BackupClient::read_disk(const std::string& disk) {
  std::map<std::string, std::string> out;
  v1::ReadDiskRequest req;
  req.set_disk(disk);
  req.set_limit(10000);
  for (int page = 0; page < kMaxDiskPages; ++page) {
    auto r = call(address_, "read disk", &v1::Backup::Stub::ReadDisk, req);
    if (!r.is_ok()) return r.status();
    for (const auto& kv : r->items()) out[kv.key()] = kv.value();
    if (r->next_key().empty()) return out;
    req.set_start_key(r->next_key());
  }
  return out_of_range("disk " + disk + " has more than " + std::to_string(kMaxDiskPages) +
                      " pages");
}

}  // namespace drsim::cli
