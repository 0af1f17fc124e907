// RegionNode's re-protect: the active side offers its log summary and sends a delta or a full
// copy; the standby side plans what to roll back and applies what arrives
// (common/model/replication/resync_plan.h).

#include <spdlog/spdlog.h>

#include "common/region/region_node.h"
#include "common/region/fail_stop.h"
#include "common/region/region_node_parts.h"

namespace drsim::region {

using drsim::v1::Change;
using drsim::v1::ReplicationFrame;
using namespace region_node_parts;

// ---------------------------------------------------------------- re-protect: active side

void RegionNode::reprotect(const std::string& reason, bool no_wait, ReprotectDone done) {
  if (Status s = model::check_reprotect(facts()); !s.is_ok()) {
    done(s);
    return;
  }
  resync_ = model::ResyncProgress(scheduler_.now());
  resync_started_wall_ = clock_.wall_unix_nanos();
  resync_welcomed_ = false;
  resync_error_.clear();
  diverged_.clear();
  link_error_.clear();
  if (protected_) {
    // Protected but stopped (the histories diverged): unprotected until the resync is done.
    protected_ = false;
    persist_meta();
  }
  for (auto* w : order_) w->copy.reset();
  reprotect_waiters_.push_back({std::move(done), no_wait});
  cancel_timer(resync_connect_timer_);
  resync_connect_timer_ = scheduler_.schedule_after(kReprotectConnectTimeout, [this] {
    resync_connect_timer_.reset();
    if (!resync_.running() || resync_welcomed_) return;
    end_resync(unavailable("peer " + options_.peer_name + " is unreachable at " +
                           options_.peer_address + " (no answer within " +
                           std::to_string(kReprotectConnectTimeout.count()) + " s" +
                           (link_error_.empty() ? "" : ": " + link_error_) + ")"));
  });
  spdlog::info("re-protect ({}): reversing replication {} -> {} at epoch {}", reason, options_.name,
               options_.peer_name, role_->epoch().value());
  if (link_) {
    link_->cancel();  // a stale stream; the reconnect carries the offer
  } else {
    maybe_connect();
  }
}

void RegionNode::add_resync_offer(drsim::v1::Hello* hello) {
  auto* offer = hello->mutable_resync();
  for (auto* w : order_) {
    storage::WorkloadCursor cursor{w->source.last_written(), w->last_epoch};
    auto summary = store_.log_summary(w->spec.name, cursor, kMaxEpochSpans);
    if (!summary.is_ok()) {
      spdlog::warn("re-protect {}: cannot summarize the log ({}); offering the cursor only",
                   w->spec.name, summary.status().to_string());
    }
    to_proto(w->spec.name, summary.is_ok() ? *summary : cursor_only(cursor.seq, cursor.epoch),
             offer->add_logs());
  }
  resync_.on_bytes(hello->ByteSizeLong());
}

Status RegionNode::on_resync_welcome(
    const drsim::v1::Welcome& welcome,
    std::map<std::string, const drsim::v1::ResyncDecision*>* decisions) {
  if (welcome.resync_size() == 0) {
    return failed_precondition("peer " + options_.peer_name +
                               " answered the re-protect without a resync plan");
  }
  for (const auto& d : welcome.resync()) {
    Workload* w = find(d.workload());
    if (w == nullptr) {
      return invalid_argument("welcome.resync: workload '" + d.workload() +
                              "' is not hosted by region " + options_.name);
    }
    if (d.kind() != drsim::v1::RESYNC_KIND_DELTA && d.kind() != drsim::v1::RESYNC_KIND_FULL) {
      return invalid_argument("welcome.resync: kind of " + d.workload() + " is unset");
    }
    if (d.kind() == drsim::v1::RESYNC_KIND_DELTA &&
        d.common_seq() > w->source.last_written().value()) {
      return invalid_argument("welcome.resync: common seq " + std::to_string(d.common_seq()) +
                              " of " + d.workload() + " is beyond this region's log");
    }
    (*decisions)[d.workload()] = &d;
  }
  for (auto* w : order_) {
    if (!decisions->count(w->spec.name)) {
      return invalid_argument("welcome.resync: no plan for workload " + w->spec.name);
    }
  }
  for (auto* w : order_) {
    const auto& d = *decisions->at(w->spec.name);
    model::ResyncPlan plan;
    plan.kind = d.kind() == drsim::v1::RESYNC_KIND_FULL ? model::ResyncKind::kFull
                                                        : model::ResyncKind::kDelta;
    plan.common = Seq(d.common_seq());
    plan.common_epoch = Epoch(d.common_epoch());
    plan.rollback_entries = d.rolled_back_entries();
    plan.reason = d.reason();
    resync_.on_planned(w->spec.name, plan, w->source.last_written(), d.restored_keys());
    spdlog::info("re-protect {}: {} ({})", w->spec.name, model::resync_kind_name(plan.kind),
                 d.reason());
    if (plan.kind == model::ResyncKind::kFull) {
      // One consistent snapshot at this region's newest write: the copy, then the log from
      // its seq + 1, leave the standby exactly here.
      w->copy = std::make_unique<Workload::FullCopy>();
      w->copy->snapshot = store_.snapshot();
      w->copy->seq = w->source.last_written();
      w->copy->epoch = w->last_epoch;
      resync_.on_copy_started(w->spec.name, w->copy->seq,
                              store_.approximate_data_bytes(w->spec.name));
    }
  }
  resync_.on_bytes(welcome.ByteSizeLong());
  return Status::ok();
}

void RegionNode::send_copy_chunk(Workload& w) {
  auto& copy = *w.copy;
  auto page =
      store_.scan(w.spec.name, copy.next_key, kCopyChunkKeys, kCopyChunkBytes, *copy.snapshot);
  if (!page.is_ok()) {
    spdlog::error("re-protect {}: cannot read the snapshot: {}", w.spec.name,
                  page.status().to_string());
    drop_link(page.status().message());
    return;
  }
  ReplicationFrame frame;
  auto* chunk = frame.mutable_snapshot();
  chunk->set_workload(w.spec.name);
  chunk->set_start_key(copy.next_key);
  chunk->set_end_key(page->next_key);
  for (auto& [key, value] : page->items) {
    auto* item = chunk->add_items();
    item->set_key(std::move(key));
    item->set_value(std::move(value));
  }
  bool last = page->next_key.empty();
  chunk->set_last(last);
  if (last) {
    chunk->set_seq(copy.seq.value());
    chunk->set_epoch(copy.epoch.value());
  }
  resync_.on_copy_chunk(w.spec.name, static_cast<uint64_t>(chunk->items_size()),
                        frame.ByteSizeLong());
  copy.next_key = page->next_key;
  if (last) {
    Seq seq = copy.seq;
    w.copy.reset();
    resync_.on_copy_finished(w.spec.name);
    // The log continues right after the snapshot, on the same stream (so after this chunk).
    if (Status s = w.source.on_connected(seq, scheduler_.now()); !s.is_ok()) {
      DRSIM_BUG("full copy cursor beyond the log");
    }
    send_queue_.mark(w.index);  // the log after the snapshot
    spdlog::info("re-protect {}: full copy sent up to seq {}", w.spec.name, seq.value());
  }
  link_->send(std::move(frame));
}

void RegionNode::check_resync_done() {
  if (!resync_.running() || !link_welcomed_) return;
  for (auto* w : order_) {
    if (w->copy) return;
  }
  if (!resync_.complete(order_.size())) return;
  Time now = scheduler_.now();
  resync_.finish(now);
  protected_ = true;
  persist_meta();
  spdlog::info(
      "re-protect done: {} resync {} -> {} in {:.1f} ms, {} bytes ({} changes, {} keys copied, "
      "{} entries rolled back there); protected",
      model::resync_kind_name(resync_.kind()), options_.name, options_.peer_name,
      to_ms(resync_.elapsed(now)), resync_.bytes(), resync_.changes(), resync_.keys_copied(),
      resync_.rolled_back_entries());
  answer_reprotect(false);
}

void RegionNode::end_resync(const Status& why) {
  if (!resync_.running()) return;
  resync_.finish(scheduler_.now());
  resync_error_ = why.message();
  for (auto* w : order_) w->copy.reset();
  spdlog::error("re-protect failed: {}", why.to_string());
  auto waiters = std::move(reprotect_waiters_);
  reprotect_waiters_.clear();
  for (auto& waiter : waiters) waiter.done(why);
  // Unprotected again: nothing streams until the next re-protect.
  if (link_) link_->cancel();
}

void RegionNode::answer_reprotect(bool only_no_wait) {
  std::vector<ReprotectWaiter> keep;
  auto waiters = std::move(reprotect_waiters_);
  reprotect_waiters_.clear();
  for (auto& waiter : waiters) {
    if (only_no_wait && !waiter.no_wait) {
      keep.push_back(std::move(waiter));
      continue;
    }
    drsim::v1::ReprotectResponse resp;
    fill_resync_stats(resync_, resync_started_wall_, resp.mutable_resync());
    resp.set_protection(resync_.running() ? drsim::v1::REGION_PROTECTION_RESYNCING
                                          : drsim::v1::REGION_PROTECTION_PROTECTED);
    resp.set_message(std::string(resync_.running() ? "re-protect started: " : "protected: ") +
                     model::resync_kind_name(resync_.kind()) + " resync " + options_.name + " -> " +
                     options_.peer_name);
    waiter.done(std::move(resp));
  }
  for (auto& waiter : keep) reprotect_waiters_.push_back(std::move(waiter));
}

void RegionNode::fill_resync_stats(const model::ResyncProgress& p, int64_t started_wall,
                                   drsim::v1::ResyncStats* out) const {
  Time now = scheduler_.now();
  out->set_kind(to_proto(p.kind()));
  out->set_done(!p.running());
  out->set_progress(p.fraction(order_.size()));
  out->set_bytes(p.bytes());
  out->set_duration_ms(to_ms(p.elapsed(now)));
  out->set_changes(p.changes());
  out->set_keys_copied(p.keys_copied());
  out->set_rolled_back_entries(p.rolled_back_entries());
  out->set_restored_keys(p.restored_keys());
  out->set_started_unix_nanos(started_wall);
  if (&p == &resync_) out->set_error(resync_error_);
  for (const auto& [name, w] : p.workloads()) {
    auto* ws = out->add_workloads();
    ws->set_workload(name);
    ws->set_kind(to_proto(w.kind));
    ws->set_common_seq(w.common.value());
    ws->set_common_epoch(w.common_epoch.value());
    ws->set_target_seq(w.target.value());
    ws->set_reached_seq(w.reached.value());
    ws->set_rolled_back_entries(w.rolled_back_entries);
    ws->set_restored_keys(w.restored_keys);
    ws->set_changes(w.changes);
    ws->set_keys_copied(w.keys_copied);
    ws->set_bytes(w.bytes);
    ws->set_reason(w.reason);
  }
}

// ---------------------------------------------------------------- re-protect: standby side

Result<std::map<std::string, model::LogSummary>> RegionNode::read_resync_offer(
    const drsim::v1::ResyncOffer& offer) {
  std::map<std::string, model::LogSummary> peer;
  for (int i = 0; i < offer.logs_size(); ++i) {
    const auto& log = offer.logs(i);
    std::string where = "hello.resync.logs[" + std::to_string(i) + "]";
    if (find(log.workload()) == nullptr) {
      return invalid_argument(where + ": workload '" + log.workload() +
                              "' is not hosted by region " + options_.name);
    }
    model::LogSummary s = from_proto(log);
    if (Status v = model::validate_log_summary(where, s, kMaxEpochSpans); !v.is_ok()) return v;
    if (!peer.emplace(log.workload(), std::move(s)).second) {
      return invalid_argument(where + ": workload '" + log.workload() + "' is listed twice");
    }
  }
  if (peer.size() != order_.size()) {
    return invalid_argument("hello.resync: " + std::to_string(peer.size()) +
                            " workload(s) offered; region " + options_.name + " hosts " +
                            std::to_string(order_.size()));
  }
  return peer;
}

Status RegionNode::plan_incoming_resync(const drsim::v1::ResyncOffer& offer,
                                        std::vector<drsim::v1::ResyncDecision>* decisions) {
  auto peer = read_resync_offer(offer);
  if (!peer.is_ok()) return peer.status();
  // A re-protect writes (roll backs, full copies): on a full disk the hello is refused before
  // any of it, and the source's re-protect ends with the reason. A workload whose roll back or
  // copy start still fails for want of room refuses it likewise; the ones planned before it
  // are in a state the next hello re-plans from (a copy begun is a copy to redo).
  if (Status room = store_.check_room(0); !room.is_ok()) {
    return Status(room.code(), "region " + options_.name + " cannot re-protect: " + room.message());
  }
  if (!incoming_.running()) {
    incoming_ = model::ResyncProgress(scheduler_.now());
    incoming_started_wall_ = clock_.wall_unix_nanos();
  }
  for (auto* w : order_) {
    auto d = plan_workload_resync(*w, peer->at(w->spec.name));
    if (!d.is_ok()) return d.status();
    decisions->push_back(std::move(*d));
  }
  return Status::ok();
}

// One workload's part of an incoming re-protect: the plan against the peer's log, its roll back
// or the start of its full copy done here, and the decision the peer is told.
Result<drsim::v1::ResyncDecision> RegionNode::plan_workload_resync(
    Workload& w, const model::LogSummary& theirs) {
  storage::WorkloadCursor cursor{w.sink.applied(), w.sink.applied_epoch()};
  auto ours = store_.log_summary(w.spec.name, cursor, kMaxEpochSpans);
  model::LogSummary local = ours.is_ok() ? *ours : cursor_only(cursor.seq, cursor.epoch);
  model::ResyncPlan plan = model::plan_resync(local, theirs, w.copy_incomplete, w.unverified_after);
  uint64_t restored = 0;
  if (plan.kind == model::ResyncKind::kDelta && plan.rollback_entries > 0) {
    auto rolled = roll_back_for_resync(w, plan, local, cursor.seq);
    if (!rolled.is_ok()) return rolled.status();
    restored = *rolled;
  }
  if (plan.kind == model::ResyncKind::kFull) {
    if (Status s = store_.begin_full_copy(w.spec.name); !s.is_ok()) {
      if (s.code() == StatusCode::kResourceExhausted) return s;  // nothing of it is written
      fail_stop("cannot start a full copy of " + w.spec.name + ": " + s.to_string());
    }
    w.copy_incomplete = true;
    w.unverified_after.reset();  // begin_full_copy cleared it
    w.sink = model::ReplicationSink();
    w.source = model::ReplicationSource();
    w.last_epoch = Epoch(0);
    spdlog::info("re-protect {}: full copy from {} ({})", w.spec.name, options_.peer_name,
                 plan.reason);
  }
  incoming_.on_planned(w.spec.name, plan, theirs.last, restored);
  drsim::v1::ResyncDecision d;
  d.set_workload(w.spec.name);
  d.set_kind(to_proto(plan.kind));
  d.set_common_seq(plan.common.value());
  d.set_common_epoch(plan.common_epoch.value());
  d.set_rolled_back_entries(plan.kind == model::ResyncKind::kDelta ? plan.rollback_entries : 0);
  d.set_restored_keys(restored);
  d.set_reason(plan.reason);
  return d;
}

// A delta re-protect into this region rolls back the entries the peer never had, to the common
// point: the keys they touched put back. When the values to put back cannot be found the plan
// turns into a full copy (`plan` changed). Returns how many keys were put back.
Result<uint64_t> RegionNode::roll_back_for_resync(Workload& w, model::ResyncPlan& plan,
                                                  const model::LogSummary& local, Seq applied) {
  auto restores = rollback_restores(w, plan.common, local);
  if (!restores.is_ok()) {
    plan.kind = model::ResyncKind::kFull;
    plan.reason = "cannot roll back to seq " + std::to_string(plan.common.value()) + ": " +
                  restores.status().message();
    return uint64_t{0};
  }
  Status s = store_.roll_back(w.spec.name, {plan.common, plan.common_epoch}, *restores);
  if (s.code() == StatusCode::kResourceExhausted) return s;  // nothing of it is written
  // Memory and disk would disagree.
  if (!s.is_ok()) fail_stop("roll back of " + w.spec.name + " failed: " + s.to_string());
  const uint64_t restored = restores->size();
  spdlog::info(
      "re-protect {}: rolled back seq {}..{} that {} never had, to seq {} (epoch {}); {} key(s) "
      "put back",
      w.spec.name, plan.common.value() + 1, applied.value(), options_.peer_name,
      plan.common.value(), plan.common_epoch.value(), restored);
  w.sink = model::ReplicationSink(plan.common, plan.common_epoch);
  w.source = model::ReplicationSource(plan.common);
  w.last_epoch = plan.common_epoch;
  w.unverified_after.reset();  // roll_back cleared the mark with the entries after it
  return restored;
}

Result<std::vector<model::KeyRestore>> RegionNode::rollback_restores(
    Workload& w, Seq common, const model::LogSummary& local) {
  model::RollbackSet set;
  Seq last = w.sink.applied();
  Status s = store_.scan_log(w.spec.name, common.next(), last, [&](const Change& c) {
    set.add_discarded(c.key());
    return true;
  });
  if (!s.is_ok()) return s;
  uint64_t expected = last.value() - common.value();
  if (set.discarded_entries() != expected) {
    return failed_precondition("the log holds " + std::to_string(set.discarded_entries()) +
                               " of the " + std::to_string(expected) + " entries to roll back");
  }
  if (set.unresolved() > 0 && common.value() > 0) {
    s = store_.scan_log_backward(w.spec.name, common, [&](const Change& c) {
      return set.on_earlier(c.key(), c.op() == drsim::v1::OP_DELETE
                                         ? std::nullopt
                                         : std::optional<std::string>(c.value()));
    });
    if (!s.is_ok()) return s;
  }
  return set.finish(local.first_retained.value() <= 1 ? model::LogStart::kFromFirstWrite
                                                      : model::LogStart::kTrimmed);
}

void RegionNode::sink_snapshot(SinkLink* stream, const drsim::v1::SnapshotChunk& chunk) {
  Workload* w = find(chunk.workload());
  Status bad;
  if (w == nullptr) {
    bad = invalid_argument("snapshot: workload '" + chunk.workload() +
                           "' is not hosted by region " + options_.name);
  } else if (!w->copy_incomplete) {
    bad = failed_precondition("snapshot: no full copy of " + w->spec.name +
                              " is in progress in region " + options_.name);
  } else if (!chunk.end_key().empty() && chunk.end_key() <= chunk.start_key()) {
    bad = invalid_argument("snapshot: end_key must sort after start_key");
  } else if (chunk.last() != chunk.end_key().empty()) {
    bad = invalid_argument("snapshot: exactly the last chunk runs to the end of the keys");
  } else if (chunk.last() && (chunk.epoch() > role_->epoch().value() ||
                              (chunk.seq() == 0) != (chunk.epoch() == 0))) {
    bad = invalid_argument("snapshot: cursor seq " + std::to_string(chunk.seq()) + " epoch " +
                           std::to_string(chunk.epoch()) + " is not valid at epoch " +
                           std::to_string(role_->epoch().value()));
  } else {
    const std::string* prev = nullptr;
    for (int i = 0; i < chunk.items_size() && bad.is_ok(); ++i) {
      const auto& item = chunk.items(i);
      std::string at = "snapshot.items[" + std::to_string(i) + "]";
      if (item.key().empty() || item.key().size() > options_.max_key_bytes) {
        bad = invalid_argument(at + ": key must be 1 to " + std::to_string(options_.max_key_bytes) +
                               " bytes");
      } else if (item.value().size() > options_.max_value_bytes) {
        bad = invalid_argument(at + ": value exceeds " + std::to_string(options_.max_value_bytes) +
                               " bytes");
      } else if (item.key() < chunk.start_key() ||
                 (!chunk.end_key().empty() && item.key() >= chunk.end_key()) ||
                 (prev != nullptr && item.key() <= *prev)) {
        bad = invalid_argument(at + ": keys must ascend inside [start_key, end_key)");
      }
      prev = &item.key();
    }
  }
  if (!bad.is_ok()) {
    spdlog::warn("snapshot chunk refused: {}", bad.to_string());
    sink_reject(stream, bad);
    return;
  }
  // A full disk refuses the chunk (the source's next hello re-plans the copy) instead of
  // stopping the region; any other failed write still does (refuse_undurable).
  Status durable = store_.check_room(chunk.ByteSizeLong());
  if (durable.is_ok()) durable = store_.apply_snapshot_chunk(chunk);
  if (!durable.is_ok()) {
    refuse_undurable(stream, chunk.items_size(), durable);
    return;
  }
  if (incoming_.running()) {
    incoming_.on_copy_chunk(w->spec.name, static_cast<uint64_t>(chunk.items_size()),
                            chunk.ByteSizeLong());
  }
  if (chunk.last()) {
    w->copy_incomplete = false;
    w->sink = model::ReplicationSink(Seq(chunk.seq()), Epoch(chunk.epoch()));
    w->source = model::ReplicationSource(Seq(chunk.seq()));
    w->last_epoch = Epoch(chunk.epoch());
    if (incoming_.running()) {
      incoming_.on_copy_finished(w->spec.name);
      incoming_.on_reached(w->spec.name, Seq(chunk.seq()));
    }
    spdlog::info("re-protect {}: full copy applied at seq {} epoch {}", w->spec.name, chunk.seq(),
                 chunk.epoch());
  }
  send_ack(stream, {w});
  check_incoming_done();
}

void RegionNode::check_incoming_done() {
  if (!incoming_.running() || !incoming_.complete(order_.size())) return;
  Time now = scheduler_.now();
  incoming_.finish(now);
  spdlog::info(
      "re-protect from {} complete: {} resync in {:.1f} ms, {} bytes applied ({} changes, {} keys "
      "copied, {} entries rolled back)",
      options_.peer_name, model::resync_kind_name(incoming_.kind()), to_ms(incoming_.elapsed(now)),
      incoming_.bytes(), incoming_.changes(), incoming_.keys_copied(),
      incoming_.rolled_back_entries());
}

}  // namespace drsim::region
