// BackupClient: blocking calls to one region daemon's Backup service (docs/backup.md), used by
// the Backup verbs (cli/backup_commands.h), drill steps and tests.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "common/core/status.h"
#include "drsim/v1/backup.pb.h"

namespace drsim::cli {

// The delete VM call's name in its errors (vm delete reads the server's words out of them).
inline constexpr char kBackupDeleteVmCall[] = "delete VM";

class BackupClient {
 public:
  explicit BackupClient(std::string address) : address_(std::move(address)) {}
  const std::string& address() const { return address_; }
  Result<drsim::v1::CreateVaultResponse> create_vault(const drsim::v1::CreateVaultRequest& r);
  Result<drsim::v1::DeleteVaultResponse> delete_vault(const drsim::v1::DeleteVaultRequest& r);
  Result<drsim::v1::ListVaultsResponse> list_vaults();
  Result<drsim::v1::CreatePolicyResponse> create_policy(const drsim::v1::CreatePolicyRequest& r);
  Result<drsim::v1::ProtectResponse> protect(const drsim::v1::ProtectRequest& r);
  Result<drsim::v1::BackupNowResponse> backup_now(const drsim::v1::BackupNowRequest& r);
  Result<drsim::v1::StopProtectionResponse> stop_protection(
      const drsim::v1::StopProtectionRequest& r);
  Result<drsim::v1::ItemResponse> undelete(const drsim::v1::ItemRequest& r);
  Result<drsim::v1::ItemResponse> resume_protection(const drsim::v1::ItemRequest& r);
  Result<drsim::v1::RestoreResponse> restore(const drsim::v1::RestoreRequest& r);
  Result<drsim::v1::SetVmResponse> set_vm(const drsim::v1::SetVmRequest& r);
  Result<drsim::v1::ListVmsResponse> list_vms();
  Result<drsim::v1::DeleteVmResponse> delete_vm(const drsim::v1::DeleteVmRequest& r);
  Result<drsim::v1::SetBackupClockResponse> set_clock(const drsim::v1::SetBackupClockRequest& r);
  Result<drsim::v1::CreateSnapshotResponse> create_snapshot(
      const drsim::v1::CreateSnapshotRequest& r);
  Result<drsim::v1::ListSnapshotsResponse> list_snapshots();
  Result<drsim::v1::DeleteSnapshotResponse> delete_snapshot(
      const drsim::v1::DeleteSnapshotRequest& r);
  Result<drsim::v1::CreateDiskResponse> create_disk(const drsim::v1::CreateDiskRequest& r);
  Result<drsim::v1::CaptureImageResponse> capture_image(const drsim::v1::CaptureImageRequest& r);
  Result<drsim::v1::ListImagesResponse> list_images();
  Result<drsim::v1::CreateVmFromImageResponse> create_vm_from_image(
      const drsim::v1::CreateVmFromImageRequest& r);
  Result<drsim::v1::CostResponse> cost(const drsim::v1::CostRequest& r);
  // Every key of a disk, page by page.
  Result<std::map<std::string, std::string>> read_disk(const std::string& disk);

 private:
  std::string address_;
};

}  // namespace drsim::cli
