// RegionNode: start and stop, status, outage and peer changes. Its other parts, one file each:
// region_node_writes.cc (client writes and reads), _source.cc and _sink.cc (the two ends of
// replication), _failover.cc (unplanned failover and role changes), _handover.cc (planned
// failover), _reprotect.cc (re-protect, both sides), _lease.cc (the lease on being active) and
// _points.cc (Site Recovery's view and failover to recovery points).
#include "common/region/region_node.h"
#include "common/region/fail_stop.h"
#include "common/core/check.h"

#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/region/region_node_parts.h"

namespace drsim::region {

using drsim::v1::Change;
using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;
using namespace std::chrono_literals;

using namespace region_node_parts;


RegionNode::RegionNode(RegionOptions options, RegionLinks links, net::Transport transport,
                       boost::asio::io_context& io, Scheduler& scheduler, SkewedClock& clock,
                       storage::RegionStore& store, net::HealthService& health)
    : options_(std::move(options)),
      links_(links),
      transport_(std::move(transport)),
      io_(io),
      gate_(std::make_shared<net::LoopGate>(io)),
      scheduler_(scheduler),
      clock_(clock),
      store_(store),
      health_(health),
      lease_(options_.lease, options_.peer_name) {}

RegionNode::~RegionNode() {
  gate_->close();
  *alive_ = false;
}

Status RegionNode::start(const std::string& bound_address) {
  address_ = bound_address;
  if (Status s = load_role(); !s.is_ok()) return s;
  if (Status s = load_workloads(); !s.is_ok()) return s;
  if (options_.unsafe_ack_before_standby) {
    spdlog::warn(
        "TEST HOOK --unsafe-ack-before-standby: sync writes are acknowledged before the "
        "standby has them; acknowledged writes can be lost");
  }
  spdlog::info("region {} starting as {} at epoch {}{} with {} workload(s) on {}", options_.name,
               model::role_name(role_->role()), role_->epoch().value(),
               role_->confirmed() ? "" : " (unconfirmed: checking the peer for a failover)",
               order_.size(), address_);
  send_queue_ = model::SendQueue(order_.size());
  sync_acks_ = model::SyncAckTracker(order_.size(), options_.sync_ack_timeout);
  // One line per workload helps with a few; with thousands it is the start-up's cost.
  for (auto* w : order_) {
    if (order_.size() > kWorkloadsLoggedOneByOne) break;
    spdlog::info(
        "workload {} ({}) resumes at seq {} epoch {}{}", w->spec.name,
        replication_mode_name(w->spec.mode), w->source.last_written().value(),
        w->last_epoch.value(),
        w->copy_incomplete ? " (a full copy into it did not finish: re-protect redoes it)" : "");
  }
  if (!role_->confirmed()) arm_confirmation_timeout();
  start_lease();
  update_health();
  maybe_connect();
  return Status::ok();
}

// The role and epoch the store recorded (a first start: the configured role, saved). An active
// region with a peer starts unconfirmed: restarted from disk, it may have been failed over while
// it was down; with no state at all, its data directory may have been wiped after the peer took
// over. It must hear from its peer (or time out) before it serves; a fresh standby peer confirms
// it at once.
Status RegionNode::load_role() {
  auto meta = store_.load_meta();
  if (!meta.is_ok()) return meta.status();
  storage::RegionMeta m;
  if (meta->has_value()) {
    m = **meta;
  } else {
    m.active = options_.initial_role == model::Role::kActive;
    m.epoch = m.active ? 1 : 0;
    m.protected_ = true;
    if (Status s = store_.save_meta(m); !s.is_ok()) return s;
  }
  const bool check_peer =
      m.active && !options_.peer_address.empty() && options_.fence_check_timeout.count() > 0;
  protected_ = m.protected_;
  role_ = std::make_unique<model::RegionRole>(
      options_.name, options_.peer_name, m.active ? model::Role::kActive : model::Role::kStandby,
      Epoch(m.epoch),
      check_peer ? model::RegionRole::Confirmation::kUnconfirmed
                 : model::RegionRole::Confirmation::kConfirmed);
  return Status::ok();
}

// Each configured workload at the cursor its store holds, with its marks (an unfinished full
// copy, writes not verified against a standby).
Status RegionNode::load_workloads() {
  auto marks = store_.unverified_marks();
  if (!marks.is_ok()) return marks.status();
  for (const auto& spec : options_.workloads) {
    auto cursor = store_.load_cursor(spec.name);
    if (!cursor.is_ok()) return cursor.status();
    auto w = std::make_unique<Workload>();
    w->spec = spec;
    w->source = model::ReplicationSource(cursor->seq);
    w->sink = model::ReplicationSink(cursor->seq, cursor->epoch);
    w->last_epoch = cursor->epoch;
    w->recent_first = cursor->seq.next();
    auto incomplete = store_.full_copy_incomplete(spec.name);
    if (!incomplete.is_ok()) return incomplete.status();
    w->copy_incomplete = *incomplete;
    if (auto mark = marks->find(spec.name); mark != marks->end()) {
      w->unverified_after = mark->second;
    }
    w->index = order_.size();
    order_.push_back(w.get());
    workloads_.emplace(spec.name, std::move(w));
  }
  return Status::ok();
}

void RegionNode::stop() {
  stopped_ = true;
  // A stopping region acts on no timer: a restart's confirmation timeout would otherwise make it
  // resume as active (and report itself serving) while it shuts down.
  cancel_timer(confirmation_timer_);
  run_lease_held_answers();
  if (fence_call_) fence_call_();
  fence_call_ = nullptr;  // its state: the shutdown waits for every call's state to go
  answer_fence_waiters(unavailable("region " + options_.name + " is shutting down"), "");
  if (link_) link_->cancel();
  if (sink_) sink_->close(unavailable("region " + options_.name + " is shutting down"));
  fail_waiters(unavailable("region " + options_.name + " is shutting down"), Applied::kUnknown);
  if (resync_.running()) end_resync(unavailable("region " + options_.name + " is shutting down"));
  if (planned_) finish_planned(unavailable("region " + options_.name + " is shutting down"));
}

RegionNode::Workload* RegionNode::find(const std::string& name) {
  auto it = workloads_.find(name);
  return it == workloads_.end() ? nullptr : it->second.get();
}

// Whether this region streams to its peer: protected, or re-protecting (resync running).
bool RegionNode::replicating() const {
  return role_->role() == model::Role::kActive && !outage_ && diverged_.empty() &&
         (protected_ || resync_.running());
}

model::Protection RegionNode::protection() const {
  if (resync_.running()) return model::Protection::kResyncing;
  return protected_ && diverged_.empty() ? model::Protection::kProtected
                                         : model::Protection::kUnprotected;
}

model::RegionFacts RegionNode::facts() const {
  model::RegionFacts f;
  f.region = options_.name;
  f.peer = options_.peer_name;
  f.role = role_->role();
  f.confirmed = role_->confirmed();
  f.protection = resync_.running() ? model::Protection::kResyncing
                 : protected_      ? model::Protection::kProtected
                                   : model::Protection::kUnprotected;
  f.replication_stopped = !diverged_.empty();
  f.outage = outage_;
  f.peer_address_known = !options_.peer_address.empty();
  f.handover = handover_.pausing_writes() || planned_.has_value();
  f.copy_incomplete = std::any_of(order_.begin(), order_.end(),
                                  [](const Workload* w) { return w->copy_incomplete; });
  f.source_streaming = sink_ != nullptr && sink_source_ == options_.peer_name;
  f.behind_standby = behind_standby_;
  return f;
}

void RegionNode::update_health() {
  using S = grpc::health::v1::HealthCheckResponse;
  health_.set_outage(outage_);
  health_.set_region({role_->epoch().value(), model::role_name(role_->role())});
  health_.set_status("", S::SERVING);
  // Serving = may acknowledge a write now: active, confirmed, and holding the lease.
  bool serving = role_->serving_writes() && behind_standby_.empty() &&
                 (!grantor_ || admit_lease().is_ok());
  health_.set_status("drsim.v1.Workload", serving ? S::SERVING : S::NOT_SERVING);
  if (serving && !serving_) {
    // Health says SERVING from here on: tell the Traffic Manager now, so it probes (and
    // routes) at once rather than at its next probe interval.
    announce_serving_ = true;
    if (!stopped_ && !outage_) renew_with_witness();
  }
  serving_ = serving;
  health_.set_status("drsim.v1.Replication", S::SERVING);
  health_.set_status("drsim.v1.RegionAdmin", S::SERVING);
}

void RegionNode::persist_meta() {
  storage::RegionMeta m{role_->role() == model::Role::kActive, role_->epoch().value(), protected_};
  Status s = store_.save_meta(m);
  if (!s.is_ok()) {
    // The role must be durable before it is acted on.
    fail_stop("cannot persist region role: " + s.to_string());
  }
}

// ---------------------------------------------------------------- admin

void RegionNode::status(bool reset_lag_stats, drsim::v1::GetStatusResponse* out) {
  out->set_region(options_.name);
  out->set_role(to_proto(role_->role()));
  out->set_epoch(role_->epoch().value());
  out->set_outage(outage_);
  out->set_active_region(role_->active_region());
  out->set_peer_address(options_.peer_address);
  out->set_replication_connected(link_ != nullptr && link_welcomed_);
  out->set_pid(::getpid());
  out->set_bugs_counted(bugs_counted());
  fill_lease_status(out);
  out->set_fenced_reason(status_note(out->lease()));
  out->set_now_unix_nanos(clock_.wall_unix_nanos());
  out->set_clock_offset_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.offset()).count());
  out->set_replication_refusals(refusals_);
  out->set_replication_reconnects(connects_ > 0 ? connects_ - 1 : 0);
  fill_protection_status(out);
  fill_workload_status(reset_lag_stats, out);
}

