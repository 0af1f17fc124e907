// RegionNode's lease on being active (common/model/replication/lease.h). The active region
// renews through its standby (LeaseRequest / LeaseGrant on the replication stream) and through
// the Traffic Manager witness (RenewLease); it admits a client write only while the lease is
// valid on its own monotonic clock. A standby about to be promoted stops granting, fences the
// witness, and waits until no grant to the old epoch can still be believed.
#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/region/region_node.h"

namespace drsim::region {

namespace {

using std::chrono::milliseconds;

// A FenceLease that gets no answer within this: the witness counts as unreachable.
constexpr auto kWitnessFenceDeadline = milliseconds(1000);


uint32_t lease_ms(const model::LeaseTimes& t) { return static_cast<uint32_t>(whole_ms(t.lease)); }

}  // namespace

std::string RegionNode::lease_grantors() const {
  return options_.peer_name + (options_.witness_address.empty() ? "" : " or trafficmgr");
}

void RegionNode::start_lease() {
  Time now = scheduler_.now();
  grantor_.emplace(options_.lease, now);
  grantor_->observe(role_->epoch());
  lease_.set_grantors(lease_grantors());
  lease_.reset(role_->epoch(), now);
  if (!options_.witness_address.empty()) set_witness(options_.witness_address);
  if (options_.unsafe_no_lease) {
    spdlog::warn(
        "TEST HOOK --unsafe-no-lease: writes are acknowledged without a valid lease; a frozen or "
        "partitioned former primary acknowledges writes that are lost");
  }
  struct Ticker {
    static void arm(RegionNode* n) {
      n->scheduler_.schedule_after(n->options_.lease.renew_interval, [n] {
        if (n->stopped_) return;
        n->renew_lease();
        arm(n);
      });
    }
  };
  Ticker::arm(this);
  renew_lease();
}

void RegionNode::set_witness(const std::string& address) {
  options_.witness_address = address;
  witness_error_.clear();
  lease_.set_grantors(lease_grantors());
  spdlog::info("lease witness: {}", address.empty() ? "none (the peer alone grants)" : address);
  if (grantor_) renew_lease();
}

Status RegionNode::admit_lease(std::string_view what) const {
  if (options_.unsafe_no_lease) return Status::ok();
  Time now = scheduler_.now();
  if (lease_held(now)) return Status::ok();
  return unavailable("region " + options_.name + " does not " + std::string(what) + " at epoch " +
                     std::to_string(role_->epoch().value()) + ": " + lease_.lost_reason(now));
}

void RegionNode::reset_lease() {
  Time now = scheduler_.now();
  lease_.reset(role_->epoch(), now);
  lease_frame_.reset();
  if (grantor_) {
    if (role_->role() == model::Role::kActive) grantor_->keep_fence();
    grantor_->observe(role_->epoch());
  }
  check_lease();
  renew_lease();
}

void RegionNode::release_lease_at_handover() {
  lease_.relinquish(scheduler_.now());
  lease_was_valid_ = false;
  spdlog::info("lease released at epoch {}: handed over to {}", role_->epoch().value(),
               options_.peer_name);
  update_health();
}

void RegionNode::abort_handover() {
  const bool released = handover_.phase() == model::HandoverPhase::kHandedOver;
  handover_.abort();
  if (!released) return;
  // The same epoch: a grant from the (still standby) peer or the witness makes it valid again.
  lease_.reset(role_->epoch(), scheduler_.now());
  renew_lease();
}

void RegionNode::answer_when_lease_held(std::function<void()> answer) {
  if (options_.unsafe_no_lease || lease_held(scheduler_.now())) return answer();
  until_lease_held_.push_back(std::move(answer));
  // Bounded: without a grant within one lease the answer goes anyway (`drsim status` shows why
  // the lease is not held).
  scheduler_.schedule_after(options_.lease.lease, [this, alive = alive_] {
    if (*alive) run_lease_held_answers();
  });
}

void RegionNode::run_lease_held_answers() {
  auto answers = std::exchange(until_lease_held_, {});
  for (auto& a : answers) a();
}

void RegionNode::renew_lease() {
  check_lease();
  if (stopped_ || outage_ || role_->role() != model::Role::kActive) return;
  if (link_ != nullptr && link_welcomed_) {
    drsim::v1::ReplicationFrame frame;
    auto* r = frame.mutable_lease_request();
    r->set_request_id(lease_.on_request_sent(scheduler_.now()));
    r->set_epoch(role_->epoch().value());
    lease_frame_ = std::move(frame);  // a newer request replaces one still waiting to be sent
    pump();
  }
  renew_with_witness();
}

void RegionNode::renew_with_witness() {
  if (options_.witness_address.empty() || witness_call_in_flight_) return;
  drsim::v1::RenewLeaseRequest request;
  request.set_region(options_.name);
  request.set_peer(options_.peer_name);
  request.set_epoch(role_->epoch().value());
  request.set_lease_ms(lease_ms(options_.lease));
  request.set_lease_drift(options_.lease.drift);
  const bool announce = std::exchange(announce_serving_, false);
  if (announce) request.set_kind(drsim::v1::RENEWAL_KIND_NOW_SERVING);
  uint64_t id = lease_.on_request_sent(scheduler_.now());
  Epoch epoch = role_->epoch();
  witness_call_in_flight_ = true;
  links_.witness.renew(
      options_.witness_address, request,
      std::chrono::duration_cast<milliseconds>(options_.lease.lease / 2),
      [this, alive = alive_, id, epoch, announce](const Status& s,
                                                  const drsim::v1::RenewLeaseResponse& response) {
        if (!*alive || stopped_) return;
        witness_call_in_flight_ = false;
        if (announce && (!s.is_ok() || !response.granted())) announce_serving_ = true;
        if (!s.is_ok()) {
          std::string why = "witness " + options_.witness_address + ": " + s.message();
          if (why != witness_error_) spdlog::warn("lease renewal failed: {}", why);
          witness_error_ = why;
          return;
        }
        witness_error_.clear();
        if (response.granted()) {
          on_lease_granted(id, epoch);
        } else {
          on_lease_refused(Epoch(response.highest_epoch()), "trafficmgr", response.reason());
        }
      });
}

void RegionNode::on_lease_granted(uint64_t id, Epoch epoch) {
  if (role_->role() != model::Role::kActive || epoch != role_->epoch()) return;
  Time now = scheduler_.now();
  lease_.on_granted(id, epoch, now);
  if (lease_.valid(now)) {
    // Check again the moment it would run out, so health and waiting writes follow at once.
    scheduler_.schedule_at(lease_.valid_until(), [this, alive = alive_] {
      if (*alive && !stopped_) check_lease();
    });
  }
  check_lease();
}

void RegionNode::on_lease_refused(Epoch highest, const std::string& from,
                                  const std::string& reason) {
  if (role_->role() != model::Role::kActive) return;
  spdlog::warn("lease refused by {}: {}", from, reason);
  if (highest <= role_->epoch()) return;
  if (handover_.phase() == model::HandoverPhase::kHandedOver) {
    // The planned failover completed (the witness heard from the promoted peer first).
    auto change = role_->hand_over(highest);
    if (change.is_ok()) on_role_change(*change);
    return;
  }
  if (auto change = role_->on_peer_epoch(highest, model::Role::kActive)) on_role_change(*change);
}

void RegionNode::check_lease() {
  Time now = scheduler_.now();
  bool active = role_->role() == model::Role::kActive;
  bool valid = active && lease_held(now);
  if (valid && !until_lease_held_.empty()) run_lease_held_answers();
  if (valid != lease_was_valid_) {
    lease_was_valid_ = valid;
    if (valid) {
      spdlog::info("lease held at epoch {} (expires in {} ms)", role_->epoch().value(),
                   whole_ms(lease_.expires_in(now)));
    } else if (active) {
      spdlog::warn("{}{}", lease_.lost_reason(now),
                   options_.unsafe_no_lease ? " (TEST HOOK --unsafe-no-lease: still acking)"
                                            : "; writes refused until it is renewed");
    }
    update_health();
  }
  // Sync writes that were waiting for the standby when the lease ran out: applied here, but
  // this region may no longer be the one whose writes count. Never acknowledge them now.
  if (active && !valid && !options_.unsafe_no_lease) {
    fail_waiters(unavailable("region " + options_.name + " lost its lease before the standby "
                             "acknowledged the write (" + lease_.lost_reason(now) +
                             "); outcome unknown"),
                 Applied::kUnknown);
  }
}

void RegionNode::sink_lease_request(SinkLink* stream, const drsim::v1::LeaseRequest& req) {
  drsim::v1::ReplicationReply reply;
  auto* g = reply.mutable_lease_grant();
  g->set_request_id(req.request_id());
  g->set_epoch(req.epoch());
  g->set_highest_epoch(role_->epoch().value());
  if (role_->role() != model::Role::kStandby) {
    g->set_reason("region " + options_.name + " is active at epoch " +
                  std::to_string(role_->epoch().value()));
  } else {
    auto a = grantor_->on_request(sink_source_, Epoch(req.epoch()), scheduler_.now());
    g->set_granted(a.granted);
    g->set_reason(a.reason);
    // A fenced grantor's highest is the epoch being promoted to, which does not exist yet: the
    // holder steps down only on an epoch that does (the role's).
  }
  stream->send(std::move(reply));
}

void RegionNode::wait_out_old_lease(WitnessOverride override_witness, LeaseWaitDone done) {
  wait_out_old_lease(override_witness, EpochRetry::kAllowed, std::move(done));
}

void RegionNode::wait_out_old_lease(WitnessOverride override_witness, EpochRetry retry,
                                    LeaseWaitDone done) {
  if (role_->role() != model::Role::kStandby) {
    done(Duration::zero());  // failover() answers why an active region is not promoted
    return;
  }
  if (Status s = check_failover(); !s.is_ok()) {
    done(s);
    return;
  }
  if (lease_wait_running_) {
    done(failed_precondition("a failover of region " + options_.name +
                             " is already waiting out the old lease"));
    return;
  }
  const Time started = scheduler_.now();
  const Epoch next = role_->promotion_epoch();
  lease_proven_epoch_.reset();  // until the witness answers this wait
  auto own = grantor_->fence(next, started);
  if (!own.is_ok()) {
    done(own.status());
    return;
  }
  lease_wait_running_ = true;
  const Time own_until = started + *own;
  if (options_.witness_address.empty()) {
    wait_lease_until(own_until, started, next, std::move(done));
    return;
  }
  drsim::v1::FenceLeaseRequest request;
  request.set_region(options_.name);
  request.set_peer(options_.peer_name);
  request.set_new_epoch(next.value());
  request.set_lease_ms(lease_ms(options_.lease));
  request.set_lease_drift(options_.lease.drift);
  links_.witness.fence(
      options_.witness_address, request, kWitnessFenceDeadline,
      [this, alive = alive_, started, next, own_until, override_witness, retry, done](
          const Status& s, const drsim::v1::FenceLeaseResponse& response) {
        if (!*alive) return;
        model::LeaseWaitFacts facts{options_.name,
                                    options_.peer_name,
                                    options_.witness_address,
                                    next,
                                    role_->promotion_epoch(),
                                    scheduler_.now(),
                                    own_until,
                                    options_.lease.grantor_belief(),
                                    retry == EpochRetry::kAllowed,
                                    override_witness == WitnessOverride::kForceWithoutWitness};
        model::WitnessFenceAnswer answer{s, response.refused(), Epoch(response.highest_epoch()),
                                         response.reason(),
                                         std::chrono::duration_cast<Duration>(
                                             std::chrono::duration<double, std::milli>(
                                                 response.remaining_ms()))};
        on_witness_fence(model::after_witness(facts, answer), s, override_witness, started, next,
                         done);
      });
}

void RegionNode::on_witness_fence(const model::LeaseWaitStep& step, const Status& call,
                                  WitnessOverride override_witness, Time started, Epoch next,
                                  LeaseWaitDone done) {
  using Kind = model::LeaseWaitStep::Kind;
  if (step.kind == Kind::kWaitUntil) {
    // Proven for `next`, the epoch the witness fenced below: neither grantor will renew an older
    // one, and the wait covers both leases. A standby that learns a newer epoch before the wait
    // ends is refused (wait_over); one that learns it after, before promote() runs (Site
    // Recovery asks the old primary first), promotes to an epoch this does not cover and waits
    // for the fence.
    if (step.proven) lease_proven_epoch_ = next;
    if (step.without_witness) {
      spdlog::warn(
          "failover without the witness ({} unreachable: {}): waiting a full lease ({} ms)",
          options_.witness_address, call.message(), whole_ms(options_.lease.grantor_belief()));
    }
    wait_lease_until(step.until, started, next, std::move(done));
    return;
  }
  grantor_->lift_fence();
  lease_wait_running_ = false;
  if (step.kind == Kind::kRetryBeyond) {
    // The witness knows a newer epoch than this standby (it restarted and forgot it): learn it
    // and promote beyond it, once.
    spdlog::info("lease witness knows epoch {}: promoting beyond it", step.highest.value());
    role_->on_peer_epoch(step.highest, model::Role::kActive);  // a standby only learns it
    wait_out_old_lease(override_witness, EpochRetry::kUsed, std::move(done));
    return;
  }
  done(step.refusal);
}

// Waits until `until` on this region's clock, then answers: the time waited since `started`,
// or why the promotion to `next` may not go on (model::wait_over) — the fence then stays (it
// only refuses epochs below `next`, all superseded).
void RegionNode::wait_lease_until(Time until, Time started, Epoch next, LeaseWaitDone done) {
  auto over = [this, done = std::move(done), started, next] {
    lease_wait_running_ = false;
    if (stopped_) {
      done(unavailable("region " + options_.name + " is shutting down"));
      return;
    }
    const Epoch learned = std::max(role_->epoch(), role_->highest_seen());
    Status go_on = model::wait_over(options_.name, next,
                                    role_->role() == model::Role::kStandby,
                                    role_->promotion_epoch(), learned);
    if (!go_on.is_ok()) {
      lease_proven_epoch_.reset();
      spdlog::warn("failover refused: region {} learned epoch {} while it waited out the lease "
                   "for epoch {}",
                   options_.name, learned.value(), next.value());
      done(go_on);
      return;
    }
    done(scheduler_.now() - started);
  };
  const Time now = scheduler_.now();
  if (until <= now) {
    over();
    return;
  }
  spdlog::info("failover: waiting {} ms for the old lease to expire", whole_ms(until - now));
  scheduler_.schedule_at(until, [alive = alive_, over = std::move(over)] {
    if (*alive) over();
  });
}

void RegionNode::lift_promotion_fence() {
  if (grantor_ && role_->role() == model::Role::kStandby) grantor_->lift_fence();
}

void RegionNode::failover_after_lease(
    const std::string& reason, WitnessOverride override_witness,
    std::function<void(Result<drsim::v1::FailoverResponse>)> done) {
  wait_out_old_lease(override_witness, [this, reason, done](Result<Duration> waited) {
    if (!waited.is_ok()) {
      done(waited.status());
      return;
    }
    // Then promote: failover() fences the peer and answers once this region serves.
    const Duration lease_wait = *waited;
    failover(reason, [this, lease_wait, done](Result<drsim::v1::FailoverResponse> r) {
      if (!r.is_ok()) {
        lift_promotion_fence();
        done(r.status());
        return;
      }
      r->set_lease_wait_ms(to_ms(lease_wait));
      if (lease_wait > Duration::zero()) {
        r->set_message(r->message() + "; waited " + std::to_string(whole_ms(lease_wait)) +
                       " ms for the old lease to expire");
      }
      done(std::move(r));
    });
  });
}

void RegionNode::fill_lease_status(drsim::v1::GetStatusResponse* out) const {
  Time now = scheduler_.now();
  auto* l = out->mutable_lease();
  l->set_lease_ms(lease_ms(options_.lease));
  l->set_renew_interval_ms(static_cast<uint32_t>(whole_ms(options_.lease.renew_interval)));
  l->set_drift(options_.lease.drift);
  l->set_witness(options_.witness_address);
  l->set_last_witness_error(witness_error_);
  l->set_grantor_fenced(grantor_ && grantor_->fenced());
  if (role_->role() != model::Role::kActive) {
    l->set_state("none");
  } else if (handover_.phase() == model::HandoverPhase::kHandedOver) {
    // Handed over in a planned failover: the peer may already be active at the next epoch, and
    // this region admits no write and never resumes on its own (replication.md). Its lease
    // ended at the handover; it is taken again only if the handover is refused.
    l->set_state("handed over");
    l->set_reason("planned failover: handed over to " + options_.peer_name +
                  "; lease released until the handover is refused");
  } else if (options_.isolated) {
    l->set_state("isolated");
    l->set_reason("an isolated copy: no peer or witness can be promoted over it");
  } else if (lease_.valid(now)) {
    l->set_state("held");
    l->set_expires_in_ms(to_ms(lease_.expires_in(now)));
  } else {
    l->set_state(options_.unsafe_no_lease ? "disabled" : "lost");
    l->set_reason(lease_.lost_reason(now));
  }
}

}  // namespace drsim::region
