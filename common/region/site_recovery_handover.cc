// The vault follows the replication target. drsim keeps a protected item's lifecycle in the
// vault of the region its replication goes to, because that region's store is where the
// recovery points (checkpoints) are. Re-protect reverses the replication; the vault that held
// the item then hands it over — its request (a consistency group's ProtectGroupRequest too: the
// group moves as a whole) and its whole lifecycle record — to the new
// target's vault over SiteRecovery.AdoptItems, retried until it answers, and forgets it. The
// adopting vault finishes the re-protect sync once the stream arrives and cuts the points from
// then on. A planned failover of the region pair moves the items replicating here to
// FailedOver at a point cut at the drained seqs (nothing given up); commit and re-protect then
// run as after an unplanned failover, and re-protect hands them back.
#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "common/net/grpc_util.h"
#include "common/region/site_recovery_driver.h"
#include "common/region/site_recovery_parts.h"

namespace drsim::region {

using namespace drsim::v1;

namespace {
constexpr std::chrono::milliseconds kAdoptDeadline{2000};
constexpr std::chrono::milliseconds kHandOverRetry{1000};
}  // namespace

void SiteRecoveryDriver::hand_over_items() {
  if (hand_over_running_ || scheduler_.now() < next_hand_over_) return;
  const std::string& me = node_.options().name;
  const std::string& peer = node_.options().peer_address;
  if (peer.empty()) return;
  using AdoptCall = std::tuple<grpc::ClientContext, AdoptItemsRequest, AdoptItemsResponse>;
  auto call = node_.loop_gate()->make_call<AdoptCall>("vault hand-over");
  auto& [ctx, request, response] = *call;
  request.set_from_region(me);
  std::vector<std::string> names;
  for (const auto& name : vault_.scope_names()) {
    const auto* lc = vault_.find(name);
    auto item = items_.find(name);
    if (lc == nullptr || item == items_.end() || lc->peer_region() == me) continue;
    if (lc->state() != model::ProtectionState::kInitialReplication &&
        lc->state() != model::ProtectionState::kProtected) {
      continue;  // not replicating away (failed over, committed, a test copy pending here)
    }
    auto* h = request.add_items();
    *h->mutable_request() = item->second.request;
    *h->mutable_lifecycle() = to_stored(name, lc->record(), wall_mapping());
    if (item->second.group) *h->mutable_group() = *item->second.group;  // moves as a whole
    names.push_back(name);
  }
  if (names.empty()) return;
  if (!peer_vault_ || peer_vault_address_ != peer) {
    peer_vault_ = SiteRecovery::NewStub(node_.peer_channel(peer));
    peer_vault_address_ = peer;
  }
  hand_over_running_ = true;
  net::set_deadline(ctx, kAdoptDeadline);
  auto on_done = [this, gate = node_.loop_gate(), call, names](grpc::Status s) {
    gate->post([this, call, names, s] {
      hand_over_running_ = false;
      if (stopped_) return;
      if (!s.ok()) {
        spdlog::warn("site recovery: handing {} over to {} failed ({}); retrying", names.size(),
                     node_.options().peer_name, s.error_message());
        next_hand_over_ = scheduler_.now() + kHandOverRetry;
        return;
      }
      PersistOnReturn persist_after{*this};
      for (const auto& name : names) release_item(name);
    });
  };
  // Through the loop gate: the answer may come after the loop has gone.
  peer_vault_->async()->AdoptItems(&ctx, &request, &response, std::move(on_done));
}

void SiteRecoveryDriver::release_item(const std::string& name) {
  auto it = items_.find(name);
  if (it == items_.end()) return;
  std::vector<model::RecoveryPointId> drop;
  for (const auto& [id, dir] : it->second.checkpoints) drop.push_back(id);
  for (auto id : drop) drop_checkpoint(name, id);
  if (Status s = vault_.release(name); !s.is_ok()) {
    spdlog::error("site recovery: cannot release {}: {}", name, s.message());
    return;
  }
  const bool group = it->second.group.has_value();
  items_.erase(name);
  durable_.forget(name, (group ? kGroupRecordPrefix : kItemRecordPrefix) + name);
  spdlog::info("site recovery: {} handed over to the vault in {}, its replication target now", name,
               node_.options().peer_name);
}

Result<AdoptItemsResponse> SiteRecoveryDriver::adopt_items(const AdoptItemsRequest& req) {
  PersistOnReturn persist_after{*this};
  const std::string& me = node_.options().name;
  // Check every item before adopting any.
  for (int i = 0; i < req.items_size(); ++i) {
    const auto& h = req.items(i);
    const std::string field = "items[" + std::to_string(i) + "]";
    if (h.lifecycle().item() != h.request().item()) {
      return invalid_argument(field + ".lifecycle.item: '" + h.lifecycle().item() +
                              "' is not the item of the request, '" + h.request().item() + "'");
    }
    if (h.lifecycle().active_region() != node_.options().peer_name) {
      return failed_precondition(field + ": " + h.request().item() + " runs in " +
                                 h.lifecycle().active_region() +
                                 ", and a vault holds the items replicating to it from its peer " +
                                 node_.options().peer_name);
    }
    if (!node_.is_standby()) {
      return failed_precondition("adopting " + h.request().item() + " refused: region " + me +
                                 " is active; the vault of an item is its replication target");
    }
    if (auto r = from_stored(h.lifecycle(), wall_mapping()); !r.is_ok()) {
      return invalid_argument(field + ".lifecycle: " + r.status().message());
    }
    if (h.has_group() && h.group().group() != h.request().item()) {
      return invalid_argument(field + ".group.group: '" + h.group().group() +
                              "' is not the item of the request, '" + h.request().item() + "'");
    }
  }
  AdoptItemsResponse resp;
  for (const auto& h : req.items()) {
    const std::string& name = h.request().item();
    // A retry whose first answer was lost: the sender's record is the newer one.
    if (vault_.find(name) != nullptr) release_item(name);
    if (h.has_group()) {
      if (auto r = add_group(h.group(), GroupOrigin::kAdopted); !r.is_ok()) return r.status();
    } else if (auto r = protect_recorded(h.request(), true, model::JobKind::kReprotect);
               !r.is_ok()) {
      return r.status();
    }
    model::ProtectionLifecycle& lc = **vault_.lifecycle(name);
    Status restored = lc.restore(*from_stored(h.lifecycle(), wall_mapping()));
    if (restored.is_ok() && lc.peer_region() != me) {
      restored =
          failed_precondition(name + " replicates to " + lc.peer_region() + ", not to " + me);
    }
    if (!restored.is_ok()) {
      if (auto job = items_[name].enable_job) {
        (void)jobs_.transition(*job, model::JobState::kFailed, now(), restored.message());
      }
      release_item(name);
      return restored;
    }
    // Points listed by the old vault are checkpoints of the other store: not usable here.
    std::vector<model::RecoveryPointId> foreign;
    for (const auto& p : lc.points().points()) foreign.push_back(p.id);
    for (auto id : foreign) (void)lc.drop_point(id);
    spdlog::info("site recovery: {} adopted from the vault in {}: {}, replicating {} -> {}", name,
                 req.from_region(), model::protection_state_name(lc.state()), lc.active_region(),
                 me);
    info(lc, resp.add_items());
  }
  return resp;
}

Status SiteRecoveryDriver::preview_planned_failover(
    const std::vector<std::string>& names, const std::map<std::string, Seq>& drained, Time t,
    std::map<std::string, std::map<std::string, Seq>>& written) {
  for (const auto& name : names) {
    auto* lc = *vault_.lifecycle(name);
    for (const auto& m : lc->members()) {
      auto it = drained.find(m);
      if (it == drained.end()) {
        return invalid_argument("drained_seqs: workload '" + m + "' of " + name +
                                " is missing; the planned failover drains every workload");
      }
      written[name][m] = it->second;
      if (lc->state() == model::ProtectionState::kProtected ||
          lc->state() == model::ProtectionState::kTestFailoverCleanupPending) {
        const auto& have = lc->points().replicated();
        auto h = have.find(m);
        if (h == have.end() || h->second < it->second) (void)lc->on_replicated(m, it->second, t);
      }
    }
    model::ProtectionLifecycle preview(*lc);
    if (auto ev = preview.planned_failover(written[name], {}, t); !ev.is_ok()) {
      finished_job(model::JobKind::kPlannedFailover, name, ev.status());
      return ev.status();
    }
  }
  return Status::ok();
}

void SiteRecoveryDriver::fail_over_planned(
    const std::vector<std::string>& names,
    const std::map<std::string, std::map<std::string, Seq>>& written, Time t,
    PlannedFailoverItemsResponse& resp) {
  for (const auto& name : names) {
    auto* lc = *vault_.lifecycle(name);
    auto ev = lc->planned_failover(written.at(name), {}, t);
    if (!ev.is_ok()) {  // the preview said it would not happen
      spdlog::error("site recovery: planned failover of {} refused after its preview: {}", name,
                    ev.status().message());
      continue;
    }
    const model::RecoveryPoint& point = *ev->point;
    // The store may already hold writes past the drain (the region serves again): the
    // checkpoint settles the point at what it holds, every drained write included.
    if (!items_[name].checkpoints.count(point.id)) queue_checkpoint(name, point);
    auto* f = resp.add_items();
    f->set_item(name);
    point_info(name, point, f->mutable_point());
  }
  checkpoints_->drain();
  for (auto& f : *resp.mutable_items()) {
    if (const auto* lc = vault_.find(f.item()); lc && lc->failover_point()) {
      point_info(f.item(), *lc->failover_point(), f.mutable_point());
    }
  }
}

Result<PlannedFailoverItemsResponse> SiteRecoveryDriver::planned_failover_items(
    const PlannedFailoverItemsRequest& req) {
  PersistOnReturn persist_after{*this};
  checkpoints_->drain();
  const std::string& me = node_.options().name;
  std::vector<std::string> names = failover_candidates();
  PlannedFailoverItemsResponse resp;
  if (names.empty()) return resp;  // nothing protected replicated here
  std::map<std::string, Seq> drained;
  for (const auto& [w, seq] : req.drained_seqs()) drained[w] = Seq(seq);
  Time t = now();
  // The drained seqs reached this region: the lifecycles learn them, then a preview on copies
  // checks every item before any moves (all or nothing, as a region fails over whole).
  std::map<std::string, std::map<std::string, Seq>> written;
  if (Status s = preview_planned_failover(names, drained, t, written); !s.is_ok()) return s;
  auto job = jobs_.create(model::JobKind::kPlannedFailover, site_recovery_parts::join(names), t);
  if (!job.is_ok()) return job.status();
  (void)jobs_.transition(*job, model::JobState::kInProgress, t);
  fail_over_planned(names, written, t, resp);
  (void)jobs_.transition(*job, model::JobState::kSucceeded, now());
  resp.set_job_id(job->value());
  spdlog::info(
      "site recovery: planned failover of {} item(s) into {}: FailedOver, nothing given "
      "up; commit next",
      names.size(), me);
  return resp;
}

}  // namespace drsim::region