// What `drsim status` says of the region besides its role: fenced, diverged, re-protecting,
// unprotected, handing over, unconfirmed, replication's error, the lease lost.
std::string RegionNode::status_note(const drsim::v1::LeaseStatus& lease) const {
  std::string note = role_->fenced_reason();
  auto add_note = [&note](const std::string& what) { note += (note.empty() ? "" : "; ") + what; };
  if (!diverged_.empty()) add_note(diverged_);
  if (resync_.running()) {
    add_note("re-protect: resyncing to " + options_.peer_name + " (" +
             model::resync_kind_name(resync_.kind()) + ", " +
             std::to_string(static_cast<int>(resync_.fraction(order_.size()) * 100)) + "%)" +
             (link_error_.empty() || link_welcomed_ ? "" : "; replication: " + link_error_));
  } else if (role_->role() == model::Role::kActive && !protected_) {
    add_note("unprotected: failed over, re-protect pending" +
             (resync_error_.empty() ? "" : " (last re-protect failed: " + resync_error_ + ")"));
  } else if (handover_.pausing_writes()) {
    add_note(std::string("planned failover to ") + options_.peer_name + ": " +
             model::handover_phase_name(handover_.phase()) + ", writes paused");
  } else if (role_->role() == model::Role::kActive && !role_->confirmed() &&
             fence_note_.empty()) {
    add_note("unconfirmed: checking the peer's epoch");
  } else if (!link_error_.empty() && replicating() && !link_welcomed_) {
    add_note("replication: " + link_error_);
  }
  if (role_->role() == model::Role::kActive && !role_->confirmed() && !fence_note_.empty()) {
    add_note(fence_note_);
  }
  if (lease.state() == "lost") add_note("lease lost: " + lease.reason());
  return note;
}

