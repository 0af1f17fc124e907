// SiteRecoveryDriver's failovers: unplanned (to a recovery point, after the source's lease),
// test failover and its clean-up, commit, re-protect of the items, and the jobs they leave.
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "common/net/grpc_util.h"
#include "common/region/site_recovery_driver.h"
#include "common/region/site_recovery_parts.h"

namespace drsim::region {

namespace fs = std::filesystem;
using namespace drsim::v1;
using namespace site_recovery_parts;

model::JobId SiteRecoveryDriver::finished_job(model::JobKind kind, const std::string& target,
                                              const Status& result) {
  Time t = now();
  auto job = jobs_.create(kind, target, t);
  if (!job.is_ok()) return model::JobId(0);
  (void)jobs_.transition(*job, model::JobState::kInProgress, t);
  (void)jobs_.transition(*job,
                         result.is_ok() ? model::JobState::kSucceeded : model::JobState::kFailed, t,
                         result.is_ok() ? "" : result.message());
  return *job;
}

void SiteRecoveryDriver::unplanned_failover(const UnplannedFailoverRequest& req,
                                            FailoverDone done) {
  done = [this, done = std::move(done)](Result<UnplannedFailoverResponse> r) {
    persist();
    done(std::move(r));
  };
  if (req.reason().size() > kMaxReasonBytes) {
    done(invalid_argument("reason: " + std::to_string(req.reason().size()) +
                          " bytes exceeds the limit of 256"));
    return;
  }
  if (auto c = to_model(req.point(), req.point_id()); !c.is_ok()) {
    done(c.status());
    return;
  }
  if (failover_running_) {
    done(failed_precondition("a failover to a recovery point is already running in region " +
                             node_.options().name));
    return;
  }
  if (req.dry_run()) {  // changes nothing: no lease to wait out
    unplanned_failover_after_lease(req, std::move(done));
    return;
  }
  // Like the operator's failover, a failover to a recovery point first waits out the old active
  // region's lease (region_node_lease.cc); a refusal there (witness unreachable) ends it here,
  // and one after it lets this standby grant the old epoch again.
  node_.wait_out_old_lease(
      RegionNode::WitnessOverride::kRequireWitness,
      [this, req, done = std::move(done)](Result<Duration> waited) mutable {
        if (!waited.is_ok()) {
          done(waited.status());
          return;
        }
        unplanned_failover_after_lease(
            req, [this, done = std::move(done)](Result<UnplannedFailoverResponse> r) {
              if (!r.is_ok()) node_.lift_promotion_fence();
              done(std::move(r));
            });
      });
}

void SiteRecoveryDriver::unplanned_failover_after_lease(const UnplannedFailoverRequest& req,
                                                        FailoverDone done) {
  const std::string& peer = node_.options().peer_address;
  if (peer.empty()) {
    finish_failover(req, std::nullopt, std::move(done));
    return;
  }
  if (!peer_admin_ || peer_admin_address_ != peer) {
    peer_admin_ = RegionAdmin::NewStub(node_.peer_channel(peer));
    peer_admin_address_ = peer;
  }
  failover_running_ = true;
  // What the old active region wrote, when it answers: the writes a point gives up.
  struct Call {
    grpc::ClientContext ctx;
    GetStatusRequest request;
    GetStatusResponse response;
  };
  auto call = node_.loop_gate()->make_call<Call>("source status");
  net::set_deadline(call->ctx, kSourceStatusDeadline);
  peer_admin_->async()->GetStatus(
      &call->ctx, &call->request, &call->response,
      [this, gate = node_.loop_gate(), call, req, done = std::move(done)](grpc::Status s) mutable {
        gate->post([this, call, s, req, done = std::move(done)]() mutable {
          failover_running_ = false;
          if (stopped_) return;
          std::optional<GetStatusResponse> source;
          if (s.ok()) source = call->response;
          finish_failover(req, std::move(source), std::move(done));
        });
      });
}

void SiteRecoveryDriver::finish_failover(const UnplannedFailoverRequest& req,
                                         std::optional<GetStatusResponse> source,
                                         FailoverDone done) {
  auto choice = *to_model(req.point(), req.point_id());
  checkpoints_->drain();  // every point on its way is listed (or dropped) before choosing
  auto names = failover_items(req, choice);
  if (!names.is_ok()) {
    done(names.status());
    return;
  }
  model::RegionReachability reach;
  reach.active = source ? model::Reachability::kReachable : model::Reachability::kUnreachable;
  std::map<std::string, Seq> source_seqs;
  if (source) {
    for (const auto& w : source->workloads()) source_seqs[w.name()] = Seq(w.last_seq());
  }
  auto standby_seqs = node_.workload_seqs();
  Time t = now();
  UnplannedFailoverResponse resp;
  resp.set_source_reachable(source.has_value());
  resp.set_source_region(node_.options().peer_name);
  std::map<std::string, model::RecoveryPoint> chosen;
  if (Status s = preview_failover(*names, choice, reach, t, source_seqs, standby_seqs,
                                  req.dry_run(), &resp, &chosen);
      !s.is_ok()) {
    done(s);
    return;
  }
  if (req.dry_run()) {
    resp.set_message("dry run: nothing changed");
    done(std::move(resp));
    return;
  }
  promote_to_points(req,
                    ChosenFailover{.names = *names,
                                   .choice = choice,
                                   .reach = reach,
                                   .t = t,
                                   .chosen = std::move(chosen),
                                   .resp = std::move(resp)},
                    standby_seqs, std::move(done));
}

void SiteRecoveryDriver::promote_to_points(const UnplannedFailoverRequest& req, ChosenFailover f,
                                           std::map<std::string, Seq>& standby_seqs,
                                           FailoverDone done) {
  std::string target = join(f.names);
  auto job = jobs_.create(model::JobKind::kUnplannedFailover, target, f.t);
  if (!job.is_ok()) {
    done(job.status());
    return;
  }
  (void)jobs_.transition(*job, model::JobState::kInProgress, f.t);
  f.resp.set_job_id(job->value());
  std::map<std::string, RegionNode::PointRollback> rollbacks;
  std::vector<std::pair<std::string, model::RecoveryPointId>> fresh;  // "latest" cuts a point
  Status ready = point_rollbacks(f.chosen, standby_seqs, &rollbacks, &fresh);
  const std::string reason =
      req.reason().empty() ? "unplanned failover to a recovery point" : req.reason();
  Result<FailoverResponse> promoted =
      ready.is_ok() ? node_.failover_to_points(reason, rollbacks) : Result<FailoverResponse>(ready);
  auto failed = [this, fresh, job = *job, done](const Status& why) {
    for (const auto& [name, id] : fresh) drop_checkpoint(name, id);
    (void)jobs_.transition(job, model::JobState::kFailed, now(), why.message());
    done(why);
  };
  if (!promoted.is_ok()) return failed(promoted.status());
  // Never two actives: the job succeeds once the promoted region serves (its peer fenced).
  node_.when_serving(
      std::move(promoted).value(), reason,
      [this, failed, f = std::move(f), job = *job, target,
       done](Result<FailoverResponse> served) mutable {
        if (!served.is_ok()) return failed(served.status());
        fail_over_lifecycles(f);
        (void)jobs_.transition(job, model::JobState::kSucceeded, now());
        f.resp.set_new_epoch(served->new_epoch());
        f.resp.set_message(served->message());
        spdlog::info("site recovery: unplanned failover of {} to {}: {}", target,
                     model::recovery_point_choice_name(f.choice.kind), served->message());
        done(std::move(f.resp));
      });
}

void SiteRecoveryDriver::fail_over_lifecycles(ChosenFailover& f) {
  for (const auto& name : f.names) {
    auto ev = (*vault_.lifecycle(name))->unplanned_failover(f.choice, f.reach, f.t);
    if (!ev.is_ok() || ev->point->id != f.chosen[name].id) {
      spdlog::error("site recovery: {} failed over in the region but its lifecycle disagrees: {}",
                    name, ev.is_ok() ? "another point" : ev.status().message());
    }
  }
}

Result<std::vector<std::string>> SiteRecoveryDriver::failover_items(
    const UnplannedFailoverRequest& req, const model::RecoveryPointChoice& choice) const {
  const std::string& me = node_.options().name;
  // A region fails over whole in drsim: every item replicating here goes, or none.
  std::set<std::string> replicating_here;
  for (const auto& name : vault_.scope_names()) {
    const auto* lc = vault_.find(name);
    if (lc->peer_region() == me && lc->state() != model::ProtectionState::kNotProtected &&
        lc->state() != model::ProtectionState::kFailedOver &&
        lc->state() != model::ProtectionState::kCommitted) {
      replicating_here.insert(name);
    }
  }
  std::vector<std::string> names(req.items().begin(), req.items().end());
  if (names.empty()) names.assign(replicating_here.begin(), replicating_here.end());
  if (names.empty()) {
    return failed_precondition("no protected item replicates to region " + me +
                               "; protect one first (`drsim protect --item NAME`), or fail the "
                               "region over without a recovery point (`drsim failover`)");
  }
  std::set<std::string> asked(names.begin(), names.end());
  for (const auto& name : replicating_here) {
    if (!asked.count(name)) {
      return failed_precondition("unplanned failover refused: " + name + " also replicates to " +
                                 me +
                                 ", and a region fails over whole in drsim; name every "
                                 "protected item or leave --item out");
    }
  }
  if (choice.kind == model::RecoveryPointChoiceKind::kCustom && names.size() > 1) {
    // Point ids are per item: one id applied to every item would pick unrelated points (an
    // app-consistent one for one VM, crash-consistent ones for the others).
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return failed_precondition(
        "point_id: recovery point ids are per item, and " + std::to_string(names.size()) +
        " items fail over together to region " + me + " (" + list +
        "); a custom point fits one item only: choose a point type for all of them (latest, "
        "latest-processed or latest-app-consistent)");
  }
  return names;
}

Status SiteRecoveryDriver::preview_failover(const std::vector<std::string>& names,
                                            const model::RecoveryPointChoice& choice,
                                            const model::RegionReachability& reach, Time t,
                                            const std::map<std::string, Seq>& source_seqs,
                                            std::map<std::string, Seq>& standby_seqs, bool dry_run,
                                            UnplannedFailoverResponse* resp,
                                            std::map<std::string, model::RecoveryPoint>* chosen) {
  // Preview on copies: the report comes before anything changes, and names exactly the points
  // the real step picks (the lifecycle is deterministic).
  for (const auto& name : names) {
    auto found = vault_.lifecycle(name);
    if (!found.is_ok()) return found.status();
    if ((*found)->state() == model::ProtectionState::kProtected) feed(**found, false);
    model::ProtectionLifecycle preview(**found);
    auto ev = preview.unplanned_failover(choice, reach, t);
    if (!ev.is_ok()) {
      if (!dry_run) finished_job(model::JobKind::kUnplannedFailover, name, ev.status());
      return ev.status();
    }
    const model::RecoveryPoint& point = *ev->point;
    (*chosen)[name] = point;
    auto* item = resp->add_items();
    item->set_item(name);
    point_info(name, point, item->mutable_point());
    auto given = model::data_given_up(point, source_seqs);
    for (const auto& g : given.workloads) {
      if (std::find(preview.members().begin(), preview.members().end(), g.workload) ==
          preview.members().end()) {
        continue;
      }
      auto* w = item->add_given_up();
      w->set_workload(g.workload);
      w->set_point_seq(g.point_seq.value());
      uint64_t standby = standby_seqs[g.workload].value();
      w->set_standby_seq(standby);
      w->set_writes_vs_standby(standby > g.point_seq.value() ? standby - g.point_seq.value() : 0);
      w->set_source_known(g.writes.has_value());
      if (g.source_last_written) w->set_source_seq(g.source_last_written->value());
      if (g.writes) w->set_writes_vs_source(*g.writes);
    }
  }
  return Status::ok();
}

Status SiteRecoveryDriver::point_rollbacks(
    const std::map<std::string, model::RecoveryPoint>& chosen,
    std::map<std::string, Seq>& standby_seqs,
    std::map<std::string, RegionNode::PointRollback>* rollbacks,
    std::vector<std::pair<std::string, model::RecoveryPointId>>* fresh) {
  for (const auto& [name, point] : chosen) {
    auto& cps = items_[name].checkpoints;
    if (!cps.count(point.id)) {
      bool current = true;
      for (const auto& [w, seq] : point.seqs) current = current && seq == standby_seqs[w];
      if (current && take_checkpoint(name, point).is_ok()) {
        fresh->emplace_back(name, point.id);
      } else if (!current) {
        return failed_precondition("recovery point " + std::to_string(point.id.value()) + " of " +
                                   name + " has no checkpoint on disk; choose another point");
      }
    }
    for (const auto& [w, seq] : point.seqs) {
      (*rollbacks)[w] = {cps.count(point.id) ? cps[point.id] : std::string(), seq};
    }
  }
  return Status::ok();
}

Status SiteRecoveryDriver::make_test_copy(const std::string& checkpoint, const std::string& copy) {
  std::error_code ec;
  fs::remove_all(copy, ec);
  fs::create_directories(copy, ec);
  for (const auto& e : fs::directory_iterator(checkpoint, ec)) {
    fs::path to = fs::path(copy) / e.path().filename();
    // Table files are immutable: link them; the rest (manifest, options, WAL) changes once the
    // copy runs, so it is copied.
    if (e.path().extension() == ".sst") {
      fs::create_hard_link(e.path(), to, ec);
    } else {
      fs::copy_file(e.path(), to, ec);
    }
    if (ec) break;
  }
  if (ec) return invalid_argument("test failover copy " + copy + ": " + ec.message());
  auto store = storage::RegionStore::open(copy, storage::Durability::kProcessCrash, 1'000'000);
  if (!store.is_ok()) return store.status();
  auto meta = (*store)->load_meta();
  if (!meta.is_ok()) return meta.status();
  storage::RegionMeta m = meta->value_or(storage::RegionMeta{});
  // Isolated: active, no peer to replicate to, so it serves the point's state at once.
  m.active = true;
  m.protected_ = false;
  return (*store)->save_meta(m);
}

Result<TestFailoverResponse> SiteRecoveryDriver::test_failover(const TestFailoverRequest& req) {
  auto choice = to_model(req.point(), req.point_id());
  if (!choice.is_ok()) return choice.status();
  PersistOnReturn persist_after{*this};
  checkpoints_->drain();
  auto found = vault_.lifecycle(req.item());
  if (!found.is_ok()) return found.status();
  model::ProtectionLifecycle& lc = **found;
  if (lc.peer_region() != node_.options().name) {
    return failed_precondition("test failover of " + req.item() + " runs in its target region " +
                               lc.peer_region() + ", not in " + node_.options().name);
  }
  Time t = now();
  auto job = jobs_.create(model::JobKind::kTestFailover, req.item(), t);
  if (!job.is_ok()) return job.status();
  (void)jobs_.transition(*job, model::JobState::kInProgress, t);
  auto fail = [&](const Status& why) {
    (void)jobs_.transition(*job, model::JobState::kFailed, now(), why.message());
    return why;
  };
  if (lc.state() == model::ProtectionState::kProtected) feed(lc, false);
  auto ev = lc.test_failover(*choice, t);
  if (!ev.is_ok()) return fail(ev.status());
  const model::RecoveryPoint& point = *ev->point;
  auto& item = items_[req.item()];
  if (!item.checkpoints.count(point.id)) {
    // "Latest" cut a point from the data replicated so far: checkpoint it now.
    if (Status s = take_checkpoint(req.item(), point); !s.is_ok()) {
      (void)lc.cleanup_test_failover(t);
      return fail(s);
    }
  }
  auto confined = test_copy_dir(req.item());
  if (!confined.is_ok()) {
    (void)lc.cleanup_test_failover(t);
    return fail(confined.status());
  }
  const std::string copy = *confined;
  if (Status s = make_test_copy(item.checkpoints[point.id], copy); !s.is_ok()) {
    (void)lc.cleanup_test_failover(t);
    std::error_code ec;
    fs::remove_all(copy, ec);
    return fail(s);
  }
  item.test_copy = copy;
  (void)jobs_.transition(*job, model::JobState::kSucceeded, now());
  spdlog::info("site recovery: test failover of {} to point {}: copy in {}", req.item(),
               point.id.value(), copy);
  TestFailoverResponse resp;
  point_info(req.item(), point, resp.mutable_point());
  resp.set_copy_dir(copy);
  resp.set_job_id(job->value());
  return resp;
}

Result<CleanupTestFailoverResponse> SiteRecoveryDriver::cleanup_test_failover(
    const CleanupTestFailoverRequest& req) {
  PersistOnReturn persist_after{*this};
  auto found = vault_.lifecycle(req.item());
  if (!found.is_ok()) return found.status();
  Time t = now();
  auto ev = (*found)->cleanup_test_failover(t);
  auto job = finished_job(model::JobKind::kTestFailoverCleanup, req.item(), ev.status());
  if (!ev.is_ok()) return ev.status();
  auto& item = items_[req.item()];
  CleanupTestFailoverResponse resp;
  std::error_code ec;
  fs::remove_all(item.test_copy, ec);
  fs::remove_all(item.test_copy + ".points", ec);  // the isolated region's own vault
  resp.set_removed_dir(item.test_copy);
  item.test_copy.clear();
  resp.set_job_id(job.value());
  info(**found, resp.mutable_item());
  return resp;
}

Result<CommitResponse> SiteRecoveryDriver::commit(const CommitRequest& req) {
  PersistOnReturn persist_after{*this};
  checkpoints_->drain();
  std::vector<std::string> names(req.items().begin(), req.items().end());
  if (names.empty()) {
    for (const auto& name : vault_.scope_names()) {
      if (vault_.find(name)->state() == model::ProtectionState::kFailedOver) names.push_back(name);
    }
    if (names.empty()) {
      return failed_precondition("nothing to commit: no protected item in region " +
                                 node_.options().name + " is failed over");
    }
  }
  // All or nothing: check every item before committing any.
  for (const auto& name : names) {
    auto lc = vault_.lifecycle(name);
    if (!lc.is_ok()) return lc.status();
    if (!model::protection_step_allowed((*lc)->state(), model::ProtectionStep::kCommit)) {
      Status why = failed_precondition(
          "commit of " + name + " refused: it is " + model::protection_state_name((*lc)->state()) +
          "; commit follows a failover (`drsim failover --unplanned --point ...`)");
      finished_job(model::JobKind::kCommit, name, why);
      return why;
    }
  }
  CommitResponse resp;
  Time t = now();
  for (const auto& name : names) {
    auto* lc = *vault_.lifecycle(name);
    auto ev = lc->commit(t);
    Status result = ev.status();
    auto job = finished_job(model::JobKind::kCommit, name, result);
    resp.set_job_id(job.value());
    if (!ev.is_ok()) return ev.status();
    std::vector<model::RecoveryPointId> drop;
    for (const auto& [id, dir] : items_[name].checkpoints) {
      if (id != ev->point->id) drop.push_back(id);
    }
    for (auto id : drop) drop_checkpoint(name, id);
    resp.set_points_dropped(resp.points_dropped() + drop.size());
    info(*lc, resp.add_items());
  }
  return resp;
}

Result<ReprotectItemsResponse> SiteRecoveryDriver::reprotect_items(
    const ReprotectItemsRequest& req) {
  PersistOnReturn persist_after{*this};
  ReprotectItemsResponse resp;
  for (const auto& name : vault_.scope_names()) {
    const auto* lc = vault_.find(name);
    if (lc->state() == model::ProtectionState::kFailedOver) {
      return failed_precondition(
          "re-protect refused: " + name + " is failed over to recovery point " +
          std::to_string(lc->failover_point()->id.value()) +
          " and not committed; run `drsim commit` first (it keeps that point and drops the "
          "others), then `drsim reprotect`");
    }
  }
  if (req.check_only()) return resp;
  Time t = now();
  for (const auto& name : vault_.scope_names()) {
    auto* lc = *vault_.lifecycle(name);
    if (lc->state() != model::ProtectionState::kCommitted) continue;
    auto job = jobs_.create(model::JobKind::kReprotect, name, t);
    if (!job.is_ok()) return job.status();
    (void)jobs_.transition(*job, model::JobState::kInProgress, t);
    auto ev = lc->reprotect(
        req.delta() ? model::OriginalDisks::kPresent : model::OriginalDisks::kDeleted, t);
    // The sync completes in the new target's vault, once it receives the stream: this vault
    // hands the item over (hand_over_items) and the target cuts its points.
    (void)jobs_.transition(*job,
                           ev.is_ok() ? model::JobState::kSucceeded : model::JobState::kFailed, t,
                           ev.is_ok() ? "" : ev.status().message());
    if (!ev.is_ok()) return ev.status();
    // Physical servers, Azure Stack VMs and AWS instances come back from Azure as VMware VMs:
    // the reverse replication targets one, and the item is one from now on (also in the vault
    // it is handed over to, which rebuilds it from the request).
    if (auto item = items_.find(name); item != items_.end() && !item->second.group) {
      v1::ProtectItemRequest& request = item->second.request;
      const model::SourceKind was = to_model(request.source());
      const model::SourceKind back =
          model::failback_kind(was, request.target_kind() == TARGET_KIND_SECONDARY_SITE
                                        ? model::TargetKind::kSecondarySite
                                        : model::TargetKind::kAzureRegion);
      if (back != was) {
        request.set_source(to_proto(back));
        durable_.save_record(kItemRecordPrefix + name, request.SerializeAsString());
        (void)vault_.set_source_kind(name, back);
        const std::string note =
            name + " (" + model::source_kind_with_article(was) + ") fails back as " +
            model::source_kind_with_article(back) + ": Site Recovery fails " +
            model::source_kind_name(was) +
            "s back from Azure to on-premises VMware VMs only, so the reverse replication "
            "targets one and the item is protected as one from now on";
        spdlog::info("site recovery: {}", note);
        resp.add_notes(note);
      }
    }
    // The committed point belongs to the old direction.
    std::vector<model::RecoveryPointId> drop;
    for (const auto& [id, dir] : items_[name].checkpoints) drop.push_back(id);
    for (auto id : drop) drop_checkpoint(name, id);
    resp.set_job_id(job->value());
    resp.add_job_ids(job->value());
    info(*lc, resp.add_items());
  }
  return resp;
}

ListJobsResponse SiteRecoveryDriver::jobs() const {
  ListJobsResponse resp;
  auto stamp = [this](const std::optional<Time>& t) { return t ? wall_nanos(*t) : 0; };
  for (const auto& j : jobs_.jobs()) {
    auto* out = resp.add_jobs();
    out->set_id(j.id.value());
    out->set_kind(model::job_kind_name(j.kind));
    out->set_target(j.target);
    out->set_state(model::job_state_name(j.state));
    out->set_created_unix_nanos(wall_nanos(j.created_at));
    out->set_started_unix_nanos(stamp(j.started_at));
    out->set_ended_unix_nanos(stamp(j.ended_at));
    out->set_error(j.error);
  }
  return resp;
}

}  // namespace drsim::region
