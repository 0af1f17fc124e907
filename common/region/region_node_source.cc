// RegionNode as the source of replication (the active region): connecting to the standby, the
// replies it sends back (welcome, acks, rejects, hand-over requests) and the pump that decides
// which frame goes next.

#include <spdlog/spdlog.h>

#include "common/model/replication/batch_admission.h"
#include "common/model/replication/standby_cursor.h"
#include "common/region/region_node.h"
#include "common/core/check.h"
#include "common/region/region_node_parts.h"

namespace drsim::region {

using drsim::v1::Change;
using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;
using namespace region_node_parts;

// ---------------------------------------------------------------- source side

void RegionNode::maybe_connect() {
  if (stopped_ || link_ != nullptr || !replicating() || options_.peer_address.empty()) return;
  link_ = links_.replication.connect(options_.peer_address, *this);
  ++connects_;
  link_welcomed_ = false;
  ReplicationFrame hello;
  auto* h = hello.mutable_hello();
  h->set_region(options_.name);
  h->set_epoch(role_->epoch().value());
  for (auto* w : order_) w->written_cursor(h->add_last_written());
  if (resync_.running()) add_resync_offer(h);
  link_->send(std::move(hello));
}

void RegionNode::schedule_reconnect() {
  if (reconnect_scheduled_ || stopped_) return;
  reconnect_scheduled_ = true;
  scheduler_.schedule_after(options_.reconnect_backoff, [this] {
    reconnect_scheduled_ = false;
    maybe_connect();
  });
}

void RegionNode::drop_link(const std::string& why) {
  link_error_ = why;
  if (link_) link_->cancel();
}

void RegionNode::on_source_reply(SourceLink* stream, const ReplicationReply& reply) {
  if (stream != link_) return;
  if (reply.has_welcome()) {
    on_source_welcome(reply.welcome());
  } else if (reply.has_lease_grant()) {
    const auto& g = reply.lease_grant();
    if (g.granted()) {
      on_lease_granted(g.request_id(), Epoch(g.epoch()));
    } else {
      on_lease_refused(Epoch(g.highest_epoch()), options_.peer_name, g.reason());
    }
  } else if (reply.has_ack()) {
    on_source_ack(reply.ack());
  } else if (reply.has_handover_request()) {
    on_handover_request(reply.handover_request());
  } else if (reply.has_handover_refused()) {
    if (handover_.pausing_writes()) {
      spdlog::warn("planned failover refused by {}: {}; resuming writes", options_.peer_name,
                   reply.handover_refused().message());
      abort_handover();
    }
  } else if (reply.has_reject()) {
    on_source_reject(reply.reject());
  }
}

void RegionNode::on_source_welcome(const drsim::v1::Welcome& welcome) {
  if (handover_.phase() == model::HandoverPhase::kHandedOver) {
    // A new stream welcomed at our epoch: the standby did not promote itself on the handover
    // of the previous stream (and now never will: that stream is superseded). Resume.
    spdlog::warn("planned failover: {} answered a new stream as standby; resuming writes",
                 options_.peer_name);
    abort_handover();
  }
  std::map<std::string, const drsim::v1::ResyncDecision*> decisions;
  if (resync_.running()) {
    if (Status s = on_resync_welcome(welcome, &decisions); !s.is_ok()) {
      end_resync(s);
      drop_link(s.message());
      return;
    }
  }
  for (const auto& cursor : welcome.durable()) {
    Workload* w = find(cursor.workload());
    if (w == nullptr) {
      drop_link("standby hosts unknown workload '" + cursor.workload() + "'");
      return;
    }
    if (auto d = decisions.find(w->spec.name);
        d != decisions.end() && d->second->kind() == drsim::v1::RESYNC_KIND_FULL) {
      continue;  // on_resync_welcome started a full copy; the stream resumes after it
    }
    if (!accept_standby_cursor(*w, cursor)) return;  // the link is dropped
  }
  link_welcomed_ = true;
  link_error_.clear();
  clear_unverified();  // the standby holds nothing after any mark: this region lost nothing
  if (resync_.running()) {
    resync_welcomed_ = true;
    answer_reprotect(true);
  }
  if (!role_->confirmed()) {
    spdlog::info("peer {} confirms epoch {}: serving", options_.peer_name, role_->epoch().value());
    role_->confirm();
    update_health();
  }
  spdlog::info("replication to {} connected", options_.peer_name);
  // What the standby already had needs neither caching nor waiting for.
  check_lease();  // an expired lease fails the waiting writes instead of acknowledging them
  for (auto* w : order_) on_standby_durable(*w);
  send_queue_.mark_all();  // every cursor was reset to the standby's
  check_resync_done();
  pump();
}

bool RegionNode::accept_standby_cursor(Workload& w, const drsim::v1::WorkloadCursor& cursor) {
  model::StandbyCursorFacts facts{options_.name,       options_.peer_name,
                                  w.spec.name,         Seq(cursor.seq()),
                                  cursor.epoch(),      w.source.last_written(),
                                  w.unverified_after};
  auto verdict = model::judge_standby_cursor(facts, [&](Seq seq) -> std::optional<uint64_t> {
    auto ours = store_.log_epoch(w.spec.name, seq);
    return ours.is_ok() ? std::optional<uint64_t>(ours->value()) : std::nullopt;
  });
  switch (verdict.kind) {
    case model::StandbyCursorVerdict::Kind::kDiverged:
      diverged_ = verdict.message;
      spdlog::error("{}", diverged_);
      drop_link(diverged_);
      return false;
    case model::StandbyCursorVerdict::Kind::kBehindStandby:
      stop_behind_standby(verdict.message);
      return false;
    case model::StandbyCursorVerdict::Kind::kResume:
      break;
  }
  if (Status s = w.source.on_connected(Seq(cursor.seq()), scheduler_.now()); !s.is_ok()) {
    diverged_ = w.spec.name + ": " + s.message();
    spdlog::error("{}", diverged_);
    drop_link(diverged_);
    return false;
  }
  return true;
}

// The standby made durable what this region no longer has (model::judge_standby_cursor): serving
// on would hand out their seqs again and a re-protect from here would erase them on the standby.
// Stop, and let the operator fail over to the region that has them.
void RegionNode::stop_behind_standby(const std::string& why) {
  behind_standby_ = why;
  spdlog::error("refusing writes: {}", behind_standby_);
  fail_waiters(failed_precondition(behind_standby_), Applied::kUnknown);
  diverged_ = behind_standby_;  // replication stops with it
  update_health();
  drop_link(diverged_);
}

void RegionNode::on_source_ack(const drsim::v1::Ack& ack) {
  const Time now = scheduler_.now();
  check_lease();  // an expired lease fails the waiting writes instead of acknowledging them
  for (const auto& cursor : ack.durable()) {
    Workload* w = find(cursor.workload());
    if (w == nullptr) continue;
    if (w->copy) continue;  // mid full copy: the standby's cursor means nothing yet
    auto acked = w->source.on_ack(Seq(cursor.seq()), now);
    if (!acked.is_ok()) {
      DRSIM_BUG("standby acked beyond what was written");
      drop_link(acked.status().message());
      return;
    }
    if (resync_.running()) resync_.on_reached(w->spec.name, Seq(cursor.seq()));
    on_standby_durable(*w);
    send_queue_.mark(w->index);  // the ack may have opened its window
  }
  check_resync_done();
  pump();
}

void RegionNode::on_source_reject(const drsim::v1::Reject& r) {
  ++refusals_;
  link_error_ = r.message();
  spdlog::warn("replication refused by {}: {}", options_.peer_name, r.message());
  auto peer_role =
      r.active_region() == options_.peer_name ? model::Role::kActive : model::Role::kStandby;
  if (handover_.phase() == model::HandoverPhase::kHandedOver && peer_role == model::Role::kActive &&
      Epoch(r.current_epoch()) > role_->epoch()) {
    // The planned failover completed: the standby promoted itself.
    auto change = role_->hand_over(Epoch(r.current_epoch()));
    if (change.is_ok()) on_role_change(*change);
    return;
  }
  if (auto change = role_->on_peer_epoch(Epoch(r.current_epoch()), peer_role)) {
    on_role_change(*change);
  } else if (resync_.running() && !resync_welcomed_) {
    end_resync(
        failed_precondition("re-protect refused by " + options_.peer_name + ": " + r.message()));
  }
}

// The caller runs check_lease() first, once per reply (it may fail every waiting write, an
// O(workloads) walk: once per workload it was O(workloads²), minutes with 100,000 workloads).
void RegionNode::on_standby_durable(Workload& w) {
  Seq acked = w.source.acked();
  while (!w.recent.empty() && Seq(w.recent.front().seq()) <= acked) {
    w.recent.pop_front();
    w.recent_first = w.recent_first.next();
  }
  answer_sync_writes(sync_acks_.on_acked(w.index, acked), {Status::ok(), Applied::kNo, {}});
}

void RegionNode::on_source_write_done(SourceLink* stream) {
  if (stream == link_) pump();
}

void RegionNode::on_source_closed(SourceLink* stream, const Status& status) {
  if (stream != link_) return;
  link_ = nullptr;
  bool was_welcomed = link_welcomed_;
  link_welcomed_ = false;
  if (!status.is_ok()) link_error_ = status.to_string();
  for (auto* w : order_) {
    w->source.on_disconnected();
    w->copy.reset();  // a full copy cut short starts over (the standby's mark says so)
  }
  control_frame_.reset();
  lease_frame_.reset();
  if (was_welcomed) {
    spdlog::warn("replication to {} disconnected: {}", options_.peer_name, status.to_string());
  }
  if (handover_.phase() == model::HandoverPhase::kDraining) {
    // The standby's request died with the stream: it will not promote. Resume.
    spdlog::warn("planned failover: stream to {} lost while draining; resuming writes",
                 options_.peer_name);
    abort_handover();
  }
  schedule_reconnect();
}

Status RegionNode::collect(Workload& w, model::SeqRange range, drsim::v1::ChangeBatch* batch,
                           size_t* frame_bytes) {
  auto fits = [&](const Change& c) {
    size_t n = c.ByteSizeLong();
    if (!model::frame_takes(*frame_bytes, n, kMaxFrameBytes)) return false;
    *frame_bytes += n;
    return true;
  };
  if (range.first >= w.recent_first && !w.recent.empty()) {
    size_t start = range.first.value() - w.recent_first.value();
    for (uint64_t i = 0; i < range.count() && start + i < w.recent.size(); ++i) {
      if (!fits(w.recent[start + i])) break;
      *batch->add_changes() = w.recent[start + i];
    }
    return Status::ok();
  }
  std::vector<Change> from_log;
  if (Status s = store_.read_log(w.spec.name, range.first, range.last, &from_log); !s.is_ok()) {
    return s;
  }
  for (auto& c : from_log) {
    if (!fits(c)) break;
    *batch->add_changes() = std::move(c);
  }
  return Status::ok();
}

void RegionNode::pump() {
  if (link_ == nullptr || !link_welcomed_ || link_->write_in_flight() || !link_->open()) return;
  if (send_pending_control()) return;
  if (handover_.phase() == model::HandoverPhase::kHandedOver) return;
  if (handover_.phase() == model::HandoverPhase::kDraining && hand_over_if_drained()) return;
  if (resync_.running()) {  // full copies exist only while re-protecting
    for (auto* w : order_) {
      if (w->copy) {
        send_copy_chunk(*w);
        return;
      }
    }
  }
  ReplicationFrame frame;
  auto* batch = frame.mutable_batch();
  batch->set_epoch(role_->epoch().value());
  if (!fill_batch(*batch)) return;  // the link was dropped
  if (batch->changes_size() == 0) return;
  link_->send(std::move(frame));
}

bool RegionNode::send_pending_control() {
  for (auto* pending : {&control_frame_, &lease_frame_}) {
    if (!*pending) continue;
    ReplicationFrame frame = std::move(**pending);
    pending->reset();
    link_->send(std::move(frame));
    return true;
  }
  return false;
}

bool RegionNode::hand_over_if_drained() {
  uint64_t unacked = 0;
  for (auto* w : order_) unacked += w->source.lag_writes();
  if (!handover_.ready(true, unacked, queued_.size())) return false;
  // Every write this region admitted is durable on the standby, and it admits no more.
  ReplicationFrame frame;
  auto* h = frame.mutable_handover();
  for (auto* w : order_) w->written_cursor(h->add_through());
  h->set_writes_paused_unix_nanos(handover_paused_wall_);
  handover_.on_handed_over(scheduler_.now());
  spdlog::info("planned failover: drained in {:.1f} ms; handing over to {}",
               to_ms(handover_.paused(scheduler_.now())), options_.peer_name);
  release_lease_at_handover();
  link_->send(std::move(frame));
  return true;
}

bool RegionNode::fill_batch(drsim::v1::ChangeBatch& batch) {
  size_t budget = options_.max_batch_changes;
  size_t bytes = 0;
  // Each marked workload at most once per frame (as many as were marked when it started);
  // one with writes left over is marked again, behind the others.
  for (size_t n = 0, marked = send_queue_.size();
       n < marked && budget > 0 && bytes < kMaxFrameBytes; ++n) {
    Workload& w = *order_[*send_queue_.take()];
    auto range = w.source.next_range(budget, options_.max_unacked_changes);
    if (!range) continue;  // nothing unsent, or its window is full: an ack marks it again
    int before = batch.changes_size();
    size_t bytes_before = bytes;
    if (Status s = collect(w, *range, &batch, &bytes); !s.is_ok()) {
      spdlog::error("cannot send {} seq {}..{}: {}", w.spec.name, range->first.value(),
                    range->last.value(), s.to_string());
      // Re-protecting, the next hello offers the log as it is now and the standby re-plans
      // (a full copy when the entries it needs are gone); protected, replication stops.
      if (!resync_.running()) diverged_ = s.message();
      drop_link(s.message());
      return false;
    }
    int added = batch.changes_size() - before;
    if (added == 0) {
      send_queue_.mark(w.index);  // nothing read this time: look again at the next pump
      if (bytes > 0) break;       // the frame is full (model::frame_takes)
      continue;
    }
    check_collected(w, *range, batch, before);
    w.source.on_sent({range->first, Seq(range->first.value() + added - 1)});
    if (w.source.sent() < w.source.last_written()) send_queue_.mark(w.index);
    budget -= static_cast<size_t>(added);
    if (resync_.running()) {
      resync_.on_changes(w.spec.name, static_cast<uint64_t>(added), bytes - bytes_before);
    }
    if (static_cast<uint64_t>(added) < range->count()) break;  // cut short: the frame is full
  }
  return true;
}

void RegionNode::check_collected(const Workload& w, const model::SeqRange& range,
                                 const drsim::v1::ChangeBatch& batch, int before) const {
  for (int i = before; i < batch.changes_size(); ++i) {
    if (batch.changes(i).seq() != range.first.value() + (i - before)) {
      spdlog::critical(
          "BUG collect {}: range {}..{} recent_first {} recent size {} front {} got seq {} at {}",
          w.spec.name, range.first.value(), range.last.value(), w.recent_first.value(),
          w.recent.size(), w.recent.empty() ? 0 : w.recent.front().seq(), batch.changes(i).seq(),
          i - before);
      check_failed("a collected batch holds the range's seqs in order", __FILE__, __LINE__);
    }
  }
}

}  // namespace drsim::region