void RegionNode::fill_protection_status(drsim::v1::GetStatusResponse* out) const {
  if (role_->role() != model::Role::kActive) {
    out->set_protection(incoming_.running() ? drsim::v1::REGION_PROTECTION_RESYNCING
                                            : drsim::v1::REGION_PROTECTION_NOT_APPLICABLE);
    if (incoming_.started()) {
      fill_resync_stats(incoming_, incoming_started_wall_, out->mutable_resync());
    }
    if (planned_) out->set_planned_failover("waiting for " + options_.peer_name + " to drain");
    return;
  }
  switch (protection()) {
    case model::Protection::kProtected:
      out->set_protection(drsim::v1::REGION_PROTECTION_PROTECTED);
      break;
    case model::Protection::kUnprotected:
      out->set_protection(drsim::v1::REGION_PROTECTION_UNPROTECTED);
      break;
    case model::Protection::kResyncing:
      out->set_protection(drsim::v1::REGION_PROTECTION_RESYNCING);
      break;
  }
  if (resync_.started()) fill_resync_stats(resync_, resync_started_wall_, out->mutable_resync());
  out->set_planned_failover(model::handover_phase_name(handover_.phase()));
}

// Per workload: mode, last seq and epoch; while replicating to a standby, its lag (unprotected,
// failed over and not re-protected, there is none to lag behind).
void RegionNode::fill_workload_status(bool reset_lag_stats, drsim::v1::GetStatusResponse* out) {
  const Time now = scheduler_.now();
  const bool active = role_->role() == model::Role::kActive;
  for (auto* w : order_) {
    auto* ws = out->add_workloads();
    ws->set_name(w->spec.name);
    ws->set_mode(w->spec.mode == ReplicationMode::kSync ? drsim::v1::MODE_SYNC
                                                        : drsim::v1::MODE_ASYNC);
    ws->set_last_seq(active ? w->source.last_written().value() : w->sink.applied().value());
    ws->set_last_epoch(w->last_epoch.value());
    if (!active || !replicating()) continue;
    ws->set_acked_seq(w->source.acked().value());
    ws->set_lag_writes(w->source.lag_writes());
    ws->set_lag_ms(to_ms(w->source.lag_age(now)));
    const auto& h = w->source.lag_histogram();
    auto* lag = ws->mutable_lag();
    lag->set_p50_ms(to_ms(h.quantile(0.50)));
    lag->set_p99_ms(to_ms(h.quantile(0.99)));
    lag->set_max_ms(to_ms(h.max()));
    lag->set_samples(h.count());
    if (reset_lag_stats) w->source.lag_histogram().reset();
  }
}

