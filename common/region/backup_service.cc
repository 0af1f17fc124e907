#include "common/region/backup_service.h"

#include <boost/asio/post.hpp>

#include "common/net/grpc_util.h"
#include "common/net/request_names.h"
#include "common/net/rpc_authorizer.h"

namespace drsim::region {

namespace v1 = drsim::v1;

namespace {

template <typename Response>
grpc::Status answer(Result<Response> r, Response* resp) {
  if (r.is_ok()) *resp = std::move(r.value());
  return net::to_grpc(r.status());
}

template <typename Response>
grpc::Status answer(const Status& s, Response*) {
  return net::to_grpc(s);
}

// The geo-redundant copy (GeoPutBlob, GeoApplyOps) names the region that sends it: it must be
// the caller's certificate.
template <typename Request>
Status check_sender(const grpc::CallbackServerContext& ctx, const Request& req) {
  if constexpr (requires { req.source_region(); }) {
    return net::check_caller_claim(ctx, "source_region", req.source_region());
  } else {
    return Status::ok();
  }
}

}  // namespace

template <typename Request, typename Response, typename Fn>
grpc::ServerUnaryReactor* BackupService::on_loop(Ctx* ctx, const Request* req, Response* resp,
                                                 Fn fn) {
  auto* reactor = ctx->DefaultReactor();
  Status valid = net::validate_request_names(*req);
  if (valid.is_ok()) valid = check_sender(*ctx, *req);
  if (!valid.is_ok()) {
    reactor->Finish(net::to_grpc(valid));
    return reactor;
  }
  boost::asio::post(io_, [reactor, req, resp, fn] { reactor->Finish(answer(fn(*req), resp)); });
  return reactor;
}

#define DRSIM_BACKUP_RPC(Method, Request, Response, call)                                     \
  grpc::ServerUnaryReactor* BackupService::Method(Ctx* ctx, const v1::Request* req,           \
                                                  v1::Response* resp) {                       \
    return on_loop(ctx, req, resp, [this](const v1::Request& r) { return driver_.call(r); }); \
  }

DRSIM_BACKUP_RPC(CreateVault, CreateVaultRequest, CreateVaultResponse, create_vault)
DRSIM_BACKUP_RPC(DeleteVault, DeleteVaultRequest, DeleteVaultResponse, delete_vault)
DRSIM_BACKUP_RPC(CreatePolicy, CreatePolicyRequest, CreatePolicyResponse, create_policy)
DRSIM_BACKUP_RPC(Protect, ProtectRequest, ProtectResponse, protect)
DRSIM_BACKUP_RPC(BackupNow, BackupNowRequest, BackupNowResponse, backup_now)
DRSIM_BACKUP_RPC(StopProtection, StopProtectionRequest, StopProtectionResponse, stop_protection)
DRSIM_BACKUP_RPC(Undelete, ItemRequest, ItemResponse, undelete)
DRSIM_BACKUP_RPC(ResumeProtection, ItemRequest, ItemResponse, resume_protection)
DRSIM_BACKUP_RPC(SetVm, SetVmRequest, SetVmResponse, set_vm)
DRSIM_BACKUP_RPC(DeleteVm, DeleteVmRequest, DeleteVmResponse, delete_vm)
DRSIM_BACKUP_RPC(ReadDisk, ReadDiskRequest, ReadDiskResponse, read_disk)
DRSIM_BACKUP_RPC(SetBackupClock, SetBackupClockRequest, SetBackupClockResponse, set_clock)
DRSIM_BACKUP_RPC(CreateSnapshot, CreateSnapshotRequest, CreateSnapshotResponse, create_snapshot)
DRSIM_BACKUP_RPC(ListSnapshots, ListSnapshotsRequest, ListSnapshotsResponse, list_snapshots)
DRSIM_BACKUP_RPC(DeleteSnapshot, DeleteSnapshotRequest, DeleteSnapshotResponse, delete_snapshot)
DRSIM_BACKUP_RPC(CreateDisk, CreateDiskRequest, CreateDiskResponse, create_disk)
DRSIM_BACKUP_RPC(CaptureImage, CaptureImageRequest, CaptureImageResponse, capture_image)
DRSIM_BACKUP_RPC(ListImages, ListImagesRequest, ListImagesResponse, list_images)
DRSIM_BACKUP_RPC(CreateVmFromImage, CreateVmFromImageRequest, CreateVmFromImageResponse,
                 create_vm_from_image)
DRSIM_BACKUP_RPC(GetCost, CostRequest, CostResponse, cost)
DRSIM_BACKUP_RPC(GeoPutBlob, GeoBlobChunk, GeoBlobChunkResponse, geo_put_blob)
DRSIM_BACKUP_RPC(GeoApplyOps, GeoOpsRequest, GeoOpsResponse, geo_apply_ops)
#undef DRSIM_BACKUP_RPC

grpc::ServerUnaryReactor* BackupService::ListVaults(Ctx* ctx, const v1::ListVaultsRequest* req,
                                                    v1::ListVaultsResponse* resp) {
  return on_loop(ctx, req, resp,
                 [this](const v1::ListVaultsRequest&) { return driver_.list_vaults(); });
}

grpc::ServerUnaryReactor* BackupService::ListVms(Ctx* ctx, const v1::ListVmsRequest* req,
                                                 v1::ListVmsResponse* resp) {
  return on_loop(ctx, req, resp, [this](const v1::ListVmsRequest&) { return driver_.list_vms(); });
}

// Replace existing writes through the region's replicated write path: answered when done.
grpc::ServerUnaryReactor* BackupService::Restore(Ctx* ctx, const v1::RestoreRequest* req,
                                                 v1::RestoreResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (Status s = net::validate_request_names(*req); !s.is_ok()) {
    reactor->Finish(net::to_grpc(s));
    return reactor;
  }
  boost::asio::post(io_, [this, reactor, req, resp] {
    driver_.restore(*req, [reactor, resp](Result<v1::RestoreResponse> r) {
      reactor->Finish(answer(std::move(r), resp));
    });
  });
  return reactor;
}

}  // namespace drsim::region
