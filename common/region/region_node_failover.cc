// RegionNode's unplanned failover: the checks, fencing the old active region (peer and witness),
// waiting out its lease, promotion with unverified-write marks, and every role change.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/region/region_node.h"

namespace drsim::region {

void RegionNode::failover(const std::string& reason, FailoverDone done) {
  if (Status s = check_failover(); !s.is_ok()) return done(s);
  if (planned_ && role_->role() == model::Role::kStandby) {
    finish_planned(Status(StatusCode::kAborted,
                          "superseded by an unplanned failover of region " + options_.name));
  }
  // The new active region serves unprotected until re-protect reverses replication (Site
  // Recovery: failover → commit → re-protect).
  auto promoted = promote(reason, false, false);
  if (!promoted.is_ok()) return done(std::move(promoted));
  when_serving(std::move(promoted).value(), reason, std::move(done));
}

void RegionNode::when_serving(drsim::v1::FailoverResponse promoted, std::string reason,
                              FailoverDone done) {
  if (role_->role() != model::Role::kActive) {
    return done(failed_precondition("region " + options_.name + " stepped down before serving"));
  }
  if (role_->confirmed()) return answer_once_leased(std::move(promoted), std::move(done));
  fence_waiters_.push_back({std::move(promoted), std::move(reason), std::move(done)});
}

void RegionNode::answer_once_leased(drsim::v1::FailoverResponse promoted, FailoverDone done) {
  // Serving needs the first lease of the new epoch too (a grant from the witness or the peer,
  // a round trip after the promotion): answer then, so that a caller that writes as soon as
  // the failover returns is not refused "no lease yet" (as a planned failover answers).
  const uint64_t epoch = role_->epoch().value();
  auto r = std::make_shared<drsim::v1::FailoverResponse>(std::move(promoted));
  auto d = std::make_shared<FailoverDone>(std::move(done));
  answer_when_lease_held([this, r, d, epoch] {
    if (role_->role() != model::Role::kActive || role_->epoch().value() != epoch) {
      return (*d)(failed_precondition(
          "region " + options_.name + " stepped down before serving (now " +
          model::role_name(role_->role()) + " at epoch " +
          std::to_string(role_->epoch().value()) + ")"));
    }
    if (!options_.unsafe_no_lease && !lease_held(scheduler_.now())) {
      r->set_message(r->message() + "; NOT serving yet: no lease grant within " +
                     std::to_string(whole_ms(options_.lease.lease)) + " ms (" +
                     lease_.lost_reason(scheduler_.now()) + "; drsim status shows it)");
    }
    (*d)(std::move(*r));
  });
}

void RegionNode::answer_fence_waiters(const Status& failed, const std::string& how) {
  auto waiters = std::exchange(fence_waiters_, {});
  for (auto& w : waiters) {
    if (!failed.is_ok()) {
      w.done(failed);
      continue;
    }
    w.response.set_promoted_unix_nanos(clock_.wall_unix_nanos());
    w.response.set_message("region " + options_.name + " promoted to active at epoch " +
                           std::to_string(role_->epoch().value()) + " (" + w.reason +
                           "); serving: " + how);
    answer_once_leased(std::move(w.response), std::move(w.done));
  }
}

Status RegionNode::check_failover() const {
  if (outage_) {
    return failed_precondition("region " + options_.name +
                               " is in an injected outage; end the outage before failing over "
                               "to it");
  }
  if (role_->role() == model::Role::kStandby) {
    for (auto* w : order_) {
      if (w->copy_incomplete) {
        return failed_precondition(
            "region " + options_.name + " holds an incomplete full copy of " + w->spec.name +
            " (a re-protect from " + options_.peer_name +
            " was cut short); it is no usable recovery point until the re-protect finishes");
      }
    }
  }
  return Status::ok();
}

Result<drsim::v1::FailoverResponse> RegionNode::promote(const std::string& reason, bool planned,
                                                        bool protect) {
  auto change = role_->failover(reason);
  if (!change.is_ok()) return change.status();
  // Never two actives: after an unplanned failover the peer may still be active (alive, only
  // not replicating here), so it is told the new epoch (fence_peer). A planned failover needs
  // no fence: the peer handed over and admits nothing. Whether serving waits for the fence's
  // answer: not when the promotion waited out the old lease with the witness's answer (the old
  // active region can renew nowhere: it acknowledges nothing now, whatever it believes), so a
  // frozen old primary costs no fence timeout; yes otherwise (no witness answer, or the lease
  // disabled by a test hook), until the peer stepped down or proved unreachable.
  const bool fence = !planned && options_.peer_fence_timeout.count() > 0 &&
                     !options_.peer_address.empty();
  const bool lease_proven = !options_.unsafe_no_lease && lease_proven_epoch_ &&
                            *lease_proven_epoch_ == role_->epoch();
  lease_proven_epoch_.reset();
  fence_gates_serving_ = fence && !lease_proven;
  if (fence_gates_serving_) role_->unconfirm();
  protected_ = protect;
  diverged_.clear();
  resync_error_.clear();
  persist_meta();
  if (sink_) {
    // Tell the old primary the new epoch on its own stream: if it is only frozen, this is the
    // first thing it reads when it runs again (after a planned failover: it steps down now).
    sink_reject(sink_, failed_precondition(std::string(planned ? "planned failover: " : "") +
                                           "region " + options_.name + " was promoted at epoch " +
                                           std::to_string(role_->epoch().value())));
  }
  on_role_change(*change);
  drsim::v1::FailoverResponse resp;
  resp.set_new_epoch(role_->epoch().value());
  resp.set_promoted_unix_nanos(clock_.wall_unix_nanos());
  for (auto* w : order_) {
    // The new active region continues each workload's sequence from what it
    // applied; the old primary's unreplicated tail (async) is given up.
    w->source = model::ReplicationSource(w->sink.applied());
    w->last_epoch = w->sink.applied_epoch();
    w->recent.clear();
    w->recent_first = w->sink.applied().next();
    w->applied_cursor(resp.add_recovered());
  }
  resp.set_message("region " + options_.name + " promoted to active at epoch " +
                   std::to_string(role_->epoch().value()) + " (" + reason + ")" +
                   (fence_gates_serving_
                        ? "; it serves once " + options_.peer_name +
                              " has stepped down (or has not answered within " +
                              std::to_string(options_.peer_fence_timeout.count()) + " ms)"
                    : fence ? "; serving at once: the lease witness and this region both "
                              "refused " + options_.peer_name +
                              "'s old epoch, whose lease has run out (" + options_.peer_name +
                              " is told the new epoch in the background)"
                            : ""));
  if (fence) fence_peer();
  if (protect) maybe_connect();
  return resp;
}

void RegionNode::fence_peer() {
  if (stopped_ || role_->role() != model::Role::kActive) return;
  if (fence_gates_serving_ && role_->confirmed()) return;
  drsim::v1::FenceRequest req;
  req.set_region(options_.name);
  req.set_epoch(role_->epoch().value());
  const uint64_t generation = ++fence_generation_;
  if (fence_gates_serving_) {
    cancel_timer(confirmation_timer_);  // a restart's confirmation timeout must not confirm this
    fence_note_ = "promoted at epoch " + std::to_string(role_->epoch().value()) +
                  ": not serving until " + options_.peer_name + " has stepped down";
  }
  spdlog::info("fencing {}: telling it epoch {} {}", options_.peer_name, role_->epoch().value(),
               fence_gates_serving_ ? "before serving" : "(serving already: the lease wait proved "
                                                         "its epoch over)");
  fence_call_ = links_.peer.fence(
      options_.peer_address, req, options_.peer_fence_timeout,
      [this, alive = alive_, generation](const Status& status, const drsim::v1::FenceReply& reply) {
        if (*alive) on_fence_reply(generation, status, reply);
      });
}

void RegionNode::on_fence_reply(uint64_t generation, const Status& status,
                                const drsim::v1::FenceReply& reply) {
  if (generation != fence_generation_) return;
  fence_call_ = nullptr;
  if (stopped_ || role_->role() != model::Role::kActive) return;
  // Background (the lease proved the old epoch over): this region serves already.
  const bool gating = fence_gates_serving_;
  if (gating && role_->confirmed()) return;
  const std::string ours = std::to_string(role_->epoch().value());
  std::string how;
  if (status.is_ok() && !reply.active()) {
    how = options_.peer_name + " answered the fence: " + reply.message();
    spdlog::info("{}; {} as active at epoch {}", how, gating ? "serving" : "serves", ours);
  } else if (status.is_ok() && Epoch(reply.epoch()) > role_->epoch()) {
    // The peer is active at a newer epoch than this promotion: this region is the stale one.
    fence_note_.clear();
    Status refused = failed_precondition(
        "region " + options_.name + " was promoted at epoch " + ours + " but " +
        options_.peer_name + " is active at epoch " + std::to_string(reply.epoch()) +
        ": stepped down again, nothing changed");
    answer_fence_waiters(refused, "");
    if (auto change = role_->on_peer_epoch(Epoch(reply.epoch()), model::Role::kActive)) {
      on_role_change(*change);
    }
    return;
  } else if (status.code() == StatusCode::kUnavailable ||
             status.code() == StatusCode::kDeadlineExceeded) {
    // Killed, frozen, cut off or in an outage: it cannot acknowledge through this region, and it
    // learns epoch `ours` from the first replication frame or fence it reads.
    how = options_.peer_name + " did not answer the fence (" + status_code_name(status.code()) +
          ": " + status.message() + ")";
    spdlog::warn("{}; {} as active at epoch {}", how, gating ? "serving" : "serves", ours);
  } else {
    // It answered but did not step down (it refused the fence, or it is active at our epoch).
    // Gating: serving now could make two actives, so stay unconfirmed. In the background its
    // lease is over, so it acknowledges nothing, but it should answer clients that it is not the
    // active region. Either way, ask again.
    const std::string why = status.is_ok() ? reply.message()
                                           : std::string(status_code_name(status.code())) + ": " +
                                                 status.message();
    if (gating) {
      fence_note_ = "promoted at epoch " + ours + ": not serving, " + options_.peer_name +
                    " did not step down: " + why;
      spdlog::error("{}; asking again in {} ms", fence_note_, options_.reconnect_backoff.count());
      answer_fence_waiters(failed_precondition(fence_note_ + " (asking again every " +
                                               std::to_string(options_.reconnect_backoff.count()) +
                                               " ms)"),
                           "");
    } else {
      spdlog::warn("{} did not step down when fenced ({}); asking again in {} ms",
                   options_.peer_name, why, options_.reconnect_backoff.count());
    }
    scheduler_.schedule_after(options_.reconnect_backoff, [this] { fence_peer(); });
    return;
  }
  if (!gating) return;
  fence_note_.clear();
  role_->confirm();
  update_health();
  answer_fence_waiters(Status::ok(), how);
}

Result<drsim::v1::FenceReply> RegionNode::on_fence(const drsim::v1::FenceRequest& req) {
  if (outage_) return unavailable("region " + options_.name + " is in an injected outage");
  if (req.region() != options_.peer_name) {
    return failed_precondition("fence.region: '" + req.region() + "' is not the peer of region " +
                               options_.name + " (" + options_.peer_name + ")");
  }
  const Epoch claimed(req.epoch());
  if (Status s = role_->check_peer_claim(req.region(), claimed); !s.is_ok()) {
    spdlog::warn("refused fence from {}: {}", req.region(), s.message());
    return s;
  }
  const bool was_active = role_->role() == model::Role::kActive;
  on_peer_active(claimed);
  drsim::v1::FenceReply reply;
  reply.set_region(options_.name);
  reply.set_active(role_->role() == model::Role::kActive);
  reply.set_epoch(std::max(role_->epoch(), role_->highest_seen()).value());
  if (reply.active()) {
    reply.set_message("region " + options_.name + " is active at epoch " +
                      std::to_string(role_->epoch().value()) + ", not older than " +
                      req.region() + "'s epoch " + std::to_string(req.epoch()));
  } else {
    reply.set_message(std::string(was_active ? "stepped down: " : "") + "region " +
                      options_.name + " is the standby at epoch " +
                      std::to_string(reply.epoch()));
  }
  return reply;
}

void RegionNode::on_peer_active(Epoch peer_epoch) {
  if (role_->role() == model::Role::kActive && peer_epoch > role_->epoch() &&
      handover_.phase() == model::HandoverPhase::kHandedOver) {
    auto change = role_->hand_over(peer_epoch);
    if (change.is_ok()) on_role_change(*change);
    return;
  }
  if (auto change = role_->on_peer_epoch(peer_epoch, model::Role::kActive)) on_role_change(*change);
}

void RegionNode::on_role_change(const model::RoleChanged& change) {
  spdlog::info("role {} -> {} at epoch {}: {}", model::role_name(change.from),
               model::role_name(change.to), change.epoch.value(), change.reason);
  if (change.to == model::Role::kStandby) {
    behind_standby_.clear();  // a standby holds what it holds; re-protect brings the rest
    answer_fence_waiters(
        failed_precondition("region " + options_.name + " stepped down before serving: " +
                            change.reason),
        "");
    persist_meta();
    fail_waiters(failed_precondition("region " + options_.name + " was fenced: " + change.reason),
                 Applied::kUnknown);
    if (link_) link_->cancel();
    if (resync_.running()) {
      end_resync(
          failed_precondition("region " + options_.name + " stepped down: " + change.reason));
    }
    handover_.on_stepped_down();
    // As a standby, applied state continues from what this region wrote.
    for (auto* w : order_) {
      w->sink = model::ReplicationSink(w->source.last_written(), w->last_epoch);
      w->recent.clear();
      w->copy.reset();
    }
  } else if (incoming_.running()) {
    // Promoted in the middle of a (delta) resync into this region: it serves what it has.
    incoming_.finish(scheduler_.now());
  }
  update_health();
  reset_lease();  // a new epoch needs a new lease (an active region asks at once)
}

void RegionNode::cancel_timer(std::optional<TimerId>& timer) {
  if (timer) scheduler_.cancel(*timer);
  timer.reset();
}

void RegionNode::arm_confirmation_timeout() {
  cancel_timer(confirmation_timer_);
  confirmation_timer_ = scheduler_.schedule_after(options_.fence_check_timeout, [this] {
    confirmation_timer_.reset();
    if (stopped_ || role_->confirmed() || role_->role() != model::Role::kActive) return;
    // Serving without the standby's cursor: had this region lost writes the standby holds, what
    // it writes now would reuse their (epoch, seq). Mark where that would begin, durably, before
    // the first such write is acknowledged.
    if (Status s = mark_unverified(); !s.is_ok()) {
      spdlog::error("peer {} did not answer within {} ms, and marking the writes to come failed "
                    "({}): not serving; trying again in {} ms",
                    options_.peer_name, options_.fence_check_timeout.count(), s.to_string(),
                    options_.fence_check_timeout.count());
      arm_confirmation_timeout();
      return;
    }
    spdlog::warn("peer {} did not answer within {} ms; resuming as active at epoch {}",
                 options_.peer_name, options_.fence_check_timeout.count(),
                 role_->epoch().value());
    role_->confirm();
    update_health();
  });
}

Status RegionNode::mark_unverified() {
  if (options_.unsafe_no_unverified_marks) return Status::ok();
  std::vector<std::pair<std::string, Seq>> marks;
  for (auto* w : order_) {
    if (!w->unverified_after) marks.emplace_back(w->spec.name, w->source.last_written());
  }
  if (Status s = store_.mark_unverified(marks); !s.is_ok()) return s;
  for (auto* w : order_) {
    if (!w->unverified_after) w->unverified_after = w->source.last_written();
  }
  return Status::ok();
}

void RegionNode::clear_unverified() {
  std::vector<std::string> names;
  for (auto* w : order_) {
    if (w->unverified_after) names.push_back(w->spec.name);
  }
  if (names.empty()) return;
  // Kept when this fails: a mark only makes a later re-protect roll back (and copy) more.
  if (Status s = store_.clear_unverified(names); !s.is_ok()) {
    spdlog::warn("could not clear the unverified-writes marks: {}", s.to_string());
    return;
  }
  for (auto* w : order_) w->unverified_after.reset();
  spdlog::info("{} confirms it lost no writes: {} workload(s) verified", options_.peer_name,
               names.size());
}

}  // namespace drsim::region