std::vector<RegionNode::WriteToAck> RegionNode::write_to_ack() const {
  std::vector<WriteToAck> out;
  if (role_->role() != model::Role::kActive || !replicating()) return out;
  for (const auto* w : order_) out.push_back({&w->spec, &w->source.lag_histogram()});
  return out;
}

void RegionNode::set_outage(bool outage) {
  if (outage == outage_) return;
  outage_ = outage;
  spdlog::info("region {} outage {}", options_.name, outage ? "STARTED" : "ENDED");
  if (outage) {
    fail_waiters(unavailable("region " + options_.name + " entered an injected outage"),
                 Applied::kUnknown);
    if (planned_) {
      finish_planned(unavailable("region " + options_.name +
                                 " entered an injected outage; the planned failover did not "
                                 "happen"));
    }
    if (link_) link_->cancel();
    if (sink_) {
      sink_->close(unavailable("region " + options_.name + " is in an injected outage"));
      sink_ = nullptr;
    }
  }
  if (!outage && role_->role() == model::Role::kActive && !options_.peer_address.empty() &&
      options_.fence_check_timeout.count() > 0) {
    // Back from an outage, as after a restart: the peer may have been promoted meanwhile.
    // Refuse writes until it answers (or the fence-check timeout passes with it unreachable).
    role_->unconfirm();
    spdlog::info("region {} back from an outage: confirming epoch {} with {} before serving",
                 options_.name, role_->epoch().value(), options_.peer_name);
    arm_confirmation_timeout();
  }
  update_health();
  if (!outage) maybe_connect();
}

void RegionNode::set_peer(const std::string& address) {
  if (address == options_.peer_address) return;
  options_.peer_address = address;
  if (link_) link_->cancel();
  spdlog::info("peer {} is at {}", options_.peer_name, address);
  maybe_connect();
}

}  // namespace drsim::region
