// The Backup verbs of `drsim`: vault create / list / delete, backup policy create, backup
// protect / now / list / restore / stop / undelete / resume / clock, vm list / set / delete /
// read-disk, snapshot create / list / delete / create-disk, image capture / list / create-vm, and
// cost.
// Each talks to one region daemon's Backup service (docs/backup.md).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/core/status.h"
#include "drsim/v1/backup.pb.h"

namespace drsim::cli {

// Blocking calls to a region's Backup service (also used by drill steps and tests).
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

// "15d", "36h", "90m", "45s" (a whole number and a unit).
Result<int64_t> parse_duration_nanos(const std::string& field, const std::string& text);

// Drill steps: a verb line ("backup now rsv vm-db", words split on spaces) checked against the
// verbs' options without running it; INVALID_ARGUMENT saying what is wrong.
Result<std::vector<std::string>> parse_backup_verb(const std::string& command);
// Runs a parsed verb line against the topology in `home`: OK, or why it failed.
Status run_backup_verb(const std::string& home, const std::vector<std::string>& args);

class BackupCommands {
 public:
  // Adds the verbs to `app`; `home` is the topology directory option shared with other verbs.
  BackupCommands(CLI::App& app, std::string& home);
  ~BackupCommands();
  bool parsed() const;
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drsim::cli
