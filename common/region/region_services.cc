#include "common/config/listen_address.h"
#include "common/region/region_services.h"

#include <cmath>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "common/core/names.h"
#include "common/net/grpc_util.h"

namespace drsim::region {

using namespace drsim::v1;

namespace {

// Finishes a write RPC from the loop thread, with the applied marker.
template <typename Fill>
RegionNode::WriteDone finisher(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor,
                               Fill fill) {
  return [ctx, reactor, fill](WriteOutcome out) {
    if (out.status.is_ok()) {
      fill(out.results);
    } else {
      ctx->AddTrailingMetadata(kAppliedMetadataKey, out.applied == Applied::kNo ? "no" : "unknown");
    }
    reactor->Finish(net::to_grpc(out.status));
  };
}

// Refused before the loop: certainly not applied.
grpc::ServerUnaryReactor* refuse(grpc::CallbackServerContext* ctx, const Status& why) {
  auto* reactor = ctx->DefaultReactor();
  ctx->AddTrailingMetadata(kAppliedMetadataKey, "no");
  reactor->Finish(net::to_grpc(why));
  return reactor;
}

// A workload name keys the region's store: the one name rule, before it reaches the loop.
Status check_ops(const WriteBatchRequest& req) {
  for (int i = 0; i < req.ops_size(); ++i) {
    const WriteOp& op = req.ops(i);
    if (!op.has_put() && !op.has_delete_()) continue;  // the node says what is wrong with it
    const bool put = op.has_put();
    const std::string& w = put ? op.put().workload() : op.delete_().workload();
    std::string field = "ops[" + std::to_string(i) + "]." + (put ? "put" : "delete") + ".workload";
    if (Status s = validate_name(field, w); !s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace

// Put and Delete are one-op batches answered with that op's result.
template <typename Response>
grpc::ServerUnaryReactor* single_write(RegionNode& node, grpc::CallbackServerContext* ctx,
                                       WriteOp op, Response* resp) {
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node.io(), [&node, ctx, reactor, resp, op = std::move(op)]() mutable {
    std::vector<WriteOp> ops;
    ops.push_back(std::move(op));
    node.write(std::move(ops), finisher(ctx, reactor, [resp](auto& results) {
                 *resp->mutable_result() = results.at(0);
               }));
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkloadService::Put(grpc::CallbackServerContext* ctx,
                                               const PutRequest* req, PutResponse* resp) {
  if (Status s = validate_name("workload", req->workload()); !s.is_ok()) return refuse(ctx, s);
  WriteOp op;
  *op.mutable_put() = *req;
  return single_write(node_, ctx, std::move(op), resp);
}

grpc::ServerUnaryReactor* WorkloadService::Delete(grpc::CallbackServerContext* ctx,
                                                  const DeleteRequest* req, DeleteResponse* resp) {
  if (Status s = validate_name("workload", req->workload()); !s.is_ok()) return refuse(ctx, s);
  WriteOp op;
  *op.mutable_delete_() = *req;
  return single_write(node_, ctx, std::move(op), resp);
}

grpc::ServerUnaryReactor* WorkloadService::WriteBatch(grpc::CallbackServerContext* ctx,
                                                      const WriteBatchRequest* req,
                                                      WriteBatchResponse* resp) {
  if (Status s = check_ops(*req); !s.is_ok()) return refuse(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node_.io(), [this, ctx, reactor, req, resp] {
    std::vector<WriteOp> ops(req->ops().begin(), req->ops().end());
    node_.write(std::move(ops), finisher(ctx, reactor, [resp](auto& results) {
                  for (auto& r : results) *resp->add_results() = std::move(r);
                }));
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkloadService::Get(grpc::CallbackServerContext* ctx,
                                               const GetRequest* req, GetResponse* resp) {
  if (Status s = validate_name("workload", req->workload()); !s.is_ok()) return refuse(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    reactor->Finish(net::to_grpc(node_.get(*req, resp)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkloadService::Scan(grpc::CallbackServerContext* ctx,
                                                const ScanRequest* req, ScanResponse* resp) {
  if (Status s = validate_name("workload", req->workload()); !s.is_ok()) return refuse(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    reactor->Finish(net::to_grpc(node_.scan(*req, resp)));
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetStatus(grpc::CallbackServerContext* ctx,
                                                  const GetStatusRequest* req,
                                                  GetStatusResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    node_.status(req->reset_lag_stats(), resp);
    resp->set_clock_drift_ppm(std::llround(clock_rate_.rate() * 1e6));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::Failover(grpc::CallbackServerContext* ctx,
                                                 const FailoverRequest* req,
                                                 FailoverResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    // Answered once the old active region's lease has provably expired and this one promoted.
    node_.failover_after_lease(
        req->reason().empty() ? "operator request" : req->reason(),
        req->force_without_witness() ? RegionNode::WitnessOverride::kForceWithoutWitness
                                     : RegionNode::WitnessOverride::kRequireWitness,
        [reactor, resp](Result<FailoverResponse> r) {
          if (r.is_ok()) *resp = std::move(r.value());
          reactor->Finish(net::to_grpc(r.status()));
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetOutage(grpc::CallbackServerContext* ctx,
                                                  const SetOutageRequest* req,
                                                  SetOutageResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    node_.set_outage(req->outage());
    resp->set_outage(node_.in_outage());
    resp->set_changed_unix_nanos(node_.clock().wall_unix_nanos());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetPeer(grpc::CallbackServerContext* ctx,
                                                const SetPeerRequest* req, SetPeerResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (Status s = config::validate_listen_address("peer_address", req->peer_address()); !s.is_ok()) {
    reactor->Finish(net::to_grpc(s));
    return reactor;
  }
  boost::asio::post(node_.io(), [this, reactor, req] {
    node_.set_peer(req->peer_address());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetWitness(grpc::CallbackServerContext* ctx,
                                                   const SetWitnessRequest* req,
                                                   SetWitnessResponse*) {
  auto* reactor = ctx->DefaultReactor();
  if (!req->witness_address().empty()) {
    if (Status s = config::validate_listen_address("witness_address", req->witness_address());
        !s.is_ok()) {
      reactor->Finish(net::to_grpc(s));
      return reactor;
    }
  }
  boost::asio::post(node_.io(), [this, reactor, req] {
    node_.set_witness(req->witness_address());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetClockOffset(grpc::CallbackServerContext* ctx,
                                                       const SetClockOffsetRequest* req,
                                                       SetClockOffsetResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  constexpr int64_t kMaxOffsetMs = 86'400'000;
  if (req->offset_ms() < -kMaxOffsetMs || req->offset_ms() > kMaxOffsetMs) {
    reactor->Finish(net::to_grpc(invalid_argument("offset_ms: " + std::to_string(req->offset_ms()) +
                                                  " is out of range -86400000..86400000")));
    return reactor;
  }
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    const Duration offset = std::chrono::milliseconds(req->offset_ms());
    if (node_.set_clock_skew(offset) != offset) {
      spdlog::warn("clock skew: wall clock offset now {} ms", req->offset_ms());
    }
    resp->set_now_unix_nanos(node_.clock().wall_unix_nanos());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetClockDrift(grpc::CallbackServerContext* ctx,
                                                      const SetClockDriftRequest* req,
                                                      SetClockDriftResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  constexpr int64_t kMaxDriftPpm = 400'000;
  if (req->drift_ppm() < -kMaxDriftPpm || req->drift_ppm() > kMaxDriftPpm) {
    reactor->Finish(net::to_grpc(invalid_argument("drift_ppm: " + std::to_string(req->drift_ppm()) +
                                                  " is out of range -400000..400000")));
    return reactor;
  }
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    const double rate = static_cast<double>(req->drift_ppm()) / 1e6;
    if (clock_rate_.rate() != rate) {
      spdlog::warn("clock drift: monotonic clock now runs at {:+} ppm", req->drift_ppm());
    }
    clock_rate_.set_rate(rate);
    resp->set_now_unix_nanos(node_.clock().wall_unix_nanos());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

namespace {
constexpr size_t kMaxReasonBytes = 256;
constexpr uint32_t kDefaultDrainTimeoutMs = 10'000;
constexpr uint32_t kMaxDrainTimeoutMs = 600'000;

Status validate_reason(const std::string& reason) {
  if (reason.size() > kMaxReasonBytes) {
    return invalid_argument("reason: " + std::to_string(reason.size()) +
                            " bytes exceeds the limit of " + std::to_string(kMaxReasonBytes));
  }
  return Status::ok();
}
}  // namespace

grpc::ServerUnaryReactor* AdminService::Reprotect(grpc::CallbackServerContext* ctx,
                                                  const ReprotectRequest* req,
                                                  ReprotectResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (Status s = validate_reason(req->reason()); !s.is_ok()) {
    reactor->Finish(net::to_grpc(s));
    return reactor;
  }
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    node_.reprotect(req->reason().empty() ? "operator request" : req->reason(), req->no_wait(),
                    [reactor, resp](Result<ReprotectResponse> r) {
                      if (r.is_ok()) *resp = std::move(r.value());
                      reactor->Finish(net::to_grpc(r.status()));
                    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::PlannedFailover(grpc::CallbackServerContext* ctx,
                                                        const PlannedFailoverRequest* req,
                                                        PlannedFailoverResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  Status valid = validate_reason(req->reason());
  if (valid.is_ok() && req->drain_timeout_ms() > kMaxDrainTimeoutMs) {
    valid = invalid_argument("drain_timeout_ms: " + std::to_string(req->drain_timeout_ms()) +
                             " exceeds " + std::to_string(kMaxDrainTimeoutMs));
  }
  if (!valid.is_ok()) {
    reactor->Finish(net::to_grpc(valid));
    return reactor;
  }
  boost::asio::post(node_.io(), [this, reactor, req, resp] {
    uint32_t ms = req->drain_timeout_ms() == 0 ? kDefaultDrainTimeoutMs : req->drain_timeout_ms();
    node_.planned_failover(req->reason().empty() ? "operator request" : req->reason(),
                           std::chrono::milliseconds(ms), req->reprotect(),
                           [reactor, resp](Result<PlannedFailoverResponse> r) {
                             if (r.is_ok()) *resp = std::move(r.value());
                             reactor->Finish(net::to_grpc(r.status()));
                           });
  });
  return reactor;
}

}  // namespace drsim::region
