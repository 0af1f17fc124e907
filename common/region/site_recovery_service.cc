#include "common/region/site_recovery_service.h"

#include <boost/asio/post.hpp>

#include "common/core/names.h"
#include "common/net/grpc_util.h"
#include "common/net/rpc_authorizer.h"
#include "common/region/recovery_plan_driver.h"

namespace drsim::region {

using namespace drsim::v1;

namespace {

constexpr int kMaxItems = 100;  // a recovery plan holds at most 100 VMs

// Runs `call` on the loop and finishes the reactor with its Result (copied into `resp`).
template <typename Response, typename Call>
grpc::ServerUnaryReactor* on_loop(grpc::CallbackServerContext* ctx, boost::asio::io_context& io,
                                  Response* resp, Call call) {
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(io, [reactor, resp, call = std::move(call)]() mutable {
    Result<Response> r = call();
    if (r.is_ok()) *resp = std::move(r).value();
    reactor->Finish(net::to_grpc(r.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* refuse(grpc::CallbackServerContext* ctx, const Status& why) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(net::to_grpc(why));
  return reactor;
}

// Names reach checkpoint and copy directories and store keys: the one rule (common/core/names.h).
Status check_name(const std::string& field, const std::string& name, bool allow_empty) {
  if (name.empty() && allow_empty) return Status::ok();
  return validate_name(field, name);
}

Status check_names(const google::protobuf::RepeatedPtrField<std::string>& names) {
  if (names.size() > kMaxItems) {
    return invalid_argument("items: " + std::to_string(names.size()) + " exceed the limit of 100");
  }
  for (int i = 0; i < names.size(); ++i) {
    if (Status s = check_name("items[" + std::to_string(i) + "]", names[i], false); !s.is_ok()) {
      return s;
    }
  }
  return Status::ok();
}

Status check_disk(const std::string& field, const DiskSpec& d) {
  if (Status s = check_name(field + ".name", d.name(), false); !s.is_ok()) return s;
  return Status::ok();
}

}  // namespace

grpc::ServerUnaryReactor* SiteRecoveryService::Protect(grpc::CallbackServerContext* ctx,
                                                       const ProtectItemRequest* req,
                                                       ProtectItemResponse* resp) {
  Status valid = check_name("item", req->item(), false);
  if (valid.is_ok() && req->has_os_disk()) valid = check_disk("os_disk", req->os_disk());
  if (valid.is_ok() && req->data_disks_size() > 64) {
    valid = invalid_argument("data_disks: at most 64 data disks");
  }
  for (int i = 0; valid.is_ok() && i < req->data_disks_size(); ++i) {
    valid = check_disk("data_disks[" + std::to_string(i) + "]", req->data_disks(i));
  }
  if (!valid.is_ok()) return refuse(ctx, valid);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.protect(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ListItems(grpc::CallbackServerContext* ctx,
                                                         const ListItemsRequest*,
                                                         ListItemsResponse* resp) {
  return on_loop(ctx, io_, resp, [this] { return Result<ListItemsResponse>(driver_.items()); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ListPoints(grpc::CallbackServerContext* ctx,
                                                          const ListPointsRequest* req,
                                                          ListPointsResponse* resp) {
  if (Status s = check_name("item", req->item(), true); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.points(req->item()); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::UnplannedFailover(
    grpc::CallbackServerContext* ctx, const UnplannedFailoverRequest* req,
    UnplannedFailoverResponse* resp) {
  if (Status s = check_names(req->items()); !s.is_ok()) return refuse(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(io_, [this, reactor, req, resp] {
    driver_.unplanned_failover(*req, [reactor, resp](Result<UnplannedFailoverResponse> r) {
      if (r.is_ok()) *resp = std::move(r).value();
      reactor->Finish(net::to_grpc(r.status()));
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* SiteRecoveryService::TestFailover(grpc::CallbackServerContext* ctx,
                                                            const TestFailoverRequest* req,
                                                            TestFailoverResponse* resp) {
  if (Status s = check_name("item", req->item(), false); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.test_failover(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::CleanupTestFailover(
    grpc::CallbackServerContext* ctx, const CleanupTestFailoverRequest* req,
    CleanupTestFailoverResponse* resp) {
  if (Status s = check_name("item", req->item(), false); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.cleanup_test_failover(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::Commit(grpc::CallbackServerContext* ctx,
                                                      const CommitRequest* req,
                                                      CommitResponse* resp) {
  if (Status s = check_names(req->items()); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.commit(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ReprotectItems(grpc::CallbackServerContext* ctx,
                                                              const ReprotectItemsRequest* req,
                                                              ReprotectItemsResponse* resp) {
  return on_loop(ctx, io_, resp, [this, req] { return driver_.reprotect_items(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ListJobs(grpc::CallbackServerContext* ctx,
                                                        const ListJobsRequest*,
                                                        ListJobsResponse* resp) {
  return on_loop(ctx, io_, resp, [this] { return Result<ListJobsResponse>(driver_.jobs()); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::AdoptItems(grpc::CallbackServerContext* ctx,
                                                          const AdoptItemsRequest* req,
                                                          AdoptItemsResponse* resp) {
  if (req->items_size() > kMaxItems) {
    return refuse(ctx, invalid_argument("items: " + std::to_string(req->items_size()) +
                                        " exceed the limit of 100"));
  }
  for (int i = 0; i < req->items_size(); ++i) {
    const std::string field = "items[" + std::to_string(i) + "]";
    if (Status s = check_name(field + ".request.item", req->items(i).request().item(), false);
        !s.is_ok()) {
      return refuse(ctx, s);
    }
  }
  if (Status s = check_name("from_region", req->from_region(), false); !s.is_ok()) {
    return refuse(ctx, s);
  }
  if (Status s = net::check_caller_claim(*ctx, "from_region", req->from_region()); !s.is_ok()) {
    return refuse(ctx, s);
  }
  return on_loop(ctx, io_, resp, [this, req] { return driver_.adopt_items(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::PlannedFailoverItems(
    grpc::CallbackServerContext* ctx, const PlannedFailoverItemsRequest* req,
    PlannedFailoverItemsResponse* resp) {
  if (req->drained_seqs_size() > kMaxItems) {
    return refuse(ctx, invalid_argument("drained_seqs: " +
                                        std::to_string(req->drained_seqs_size()) +
                                        " workloads exceed the limit of 100"));
  }
  for (const auto& [w, seq] : req->drained_seqs()) {
    if (Status s = check_name("drained_seqs", w, false); !s.is_ok()) return refuse(ctx, s);
  }
  if (req->reason().size() > 256) {
    return refuse(ctx, invalid_argument("reason: " + std::to_string(req->reason().size()) +
                                        " bytes exceeds the limit of 256"));
  }
  return on_loop(ctx, io_, resp, [this, req] { return driver_.planned_failover_items(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ProtectGroup(grpc::CallbackServerContext* ctx,
                                                            const ProtectGroupRequest* req,
                                                            ProtectItemResponse* resp) {
  Status valid = check_name("group", req->group(), false);
  if (valid.is_ok() && req->items_size() > 16) {
    valid = invalid_argument("items: " + std::to_string(req->items_size()) +
                             " exceed the limit of 16 per multi-VM consistency group");
  }
  if (valid.is_ok()) valid = check_names(req->items());
  if (!valid.is_ok()) return refuse(ctx, valid);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.protect_group(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ChangeRecoveryPoint(
    grpc::CallbackServerContext* ctx, const ChangeRecoveryPointRequest* req,
    ChangeRecoveryPointResponse* resp) {
  if (Status s = check_names(req->items()); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.change_recovery_point(*req); });
}

namespace {

// Field sizes of a plan, before it reaches the loop (the driver checks the rest).
Status check_plan_spec(const RecoveryPlanSpec& plan) {
  if (Status s = check_name("plan.name", plan.name(), false); !s.is_ok()) return s;
  if (plan.groups_size() > 7) {
    return invalid_argument("plan.groups: " + std::to_string(plan.groups_size()) +
                            " exceed the limit of 7 groups per recovery plan");
  }
  for (int g = 0; g < plan.groups_size(); ++g) {
    const auto& group = plan.groups(g);
    const std::string f = "plan.groups[" + std::to_string(g) + "]";
    if (group.items_size() > kMaxItems) {
      return invalid_argument(f + ".items: more than 100 items");
    }
    for (int i = 0; i < group.items_size(); ++i) {
      if (Status s = check_name(f + ".items[" + std::to_string(i) + "]", group.items(i), false);
          !s.is_ok()) {
        return s;
      }
    }
    if (group.before_size() + group.after_size() > 32) {
      return invalid_argument(f + ": more than 32 scripts and manual actions");
    }
  }
  return Status::ok();
}

}  // namespace

grpc::ServerUnaryReactor* SiteRecoveryService::CreatePlan(grpc::CallbackServerContext* ctx,
                                                          const CreatePlanRequest* req,
                                                          PlanInfo* resp) {
  if (Status s = check_plan_spec(req->plan()); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.plans().create(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ListPlans(grpc::CallbackServerContext* ctx,
                                                         const ListPlansRequest*,
                                                         ListPlansResponse* resp) {
  return on_loop(ctx, io_, resp,
                 [this] { return Result<ListPlansResponse>(driver_.plans().list()); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::GetPlan(grpc::CallbackServerContext* ctx,
                                                       const GetPlanRequest* req, PlanInfo* resp) {
  if (Status s = check_name("plan", req->plan(), false); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.plans().get(req->plan()); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::RunPlan(grpc::CallbackServerContext* ctx,
                                                       const RunPlanRequest* req, PlanInfo* resp) {
  Status valid = check_name("plan", req->plan(), false);
  if (valid.is_ok() && req->reason().size() > 256) {
    valid =
        invalid_argument("reason: " + std::to_string(req->reason().size()) + " bytes exceeds 256");
  }
  if (!valid.is_ok()) return refuse(ctx, valid);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.plans().run(*req); });
}

grpc::ServerUnaryReactor* SiteRecoveryService::ResumePlan(grpc::CallbackServerContext* ctx,
                                                          const ResumePlanRequest* req,
                                                          PlanInfo* resp) {
  if (Status s = check_name("plan", req->plan(), false); !s.is_ok()) return refuse(ctx, s);
  return on_loop(ctx, io_, resp, [this, req] { return driver_.plans().resume(req->plan()); });
}

}  // namespace drsim::region
