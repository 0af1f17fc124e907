// gRPC edge of a region's Backup service: every call is posted to the region loop, where the
// BackupDriver answers it, and finished from there.
#pragma once

#include "common/region/backup_driver.h"
#include "drsim/v1/backup.grpc.pb.h"

namespace drsim::region {

class BackupService final : public drsim::v1::Backup::CallbackService {
 public:
  BackupService(boost::asio::io_context& io, BackupDriver& driver) : io_(io), driver_(driver) {}

  using Reactor = grpc::ServerUnaryReactor;
  using Ctx = grpc::CallbackServerContext;
  Reactor* CreateVault(Ctx* ctx, const drsim::v1::CreateVaultRequest* req,
                       drsim::v1::CreateVaultResponse* resp) override;
  Reactor* DeleteVault(Ctx* ctx, const drsim::v1::DeleteVaultRequest* req,
                       drsim::v1::DeleteVaultResponse* resp) override;
  Reactor* ListVaults(Ctx* ctx, const drsim::v1::ListVaultsRequest* req,
                      drsim::v1::ListVaultsResponse* resp) override;
  Reactor* CreatePolicy(Ctx* ctx, const drsim::v1::CreatePolicyRequest* req,
                        drsim::v1::CreatePolicyResponse* resp) override;
  Reactor* Protect(Ctx* ctx, const drsim::v1::ProtectRequest* req,
                   drsim::v1::ProtectResponse* resp) override;
  Reactor* BackupNow(Ctx* ctx, const drsim::v1::BackupNowRequest* req,
                     drsim::v1::BackupNowResponse* resp) override;
  Reactor* StopProtection(Ctx* ctx, const drsim::v1::StopProtectionRequest* req,
                          drsim::v1::StopProtectionResponse* resp) override;
  Reactor* Undelete(Ctx* ctx, const drsim::v1::ItemRequest* req,
                    drsim::v1::ItemResponse* resp) override;
  Reactor* ResumeProtection(Ctx* ctx, const drsim::v1::ItemRequest* req,
                            drsim::v1::ItemResponse* resp) override;
  Reactor* Restore(Ctx* ctx, const drsim::v1::RestoreRequest* req,
                   drsim::v1::RestoreResponse* resp) override;
  Reactor* SetVm(Ctx* ctx, const drsim::v1::SetVmRequest* req,
                 drsim::v1::SetVmResponse* resp) override;
  Reactor* ListVms(Ctx* ctx, const drsim::v1::ListVmsRequest* req,
                   drsim::v1::ListVmsResponse* resp) override;
  Reactor* DeleteVm(Ctx* ctx, const drsim::v1::DeleteVmRequest* req,
                    drsim::v1::DeleteVmResponse* resp) override;
  Reactor* ReadDisk(Ctx* ctx, const drsim::v1::ReadDiskRequest* req,
                    drsim::v1::ReadDiskResponse* resp) override;
  Reactor* SetBackupClock(Ctx* ctx, const drsim::v1::SetBackupClockRequest* req,
                          drsim::v1::SetBackupClockResponse* resp) override;
  Reactor* CreateSnapshot(Ctx* ctx, const drsim::v1::CreateSnapshotRequest* req,
                          drsim::v1::CreateSnapshotResponse* resp) override;
  Reactor* ListSnapshots(Ctx* ctx, const drsim::v1::ListSnapshotsRequest* req,
                         drsim::v1::ListSnapshotsResponse* resp) override;
  Reactor* DeleteSnapshot(Ctx* ctx, const drsim::v1::DeleteSnapshotRequest* req,
                          drsim::v1::DeleteSnapshotResponse* resp) override;
  Reactor* CreateDisk(Ctx* ctx, const drsim::v1::CreateDiskRequest* req,
                      drsim::v1::CreateDiskResponse* resp) override;
  Reactor* CaptureImage(Ctx* ctx, const drsim::v1::CaptureImageRequest* req,
                        drsim::v1::CaptureImageResponse* resp) override;
  Reactor* ListImages(Ctx* ctx, const drsim::v1::ListImagesRequest* req,
                      drsim::v1::ListImagesResponse* resp) override;
  Reactor* CreateVmFromImage(Ctx* ctx, const drsim::v1::CreateVmFromImageRequest* req,
                             drsim::v1::CreateVmFromImageResponse* resp) override;
  Reactor* GetCost(Ctx* ctx, const drsim::v1::CostRequest* req,
                   drsim::v1::CostResponse* resp) override;
  Reactor* GeoPutBlob(Ctx* ctx, const drsim::v1::GeoBlobChunk* req,
                      drsim::v1::GeoBlobChunkResponse* resp) override;
  Reactor* GeoApplyOps(Ctx* ctx, const drsim::v1::GeoOpsRequest* req,
                       drsim::v1::GeoOpsResponse* resp) override;

 private:
  // Runs `fn(req)` on the loop; it returns Status or Result<Response>.
  template <typename Request, typename Response, typename Fn>
  Reactor* on_loop(Ctx* ctx, const Request* req, Response* resp, Fn fn);

  boost::asio::io_context& io_;
  BackupDriver& driver_;
};

}  // namespace drsim::region
