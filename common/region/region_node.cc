#include "common/region/region_node.h"

#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/model/replication/batch_admission.h"

namespace drsim::region {

using drsim::v1::Change;
using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;
using namespace std::chrono_literals;

namespace {
constexpr size_t kMaxRecentChanges = 1 << 20;  // older unacked changes are read from the log
// A change batch is cut here (model::frame_takes): with values of at most 8 MiB
// (--max-value-bytes) every frame stays under the 16 MiB a region receives.
constexpr size_t kMaxFrameBytes = 4 << 20;
// Above this many workloads the start-up logs a count instead of one line per workload.
constexpr size_t kWorkloadsLoggedOneByOne = 64;
constexpr auto kSyncTimeoutTick = 100ms;
// Re-protect: epochs listed per workload in a LogSummary (more: only the cursor is offered),
// and the size of one full-copy frame.
constexpr size_t kMaxEpochSpans = 4096;
constexpr size_t kCopyChunkKeys = 1000;
constexpr size_t kCopyChunkBytes = 1 << 20;
// A re-protect whose peer has not answered within this is refused as unreachable (several
// reconnects: a channel still backing off from an earlier failure fails the first calls at once).
constexpr auto kReprotectConnectTimeout = 2s;
// A planned failover's source gets this long past the drain timeout to answer.
constexpr auto kPlannedFailoverGrace = 2s;

drsim::v1::RegionRole to_proto(model::Role r) {
  return r == model::Role::kActive ? drsim::v1::ROLE_ACTIVE : drsim::v1::ROLE_STANDBY;
}

drsim::v1::ResyncKind to_proto(model::ResyncKind k) {
  return k == model::ResyncKind::kDelta ? drsim::v1::RESYNC_KIND_DELTA
                                        : drsim::v1::RESYNC_KIND_FULL;
}

void to_proto(const std::string& workload, const model::LogSummary& s, drsim::v1::LogSummary* out) {
  out->set_workload(workload);
  out->set_last_seq(s.last.value());
  out->set_last_epoch(s.last_epoch.value());
  out->set_first_retained(s.first_retained.value());
  for (const auto& sp : s.spans) {
    auto* p = out->add_spans();
    p->set_epoch(sp.epoch.value());
    p->set_first_seq(sp.first.value());
    p->set_last_seq(sp.last.value());
  }
}

model::LogSummary from_proto(const drsim::v1::LogSummary& in) {
  model::LogSummary s;
  s.last = Seq(in.last_seq());
  s.last_epoch = Epoch(in.last_epoch());
  s.first_retained = Seq(in.first_retained());
  for (const auto& p : in.spans()) {
    s.spans.push_back({Epoch(p.epoch()), Seq(p.first_seq()), Seq(p.last_seq())});
  }
  return s;
}

model::LogSummary cursor_only(Seq last, Epoch epoch) {
  model::LogSummary s;
  s.last = last;
  s.last_epoch = epoch;
  s.first_retained = last.next();
  return s;
}

Status deadline_exceeded(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}
}  // namespace

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
  auto meta = store_.load_meta();
  if (!meta.is_ok()) return meta.status();
  model::RegionRole::Confirmation confirmation = model::RegionRole::Confirmation::kConfirmed;
  storage::RegionMeta m;
  if (meta->has_value()) {
    m = **meta;
    // An active region restarted from disk may have been failed over while it
    // was down: it must hear from its peer (or time out) before it serves.
    if (m.active && !options_.peer_address.empty() && options_.fence_check_timeout.count() > 0) {
      confirmation = model::RegionRole::Confirmation::kUnconfirmed;
    }
  } else {
    m.active = options_.initial_role == model::Role::kActive;
    m.epoch = m.active ? 1 : 0;
    m.protected_ = true;
    if (Status s = store_.save_meta(m); !s.is_ok()) return s;
    // No state at all but a peer: this may be a former active region whose data directory was
    // wiped and the peer took over meanwhile. It must not take writes at epoch 1 before the
    // peer answered (a peer that is a fresh standby confirms it at once).
    if (m.active && !options_.peer_address.empty() && options_.fence_check_timeout.count() > 0) {
      confirmation = model::RegionRole::Confirmation::kUnconfirmed;
    }
  }
  protected_ = m.protected_;
  role_ = std::make_unique<model::RegionRole>(
      options_.name, options_.peer_name, m.active ? model::Role::kActive : model::Role::kStandby,
      Epoch(m.epoch), confirmation);

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
  struct Ticker {
    static void arm(RegionNode* n) {
      n->scheduler_.schedule_after(kSyncTimeoutTick, [n] {
        if (n->stopped_) return;
        n->check_sync_timeouts();
        arm(n);
      });
    }
  };
  Ticker::arm(this);
  maybe_connect();
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
    spdlog::critical("cannot persist region role: {}", s.to_string());
    std::abort();  // the role must be durable before it is acted on
  }
}

// ---------------------------------------------------------------- writes

Status RegionNode::validate_op(const drsim::v1::WriteOp& op, Workload** w) {
  const std::string* workload = nullptr;
  const std::string* key = nullptr;
  size_t value_bytes = 0;
  if (op.has_put()) {
    workload = &op.put().workload();
    key = &op.put().key();
    value_bytes = op.put().value().size();
  } else if (op.has_delete_()) {
    workload = &op.delete_().workload();
    key = &op.delete_().key();
  } else {
    return invalid_argument("op: neither put nor delete");
  }
  *w = find(*workload);
  if (*w == nullptr) {
    return not_found("workload '" + *workload + "' is not hosted by region " + options_.name);
  }
  if (Status s = check_held(*workload); !s.is_ok()) return s;
  if (write_gate_) {
    if (Status s = write_gate_(*workload); !s.is_ok()) return s;
  }
  if (key->empty()) return invalid_argument("key: must not be empty");
  if (key->size() > options_.max_key_bytes) {
    return invalid_argument("key: " + std::to_string(key->size()) + " bytes exceeds the limit of " +
                            std::to_string(options_.max_key_bytes));
  }
  if (value_bytes > options_.max_value_bytes) {
    return invalid_argument("value: " + std::to_string(value_bytes) +
                            " bytes exceeds the limit of " +
                            std::to_string(options_.max_value_bytes));
  }
  return Status::ok();
}

Status RegionNode::admit_client_writes() const {
  if (outage_) return unavailable("region " + options_.name + " is in an injected outage");
  if (Status s = role_->admit_write(); !s.is_ok()) return s;
  if (!behind_standby_.empty()) return failed_precondition(behind_standby_);
  if (Status s = admit_lease(); !s.is_ok()) return s;
  if (handover_.pausing_writes()) {
    return failed_precondition("planned failover in progress: region " + options_.name +
                               " stopped admitting writes while it hands over to " +
                               options_.peer_name);
  }
  return Status::ok();
}

void RegionNode::write(std::vector<drsim::v1::WriteOp> ops, WriteDone done) {
  if (Status s = admit_client_writes(); !s.is_ok()) {
    done({s, Applied::kNo, {}});
    return;
  }
  if (ops.empty()) {
    done({invalid_argument("ops: a batch needs at least one op"), Applied::kNo, {}});
    return;
  }
  std::vector<Workload*> targets(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (Status s = validate_op(ops[i], &targets[i]); !s.is_ok()) {
      done({Status(s.code(), "ops[" + std::to_string(i) + "]: " + s.message()), Applied::kNo, {}});
      return;
    }
  }
  auto pending = std::make_shared<PendingWrite>();
  pending->done = std::move(done);
  pending->started = scheduler_.now();
  pending->results.resize(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    queued_.push_back({std::move(ops[i]), targets[i], pending});
  }
  // Group commit: everything posted before the flush runs shares one
  // durable WriteBatch.
  if (!flush_posted_) {
    flush_posted_ = true;
    scheduler_.post([this] { flush_writes(); });
  }
}

void RegionNode::flush_writes() {
  flush_posted_ = false;
  if (queued_.empty()) return;
  std::vector<QueuedOp> ops;
  ops.swap(queued_);
  // State may have changed since the writes were admitted (a step-down or an
  // outage posted in between): re-check before anything becomes durable.
  // The lease is checked here, on the loop, right before the writes are applied and the async
  // ones acknowledged: a region frozen past its lease refuses what queued up meanwhile.
  Status admit = admit_client_writes();
  // A full disk refuses the group commit before any seq is handed out (RESOURCE_EXHAUSTED
  // "disk full: …"): the region stays up and serves again once there is room.
  if (admit.is_ok()) admit = store_.check_room(bytes_to_store(ops));
  if (!admit.is_ok()) {
    refuse_writes(ops, admit);
    return;
  }
  Time now = scheduler_.now();
  int64_t wall = clock_.wall_unix_nanos();
  Epoch epoch = role_->epoch();
  std::vector<Change> changes;
  changes.reserve(ops.size());
  for (auto& q : ops) {
    Change c;
    c.set_workload(q.workload->spec.name);
    c.set_epoch(epoch.value());
    c.set_seq(q.workload->source.assign(now).value());
    send_queue_.mark(q.workload->index);
    c.set_written_unix_nanos(wall);
    if (q.op.has_put()) {
      c.set_op(drsim::v1::OP_PUT);
      c.set_key(std::move(*q.op.mutable_put()->mutable_key()));
      c.set_value(std::move(*q.op.mutable_put()->mutable_value()));
    } else {
      c.set_op(drsim::v1::OP_DELETE);
      c.set_key(std::move(*q.op.mutable_delete_()->mutable_key()));
    }
    changes.push_back(std::move(c));
  }
  std::vector<const Change*> ptrs;
  ptrs.reserve(changes.size());
  for (const auto& c : changes) ptrs.push_back(&c);
  Time apply_start = scheduler_.now();
  if (Status s = store_.apply(ptrs); !s.is_ok()) {
    if (s.code() != StatusCode::kResourceExhausted) {
      // Nothing is known of what the store holds: fail-stop.
      spdlog::critical("durable write failed: {}", s.to_string());
      std::abort();
    }
    // The disk filled after the check: RocksDB refused the whole batch, so nothing of it is
    // durable and nothing was sent (pump runs after this). The seqs go back for the next commit,
    // newest first: each change's seq is its workload's newest when its turn comes.
    for (size_t i = changes.size(); i-- > 0;) {
      ops[i].workload->source.take_back(Seq(changes[i].seq() - 1));
    }
    refuse_writes(ops, s);
    return;
  }
  if (auto took = scheduler_.now() - apply_start; took > std::chrono::milliseconds(20)) {
    spdlog::warn("slow durable write of {} client changes: {:.1f} ms", ptrs.size(), to_ms(took));
  }

  // Sync writes wait for the standby only while protected: unprotected (failed over) or
  // re-protecting, the standby is not yet a copy worth waiting for.
  bool sync_replication = protected_ && replicating() && !options_.unsafe_ack_before_standby;
  bool streaming = replicating();
  // Per workload: the newest seq each sync-mode write waits for, in seq order.
  std::map<Workload*, std::vector<SyncWaiter>> waits;
  std::map<PendingWrite*, size_t> next_index;
  for (size_t i = 0; i < ops.size(); ++i) {
    auto& q = ops[i];
    Workload* w = q.workload;
    const Change& c = changes[i];
    w->last_epoch = epoch;
    auto& r = q.write->results[next_index[q.write.get()]++];
    r.set_region(options_.name);
    r.set_epoch(epoch.value());
    r.set_seq(c.seq());
    if (sync_replication && w->spec.mode == ReplicationMode::kSync) {
      auto& list = waits[w];
      if (!list.empty() && list.back().write == q.write) {
        list.back().seq = Seq(c.seq());
      } else {
        list.push_back({Seq(c.seq()), q.write});
      }
    }
    // The send cache holds a contiguous run of recent seqs; with nobody to send to (failed
    // over, unprotected) it stays empty and a later resync reads the log.
    if (!streaming) {
      w->recent.clear();
      continue;
    }
    if (w->recent.empty()) w->recent_first = Seq(c.seq());
    w->recent.push_back(std::move(changes[i]));  // c is not used after this
    if (w->recent.size() > kMaxRecentChanges) {
      w->recent.pop_front();
      w->recent_first = w->recent_first.next();
    }
  }
  for (auto& [w, list] : waits) {
    for (auto& waiter : list) {
      waiter.write->remaining++;
      w->waiters.push_back(std::move(waiter));
    }
  }
  for (auto& q : ops) {
    if (!q.write->finished && q.write->remaining == 0) {
      finish(q.write, {Status::ok(), Applied::kNo, {}});
    }
  }
  pump();
}

uint64_t RegionNode::bytes_to_store(const std::vector<QueuedOp>& ops) {
  // Each change is written twice, as data and as a log entry.
  uint64_t bytes = 0;
  for (const auto& q : ops) bytes += 2 * (q.op.ByteSizeLong() + q.workload->spec.name.size());
  return bytes;
}

void RegionNode::refuse_writes(const std::vector<QueuedOp>& ops, const Status& why) {
  if (why.code() == StatusCode::kResourceExhausted) {
    disk_full_refused_ += ops.size();
    Time now = scheduler_.now();
    if (!disk_full_logged_ || now - *disk_full_logged_ >= std::chrono::seconds(5)) {
      spdlog::warn("refused {} client change(s) since the last report: {}", disk_full_refused_,
                   why.message());
      disk_full_refused_ = 0;
      disk_full_logged_ = now;
    }
  }
  for (const auto& q : ops) finish(q.write, {why, Applied::kNo, {}});
  pump();  // a planned failover's drain may have waited for these to be refused
}

void RegionNode::finish(const std::shared_ptr<PendingWrite>& w, WriteOutcome outcome) {
  if (w->finished) return;
  w->finished = true;
  if (outcome.status.is_ok()) outcome.results = std::move(w->results);
  w->done(std::move(outcome));
}

void RegionNode::fail_waiters(const Status& why, Applied applied) {
  for (auto* w : order_) {
    for (auto& waiter : w->waiters) finish(waiter.write, {why, applied, {}});
    w->waiters.clear();
  }
}

void RegionNode::check_sync_timeouts() {
  Time now = scheduler_.now();
  for (auto* w : order_) {
    while (!w->waiters.empty() &&
           now - w->waiters.front().write->started >= options_.sync_ack_timeout) {
      finish(w->waiters.front().write,
             {Status(StatusCode::kAborted, "written in region " + options_.name +
                                               " but the standby did not "
                                               "acknowledge it within " +
                                               std::to_string(options_.sync_ack_timeout.count()) +
                                               " ms; outcome unknown"),
              Applied::kUnknown,
              {}});
      w->waiters.pop_front();
    }
  }
}

Status RegionNode::get(const drsim::v1::GetRequest& req, drsim::v1::GetResponse* resp) {
  if (outage_) return unavailable("region " + options_.name + " is in an injected outage");
  Workload* w = find(req.workload());
  if (w == nullptr) {
    return not_found("workload '" + req.workload() + "' is not hosted by region " + options_.name);
  }
  if (Status s = check_held(req.workload()); !s.is_ok()) return s;
  if (req.key().empty()) return invalid_argument("key: must not be empty");
  auto v = store_.get(req.workload(), req.key());
  if (!v.is_ok()) return v.status();
  resp->set_found(v->has_value());
  if (v->has_value()) resp->set_value(**v);
  resp->set_region(options_.name);
  resp->set_epoch(role_->epoch().value());
  return Status::ok();
}

Status RegionNode::scan(const drsim::v1::ScanRequest& req, drsim::v1::ScanResponse* resp) {
  if (outage_) return unavailable("region " + options_.name + " is in an injected outage");
  if (find(req.workload()) == nullptr) {
    return not_found("workload '" + req.workload() + "' is not hosted by region " + options_.name);
  }
  if (Status s = check_held(req.workload()); !s.is_ok()) return s;
  size_t limit = req.limit() == 0 ? 1000 : std::min<uint32_t>(req.limit(), 10000);
  auto page = store_.scan(req.workload(), req.start_key(), limit);
  if (!page.is_ok()) return page.status();
  for (auto& [k, v] : page->items) {
    auto* item = resp->add_items();
    item->set_key(k);
    item->set_value(v);
  }
  resp->set_next_key(page->next_key);
  resp->set_region(options_.name);
  return Status::ok();
}

// ---------------------------------------------------------------- admin

void RegionNode::status(bool reset_lag_stats, drsim::v1::GetStatusResponse* out) {
  Time now = scheduler_.now();
  out->set_region(options_.name);
  out->set_role(to_proto(role_->role()));
  out->set_epoch(role_->epoch().value());
  out->set_outage(outage_);
  out->set_active_region(role_->active_region());
  out->set_peer_address(options_.peer_address);
  out->set_replication_connected(link_ != nullptr && link_welcomed_);
  out->set_pid(::getpid());
  std::string note = role_->fenced_reason();
  if (!diverged_.empty()) note += (note.empty() ? "" : "; ") + diverged_;
  auto add_note = [&note](const std::string& what) { note += (note.empty() ? "" : "; ") + what; };
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
    note += std::string(note.empty() ? "" : "; ") + "unconfirmed: checking the peer's epoch";
  } else if (!link_error_.empty() && replicating() && !link_welcomed_) {
    note += std::string(note.empty() ? "" : "; ") + "replication: " + link_error_;
  }
  if (role_->role() == model::Role::kActive && !role_->confirmed() && !fence_note_.empty()) {
    add_note(fence_note_);
  }
  fill_lease_status(out);
  if (out->lease().state() == "lost") add_note("lease lost: " + out->lease().reason());
  out->set_fenced_reason(note);
  out->set_now_unix_nanos(clock_.wall_unix_nanos());
  out->set_clock_offset_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.offset()).count());
  out->set_replication_refusals(refusals_);
  out->set_replication_reconnects(connects_ > 0 ? connects_ - 1 : 0);
  if (role_->role() == model::Role::kActive) {
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
  } else {
    out->set_protection(incoming_.running() ? drsim::v1::REGION_PROTECTION_RESYNCING
                                            : drsim::v1::REGION_PROTECTION_NOT_APPLICABLE);
    if (incoming_.started()) {
      fill_resync_stats(incoming_, incoming_started_wall_, out->mutable_resync());
    }
    if (planned_) out->set_planned_failover("waiting for " + options_.peer_name + " to drain");
  }
  for (auto* w : order_) {
    auto* ws = out->add_workloads();
    ws->set_name(w->spec.name);
    ws->set_mode(w->spec.mode == ReplicationMode::kSync ? drsim::v1::MODE_SYNC
                                                        : drsim::v1::MODE_ASYNC);
    bool active = role_->role() == model::Role::kActive;
    ws->set_last_seq(active ? w->source.last_written().value() : w->sink.applied().value());
    ws->set_last_epoch(w->last_epoch.value());
    // Lag is only meaningful while this region replicates to a standby;
    // unprotected (failed over, not re-protected) it has none to lag behind.
    if (active && replicating()) {
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
}

std::vector<RegionNode::WriteToAck> RegionNode::write_to_ack() const {
  std::vector<WriteToAck> out;
  if (role_->role() != model::Role::kActive || !replicating()) return out;
  for (const auto* w : order_) out.push_back({&w->spec, &w->source.lag_histogram()});
  return out;
}

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
  if (role_->confirmed()) return done(std::move(promoted));
  fence_waiters_.push_back({std::move(promoted), std::move(reason), std::move(done)});
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
    w.done(std::move(w.response));
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
  // not replicating here). This region serves once the peer stepped down or proved unreachable
  // (fence_peer). A planned failover needs no fence: the peer handed over and admits nothing.
  const bool fence = !planned && options_.peer_fence_timeout.count() > 0 &&
                     !options_.peer_address.empty();
  if (fence) role_->unconfirm();
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
    auto* r = resp.add_recovered();
    r->set_workload(w->spec.name);
    r->set_seq(w->sink.applied().value());
    r->set_epoch(w->sink.applied_epoch().value());
  }
  resp.set_message("region " + options_.name + " promoted to active at epoch " +
                   std::to_string(role_->epoch().value()) + " (" + reason + ")" +
                   (fence ? "; it serves once " + options_.peer_name +
                                " has stepped down (or has not answered within " +
                                std::to_string(options_.peer_fence_timeout.count()) + " ms)"
                          : ""));
  if (fence) fence_peer();
  if (protect) maybe_connect();
  return resp;
}

void RegionNode::fence_peer() {
  if (stopped_ || role_->role() != model::Role::kActive || role_->confirmed()) return;
  cancel_timer(confirmation_timer_);  // a restart's confirmation timeout must not confirm this
  drsim::v1::FenceRequest req;
  req.set_region(options_.name);
  req.set_epoch(role_->epoch().value());
  const uint64_t generation = ++fence_generation_;
  fence_note_ = "promoted at epoch " + std::to_string(role_->epoch().value()) +
                ": not serving until " + options_.peer_name + " has stepped down";
  spdlog::info("fencing {}: telling it epoch {} before serving", options_.peer_name,
               role_->epoch().value());
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
  if (stopped_ || role_->role() != model::Role::kActive || role_->confirmed()) return;
  const std::string ours = std::to_string(role_->epoch().value());
  std::string how;
  if (status.is_ok() && !reply.active()) {
    how = options_.peer_name + " answered the fence: " + reply.message();
    spdlog::info("{}; serving as active at epoch {}", how, ours);
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
    spdlog::warn("{}; serving as active at epoch {}", how, ours);
  } else {
    // The peer answered but did not step down (it refused the fence, or it is active at our
    // epoch): serving now could make two actives. Stay unconfirmed and ask again.
    fence_note_ = "promoted at epoch " + ours + ": not serving, " + options_.peer_name +
                  " did not step down: " +
                  (status.is_ok() ? reply.message()
                                  : std::string(status_code_name(status.code())) + ": " +
                                        status.message());
    spdlog::error("{}; asking again in {} ms", fence_note_, options_.reconnect_backoff.count());
    answer_fence_waiters(failed_precondition(fence_note_ + " (asking again every " +
                                             std::to_string(options_.reconnect_backoff.count()) +
                                             " ms)"),
                         "");
    scheduler_.schedule_after(options_.reconnect_backoff, [this] { fence_peer(); });
    return;
  }
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
  for (auto* w : order_) {
    auto* c = h->add_last_written();
    c->set_workload(w->spec.name);
    c->set_seq(w->source.last_written().value());
    c->set_epoch(w->last_epoch.value());
  }
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
  Time now = scheduler_.now();
  if (reply.has_welcome()) {
    const auto& welcome = reply.welcome();
    if (handover_.phase() == model::HandoverPhase::kHandedOver) {
      // A new stream welcomed at our epoch: the standby did not promote itself on the handover
      // of the previous stream (and now never will: that stream is superseded). Resume.
      spdlog::warn("planned failover: {} answered a new stream as standby; resuming writes",
                   options_.peer_name);
      handover_.abort();
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
      // Like Raft's prevLogTerm: the standby's newest entry must be ours too.
      if (cursor.seq() > 0 && cursor.seq() <= w->source.last_written().value()) {
        auto ours = store_.log_epoch(w->spec.name, Seq(cursor.seq()));
        if (ours.is_ok() && ours->value() != cursor.epoch()) {
          diverged_ = "histories diverged for " + w->spec.name + " at seq " +
                      std::to_string(cursor.seq()) + " (standby epoch " +
                      std::to_string(cursor.epoch()) + ", ours " + std::to_string(ours->value()) +
                      "): re-protect needed";
          spdlog::error("{}", diverged_);
          drop_link(diverged_);
          return;
        }
      }
      const Seq last = w->source.last_written();
      // Without a mark this region vouches for its whole log; with one, only up to the mark
      // (a mark is never beyond the newest write).
      if (cursor.seq() > w->unverified_after.value_or(last).value()) {
        // The standby made durable what this region no longer has: acknowledged writes this
        // region lost (its host crashed without --fsync; an older data dir was put back).
        // Serving on would hand out their seqs again and a re-protect from here would erase
        // them on the standby: stop, and let the operator fail over to the region that has them.
        // With a mark, the standby's entries after it cannot be this region's (nothing after it
        // was sent before this welcome): the same (epoch, seq) on both sides are other writes.
        const std::string held = "the standby " + options_.peer_name + " holds " +
                                 w->spec.name + " up to seq " + std::to_string(cursor.seq()) +
                                 " (epoch " + std::to_string(cursor.epoch()) + ") and region " +
                                 options_.name;
        behind_standby_ =
            cursor.seq() > last.value()
                ? held + " only up to seq " + std::to_string(last.value()) +
                      ": it lost acknowledged writes; fail over to " + options_.peer_name +
                      " (drsim failover), which has them, then re-protect"
                : held + " restarted at seq " + std::to_string(w->unverified_after->value()) +
                      " and, not hearing from " + options_.peer_name + ", wrote seq " +
                      std::to_string(w->unverified_after->value() + 1) + ".." +
                      std::to_string(last.value()) +
                      " under the same seqs: it lost acknowledged writes, and the writes it made "
                      "since are not on " + options_.peer_name + "; fail over to " +
                      options_.peer_name + " (drsim failover), which has the lost ones, then "
                      "re-protect (it rolls back what " + options_.name + " wrote after seq " +
                      std::to_string(w->unverified_after->value()) + ")";
        spdlog::error("refusing writes: {}", behind_standby_);
        fail_waiters(failed_precondition(behind_standby_), Applied::kUnknown);
        diverged_ = behind_standby_;  // replication stops with it
        update_health();
        drop_link(diverged_);
        return;
      }
      if (Status s = w->source.on_connected(Seq(cursor.seq()), now); !s.is_ok()) {
        diverged_ = w->spec.name + ": " + s.message();
        spdlog::error("{}", diverged_);
        drop_link(diverged_);
        return;
      }
    }
    link_welcomed_ = true;
    link_error_.clear();
    clear_unverified();  // the standby holds nothing after any mark: this region lost nothing
    if (resync_.running()) {
      resync_welcomed_ = true;
      answer_reprotect(true);
    }
    if (!role_->confirmed()) {
      spdlog::info("peer {} confirms epoch {}: serving", options_.peer_name,
                   role_->epoch().value());
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
    return;
  }
  if (reply.has_lease_grant()) {
    const auto& g = reply.lease_grant();
    if (g.granted()) {
      on_lease_granted(g.request_id(), Epoch(g.epoch()));
    } else {
      on_lease_refused(Epoch(g.highest_epoch()), options_.peer_name, g.reason());
    }
    return;
  }
  if (reply.has_ack()) {
    check_lease();  // an expired lease fails the waiting writes instead of acknowledging them
    for (const auto& cursor : reply.ack().durable()) {
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
    return;
  }
  if (reply.has_handover_request()) {
    on_handover_request(reply.handover_request());
    return;
  }
  if (reply.has_handover_refused()) {
    if (handover_.pausing_writes()) {
      spdlog::warn("planned failover refused by {}: {}; resuming writes", options_.peer_name,
                   reply.handover_refused().message());
      handover_.abort();
    }
    return;
  }
  if (reply.has_reject()) {
    const auto& r = reply.reject();
    ++refusals_;
    link_error_ = r.message();
    spdlog::warn("replication refused by {}: {}", options_.peer_name, r.message());
    auto peer_role =
        r.active_region() == options_.peer_name ? model::Role::kActive : model::Role::kStandby;
    if (handover_.phase() == model::HandoverPhase::kHandedOver &&
        peer_role == model::Role::kActive && Epoch(r.current_epoch()) > role_->epoch()) {
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
}

// The caller runs check_lease() first, once per reply (it may fail every waiting write, an
// O(workloads) walk: once per workload it was O(workloads²), minutes with 100,000 workloads).
void RegionNode::on_standby_durable(Workload& w) {
  Seq acked = w.source.acked();
  while (!w.recent.empty() && Seq(w.recent.front().seq()) <= acked) {
    w.recent.pop_front();
    w.recent_first = w.recent_first.next();
  }
  while (!w.waiters.empty() && w.waiters.front().seq <= acked) {
    auto pw = w.waiters.front().write;
    w.waiters.pop_front();
    if (--pw->remaining == 0) finish(pw, {Status::ok(), Applied::kNo, {}});
  }
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
    handover_.abort();
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
  if (control_frame_) {
    ReplicationFrame frame = std::move(*control_frame_);
    control_frame_.reset();
    link_->send(std::move(frame));
    return;
  }
  if (lease_frame_) {
    ReplicationFrame frame = std::move(*lease_frame_);
    lease_frame_.reset();
    link_->send(std::move(frame));
    return;
  }
  if (handover_.phase() == model::HandoverPhase::kHandedOver) return;
  if (handover_.phase() == model::HandoverPhase::kDraining) {
    uint64_t unacked = 0;
    for (auto* w : order_) unacked += w->source.lag_writes();
    if (handover_.ready(true, unacked, queued_.size())) {
      // Every write this region admitted is durable on the standby, and it admits no more.
      ReplicationFrame frame;
      auto* h = frame.mutable_handover();
      for (auto* w : order_) {
        auto* c = h->add_through();
        c->set_workload(w->spec.name);
        c->set_seq(w->source.last_written().value());
        c->set_epoch(w->last_epoch.value());
      }
      h->set_writes_paused_unix_nanos(handover_paused_wall_);
      handover_.on_handed_over(scheduler_.now());
      spdlog::info("planned failover: drained in {:.1f} ms; handing over to {}",
                   to_ms(handover_.paused(scheduler_.now())), options_.peer_name);
      link_->send(std::move(frame));
      return;
    }
  }
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
  size_t budget = options_.max_batch_changes;
  size_t bytes = 0;
  // Each marked workload at most once per frame (as many as were marked when it started);
  // one with writes left over is marked again, behind the others.
  for (size_t n = 0, marked = send_queue_.size(); n < marked && budget > 0 && bytes < kMaxFrameBytes;
       ++n) {
    Workload& w = *order_[*send_queue_.take()];
    auto range = w.source.next_range(budget, options_.max_unacked_changes);
    if (!range) continue;  // nothing unsent, or its window is full: an ack marks it again
    int before = batch->changes_size();
    size_t bytes_before = bytes;
    if (Status s = collect(w, *range, batch, &bytes); !s.is_ok()) {
      spdlog::error("cannot send {} seq {}..{}: {}", w.spec.name, range->first.value(),
                    range->last.value(), s.to_string());
      // Re-protecting, the next hello offers the log as it is now and the standby re-plans
      // (a full copy when the entries it needs are gone); protected, replication stops.
      if (!resync_.running()) diverged_ = s.message();
      drop_link(s.message());
      return;
    }
    int added = batch->changes_size() - before;
    if (added == 0) {
      send_queue_.mark(w.index);  // nothing read this time: look again at the next pump
      if (bytes > 0) break;       // the frame is full (model::frame_takes)
      continue;
    }
    for (int i = before; i < batch->changes_size(); ++i) {
      if (batch->changes(i).seq() != range->first.value() + (i - before)) {
        spdlog::critical(
            "BUG collect {}: range {}..{} recent_first {} recent size {} front {} "
            "got seq {} at {}",
            w.spec.name, range->first.value(), range->last.value(), w.recent_first.value(),
            w.recent.size(), w.recent.empty() ? 0 : w.recent.front().seq(), batch->changes(i).seq(),
            i - before);
        std::abort();
      }
    }
    w.source.on_sent({range->first, Seq(range->first.value() + added - 1)});
    if (w.source.sent() < w.source.last_written()) send_queue_.mark(w.index);
    budget -= static_cast<size_t>(added);
    size_t workload_bytes = bytes - bytes_before;
    if (resync_.running()) {
      resync_.on_changes(w.spec.name, static_cast<uint64_t>(added), workload_bytes);
    }
    if (static_cast<uint64_t>(added) < range->count()) break;  // cut short: the frame is full
  }
  if (batch->changes_size() == 0) return;
  link_->send(std::move(frame));
}

// ---------------------------------------------------------------- sink side

drsim::v1::Welcome RegionNode::welcome() const {
  drsim::v1::Welcome w;
  w.set_region(options_.name);
  w.set_epoch(role_->epoch().value());
  for (auto* wl : order_) {
    auto* c = w.add_durable();
    c->set_workload(wl->spec.name);
    c->set_seq(wl->sink.applied().value());
    c->set_epoch(wl->sink.applied_epoch().value());
  }
  return w;
}

void RegionNode::sink_reject(SinkLink* stream, const Status& why) {
  ReplicationReply reply;
  auto* r = reply.mutable_reject();
  r->set_code(static_cast<int>(why.code()));
  r->set_message(why.message());
  r->set_current_epoch(role_->epoch().value());
  r->set_active_region(role_->active_region());
  stream->send(std::move(reply));
  stream->close(why);
  if (sink_ == stream) sink_ = nullptr;
}

void RegionNode::on_sink_frame(SinkLink* stream, const ReplicationFrame& frame) {
  if (outage_) {
    stream->close(unavailable("region " + options_.name + " is in an injected outage"));
    return;
  }
  if (frame.has_hello()) {
    sink_hello(stream, frame.hello());
  } else if (frame.has_batch()) {
    if (stream != sink_) {
      sink_reject(stream, failed_precondition("batch before hello, or stream superseded"));
      return;
    }
    sink_batch(stream, frame.batch());
  } else if (frame.has_snapshot()) {
    if (stream != sink_) {
      sink_reject(stream, failed_precondition("snapshot before hello, or stream superseded"));
      return;
    }
    sink_snapshot(stream, frame.snapshot());
  } else if (frame.has_lease_request()) {
    if (stream != sink_) {
      sink_reject(stream, failed_precondition("lease request before hello, or stream superseded"));
      return;
    }
    sink_lease_request(stream, frame.lease_request());
  } else if (frame.has_handover()) {
    if (stream != sink_) {
      // A superseded stream's handover: never promote on it (the source already gave it up).
      sink_reject(stream, failed_precondition("handover on a superseded stream"));
      return;
    }
    sink_handover(stream, frame.handover());
  } else {
    sink_reject(stream, invalid_argument("replication frame has no body"));
  }
}

void RegionNode::sink_hello(SinkLink* stream, const drsim::v1::Hello& hello) {
  if (Status s = validate_workload_name("hello.region", hello.region()); !s.is_ok()) {
    sink_reject(stream, s);
    return;
  }
  // An epoch more than one past the highest seen is forged or corrupt: refused before it moves
  // anything (highest seen, role), so it can neither stop replication nor make a failover wrap.
  if (Status s = role_->check_peer_claim(hello.region(), Epoch(hello.epoch())); !s.is_ok()) {
    spdlog::warn("refused replication from {}: {}", hello.region(), s.message());
    sink_reject(stream, s);
    return;
  }
  if (role_->role() == model::Role::kActive && hello.region() == options_.peer_name &&
      Epoch(hello.epoch()) > role_->epoch()) {
    // Only an active region sends a hello: the peer is active at a newer epoch, so this region
    // was failed over (or handed over) and missed the news. Step down, then take its stream.
    on_peer_active(Epoch(hello.epoch()));
  }
  if (Status s = role_->admit_source(hello.region(), Epoch(hello.epoch())); !s.is_ok()) {
    spdlog::warn("refused replication from {}: {}", hello.region(), s.message());
    sink_reject(stream, s);
    return;
  }
  if (!hello.has_resync()) {
    for (auto* w : order_) {
      if (w->unverified_after && w->sink.applied() > *w->unverified_after) {
        // Its entries after the mark may be a branch the peer's log matches by (epoch, seq)
        // only: a plain stream would build on them. A re-protect plans around them.
        Status s = failed_precondition(
            "region " + options_.name + " wrote " + w->spec.name + " seq " +
            std::to_string(w->unverified_after->value() + 1) + ".." +
            std::to_string(w->sink.applied().value()) + " without hearing from " +
            hello.region() + ": re-protect needed (drsim reprotect)");
        spdlog::warn("refused replication from {}: {}", hello.region(), s.message());
        sink_reject(stream, s);
        return;
      }
    }
  }
  if (sink_ && sink_ != stream) {
    sink_->close(Status(StatusCode::kAborted, "superseded by a newer replication stream"));
  }
  if (planned_ && planned_->stream != stream) {
    finish_planned(unavailable("the replication stream from " + options_.peer_name +
                               " was replaced during the planned failover; nothing changed"));
  }
  sink_ = stream;
  sink_source_ = hello.region();
  update_health();  // the epoch admit_source may have raised is in every health answer
  std::vector<drsim::v1::ResyncDecision> decisions;
  if (hello.has_resync()) {
    if (Status s = plan_incoming_resync(hello.resync(), &decisions); !s.is_ok()) {
      spdlog::warn("refused re-protect from {}: {}", hello.region(), s.message());
      sink_reject(stream, s);
      return;
    }
  }
  ReplicationReply reply;
  *reply.mutable_welcome() = welcome();
  for (auto& d : decisions) *reply.mutable_welcome()->add_resync() = std::move(d);
  if (incoming_.running()) incoming_.on_bytes(hello.ByteSizeLong());
  stream->send(std::move(reply));
  spdlog::info("accepted {}replication stream from {} at epoch {}",
               hello.has_resync() ? "re-protect " : "", hello.region(), hello.epoch());
}

void RegionNode::sink_batch(SinkLink* stream, const drsim::v1::ChangeBatch& batch) {
  if (Status room = store_.check_room(batch.ByteSizeLong()); !room.is_ok()) {
    refuse_undurable(stream, batch.changes_size(), room);
    return;
  }
  std::vector<model::IncomingChange> incoming;
  incoming.reserve(batch.changes_size());
  // What admission advances before the changes are durable, restored if they cannot be made so.
  struct Before {
    Workload* w;
    model::ReplicationSink sink;
    Epoch last_epoch;
  };
  std::vector<Before> before;
  for (const Change& c : batch.changes()) {
    Workload* w = find(c.workload());
    if (w != nullptr && std::none_of(before.begin(), before.end(),
                                     [w](const Before& b) { return b.w == w; })) {
      before.push_back({w, w->sink, w->last_epoch});
    }
    bool well_formed =
        !c.key().empty() && (c.op() == drsim::v1::OP_PUT || c.op() == drsim::v1::OP_DELETE);
    incoming.push_back(
        {c.workload(), w != nullptr ? &w->sink : nullptr, Epoch(c.epoch()), Seq(c.seq()),
         well_formed ? model::ChangeShape::kWellFormed : model::ChangeShape::kMalformed});
  }
  model::BatchAdmission admitted =
      model::admit_change_batch(Epoch(batch.epoch()), role_->epoch(), incoming);
  if (admitted.scope == model::BatchRefusal::kWholeBatch) {
    sink_reject(stream, admitted.refusal);
    return;
  }
  std::vector<const Change*> apply;
  apply.reserve(admitted.apply.size());
  std::vector<Workload*> touched;
  for (size_t i : admitted.apply) {
    const Change& c = batch.changes(static_cast<int>(i));
    Workload* w = find(c.workload());
    w->last_epoch = Epoch(c.epoch());
    apply.push_back(&c);
    if (std::find(touched.begin(), touched.end(), w) == touched.end()) touched.push_back(w);
  }
  const Status& refusal = admitted.refusal;
  Time apply_start = scheduler_.now();
  if (Status s = store_.apply(apply); !s.is_ok()) {
    // Disk full: none of the batch is durable. Refuse it (a NACK) instead of stopping: the
    // source keeps it, reconnects and sends it again from what this region acknowledged, and
    // sync writes wait for it (or fail as indeterminate) meanwhile.
    for (const auto& b : before) {
      b.w->sink = b.sink;
      b.w->last_epoch = b.last_epoch;
    }
    refuse_undurable(stream, static_cast<int>(apply.size()), s);
    return;
  }
  if (auto took = scheduler_.now() - apply_start; took > std::chrono::milliseconds(20)) {
    spdlog::warn("slow durable apply of {} replicated changes: {:.1f} ms", apply.size(),
                 to_ms(took));
  }
  if (incoming_.running()) {
    for (auto* w : touched) {
      uint64_t n = 0;
      uint64_t bytes = 0;
      for (const auto* c : apply) {
        if (c->workload() == w->spec.name) {
          ++n;
          bytes += c->ByteSizeLong();
        }
      }
      incoming_.on_changes(w->spec.name, n, bytes);
      incoming_.on_reached(w->spec.name, w->sink.applied());
    }
  }
  // Ack what is durable now (also on refusal, so the source resumes right): the cursors of the
  // workloads this batch named, the only ones it can have moved.
  std::vector<Workload*> named;
  named.reserve(admitted.acknowledge.size());
  for (size_t i : admitted.acknowledge) {
    named.push_back(find(batch.changes(static_cast<int>(i)).workload()));
  }
  send_ack(stream, named);
  check_incoming_done();
  if (!refusal.is_ok()) {
    spdlog::warn("replication batch refused: {}", refusal.to_string());
    sink_reject(stream, refusal);
  }
}

void RegionNode::refuse_undurable(SinkLink* stream, int changes, const Status& why) {
  if (why.code() != StatusCode::kResourceExhausted) {
    spdlog::critical("durable apply failed: {}", why.to_string());
    std::abort();  // fail-stop: what the store holds is not known
  }
  spdlog::error("cannot make {} replicated changes durable, refusing them: {}", changes,
                why.message());
  sink_reject(stream, Status(StatusCode::kResourceExhausted,
                             "region " + options_.name + " cannot make " +
                                 std::to_string(changes) + " changes durable: " + why.message()));
}

void RegionNode::send_ack(SinkLink* stream, const std::vector<Workload*>& named) {
  ReplicationReply reply;
  auto* ack = reply.mutable_ack();
  for (auto* w : named) {
    auto* c = ack->add_durable();
    c->set_workload(w->spec.name);
    c->set_seq(w->sink.applied().value());
    c->set_epoch(w->sink.applied_epoch().value());
  }
  stream->send(std::move(reply));
}

void RegionNode::on_sink_closed(SinkLink* stream) {
  if (sink_ == stream) {
    sink_ = nullptr;
    spdlog::info("replication stream from {} closed", sink_source_);
  }
  if (planned_ && planned_->stream == stream) {
    finish_planned(unavailable("the replication stream from " + options_.peer_name +
                               " closed during the planned failover; nothing changed"));
  }
  stream->close(Status(StatusCode::kCancelled, "stream closed by the source"));
}

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

Status RegionNode::plan_incoming_resync(const drsim::v1::ResyncOffer& offer,
                                        std::vector<drsim::v1::ResyncDecision>* decisions) {
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
    const model::LogSummary& theirs = peer.at(w->spec.name);
    storage::WorkloadCursor cursor{w->sink.applied(), w->sink.applied_epoch()};
    auto ours = store_.log_summary(w->spec.name, cursor, kMaxEpochSpans);
    model::LogSummary local = ours.is_ok() ? *ours : cursor_only(cursor.seq, cursor.epoch);
    model::ResyncPlan plan =
        model::plan_resync(local, theirs, w->copy_incomplete, w->unverified_after);
    uint64_t restored = 0;
    if (plan.kind == model::ResyncKind::kDelta && plan.rollback_entries > 0) {
      auto restores = rollback_restores(*w, plan.common, local);
      if (!restores.is_ok()) {
        plan.kind = model::ResyncKind::kFull;
        plan.reason = "cannot roll back to seq " + std::to_string(plan.common.value()) + ": " +
                      restores.status().message();
      } else {
        Status s = store_.roll_back(w->spec.name, {plan.common, plan.common_epoch}, *restores);
        if (s.code() == StatusCode::kResourceExhausted) return s;  // nothing of it is written
        if (!s.is_ok()) {
          spdlog::critical("roll back of {} failed: {}", w->spec.name, s.to_string());
          std::abort();  // memory and disk would disagree
        }
        restored = restores->size();
        spdlog::info(
            "re-protect {}: rolled back seq {}..{} that {} never had, to seq {} (epoch {}); {} "
            "key(s) put back",
            w->spec.name, plan.common.value() + 1, cursor.seq.value(), options_.peer_name,
            plan.common.value(), plan.common_epoch.value(), restored);
        w->sink = model::ReplicationSink(plan.common, plan.common_epoch);
        w->source = model::ReplicationSource(plan.common);
        w->last_epoch = plan.common_epoch;
        w->unverified_after.reset();  // roll_back cleared the mark with the entries after it
      }
    }
    if (plan.kind == model::ResyncKind::kFull) {
      if (Status s = store_.begin_full_copy(w->spec.name); !s.is_ok()) {
        if (s.code() == StatusCode::kResourceExhausted) return s;  // nothing of it is written
        spdlog::critical("cannot start a full copy of {}: {}", w->spec.name, s.to_string());
        std::abort();
      }
      w->copy_incomplete = true;
      w->unverified_after.reset();  // begin_full_copy cleared it
      w->sink = model::ReplicationSink();
      w->source = model::ReplicationSource();
      w->last_epoch = Epoch(0);
      spdlog::info("re-protect {}: full copy from {} ({})", w->spec.name, options_.peer_name,
                   plan.reason);
    }
    incoming_.on_planned(w->spec.name, plan, theirs.last, restored);
    drsim::v1::ResyncDecision d;
    d.set_workload(w->spec.name);
    d.set_kind(to_proto(plan.kind));
    d.set_common_seq(plan.common.value());
    d.set_common_epoch(plan.common_epoch.value());
    d.set_rolled_back_entries(plan.kind == model::ResyncKind::kDelta ? plan.rollback_entries : 0);
    d.set_restored_keys(restored);
    d.set_reason(plan.reason);
    decisions->push_back(std::move(d));
  }
  return Status::ok();
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

// ---------------------------------------------------------------- planned failover

void RegionNode::planned_failover(const std::string& reason, Duration drain_timeout, bool reprotect,
                                  PlannedFailoverDone done) {
  if (Status s = model::check_planned_failover(facts()); !s.is_ok()) {
    done(s);
    return;
  }
  planned_ = PlannedWait{std::move(done),      sink_, reason, reprotect, scheduler_.now(),
                         ++planned_generation_};
  ReplicationReply request;
  request.mutable_handover_request()->set_reason(reason);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(drain_timeout);
  request.mutable_handover_request()->set_drain_timeout_ms(static_cast<uint32_t>(ms.count()));
  sink_->send(std::move(request));
  spdlog::info("planned failover to {} ({}): asked {} to stop writes and drain (timeout {} ms)",
               options_.name, reason, options_.peer_name, ms.count());
  uint64_t generation = planned_generation_;
  scheduler_.schedule_after(drain_timeout + kPlannedFailoverGrace, [this, generation, ms] {
    if (planned_ && planned_->generation == generation) {
      finish_planned(deadline_exceeded("the active region " + options_.peer_name +
                                       " did not hand over within " + std::to_string(ms.count()) +
                                       " ms; nothing changed"));
    }
  });
}

void RegionNode::finish_planned(const Status& why) {
  if (!planned_) return;
  PlannedWait p = std::move(*planned_);
  planned_.reset();
  spdlog::warn("planned failover failed: {}", why.to_string());
  p.done(why);
}

void RegionNode::answer_planned_when_serving(PlannedFailoverDone done,
                                             drsim::v1::PlannedFailoverResponse resp,
                                             Time started) {
  // Promoted here: answer once this region holds its first lease and so takes writes — a
  // caller that writes as soon as the failover returns must not be refused "no lease yet".
  auto d = std::make_shared<PlannedFailoverDone>(std::move(done));
  auto r = std::make_shared<drsim::v1::PlannedFailoverResponse>(std::move(resp));
  answer_when_lease_held([this, d, r, started] {
    r->set_duration_ms(to_ms(scheduler_.now() - started));
    spdlog::info("{} (writes paused {:.1f} ms, answered after {:.1f} ms)", r->message(),
                 r->writes_paused_ms(), r->duration_ms());
    (*d)(std::move(*r));
  });
}

void RegionNode::on_handover_request(const drsim::v1::HandoverRequest& req) {
  uint32_t ms = req.drain_timeout_ms();
  Status s = ms == 0 || ms > 600'000
                 ? invalid_argument("handover_request.drain_timeout_ms: " + std::to_string(ms) +
                                    " is outside 1..600000")
                 : model::check_hand_over(facts());
  if (s.is_ok()) s = handover_.begin(scheduler_.now(), std::chrono::milliseconds(ms));
  if (!s.is_ok()) {
    spdlog::warn("planned failover to {} refused: {}", options_.peer_name, s.message());
    send_handover_abort(s.message());
    return;
  }
  handover_paused_wall_ = clock_.wall_unix_nanos();
  uint64_t unacked = 0;
  for (auto* w : order_) unacked += w->source.lag_writes();
  spdlog::info("planned failover to {} ({}): writes paused; draining {} unacknowledged write(s)",
               options_.peer_name, req.reason(), unacked);
  uint64_t generation = handover_.generation();
  scheduler_.schedule_after(std::chrono::milliseconds(ms), [this, generation] {
    std::string why;
    if (handover_.generation() == generation && handover_.expire(scheduler_.now(), &why)) {
      spdlog::warn("planned failover to {}: {}", options_.peer_name, why);
      send_handover_abort(why);
    }
  });
  pump();
}

void RegionNode::send_handover_abort(const std::string& why) {
  if (link_ == nullptr || !link_welcomed_) return;  // the standby's request died with the stream
  ReplicationFrame frame;
  frame.mutable_handover()->set_aborted(why.empty() ? "aborted" : why);
  control_frame_ = std::move(frame);
  pump();
}

void RegionNode::sink_handover(SinkLink* stream, const drsim::v1::Handover& handover) {
  if (!handover.aborted().empty()) {
    if (planned_ && planned_->stream == stream) {
      finish_planned(failed_precondition("the active region " + options_.peer_name +
                                         " did not hand over: " + handover.aborted()));
    }
    return;
  }
  auto refuse = [&](const Status& why) {
    ReplicationReply reply;
    reply.mutable_handover_refused()->set_message(why.message());
    stream->send(std::move(reply));
    if (planned_) finish_planned(why);
  };
  if (!planned_ || planned_->stream != stream) {
    refuse(failed_precondition("region " + options_.name +
                               " has no planned failover pending (timed out or cancelled); "
                               "nothing changed"));
    return;
  }
  // The handover follows every batch on this stream: this region must hold exactly what the
  // source wrote, or promoting it would lose writes.
  if (handover.through_size() != static_cast<int>(order_.size())) {
    refuse(invalid_argument("handover.through: " + std::to_string(handover.through_size()) +
                            " workload(s); region " + options_.name + " hosts " +
                            std::to_string(order_.size())));
    return;
  }
  for (const auto& c : handover.through()) {
    Workload* w = find(c.workload());
    if (w == nullptr) {
      refuse(invalid_argument("handover.through: unknown workload '" + c.workload() + "'"));
      return;
    }
    if (w->sink.applied() != Seq(c.seq()) ||
        (c.seq() > 0 && w->sink.applied_epoch() != Epoch(c.epoch()))) {
      refuse(failed_precondition("region " + options_.name + " holds seq " +
                                 std::to_string(w->sink.applied().value()) + " of " + w->spec.name +
                                 " but " + options_.peer_name + " wrote up to " +
                                 std::to_string(c.seq()) + "; nothing changed"));
      return;
    }
  }
  PlannedWait p = std::move(*planned_);
  planned_.reset();
  auto promoted = promote(p.reason, true, p.reprotect);
  if (!promoted.is_ok()) {
    p.done(promoted.status());
    return;
  }
  drsim::v1::PlannedFailoverResponse resp;
  resp.set_new_epoch(promoted->new_epoch());
  resp.set_promoted_unix_nanos(promoted->promoted_unix_nanos());
  for (const auto& c : handover.through()) *resp.add_drained() = c;
  if (handover.writes_paused_unix_nanos() > 0) {
    resp.set_writes_paused_ms(std::max<double>(
        0.0, (promoted->promoted_unix_nanos() - handover.writes_paused_unix_nanos()) / 1e6));
  }
  resp.set_protection(p.reprotect ? drsim::v1::REGION_PROTECTION_PROTECTED
                                  : drsim::v1::REGION_PROTECTION_UNPROTECTED);
  resp.set_message("planned failover: region " + options_.name + " active at epoch " +
                   std::to_string(promoted->new_epoch()) + ", " + options_.peer_name +
                   " is its standby" +
                   (p.reprotect ? " (protected)" : "; re-protect to replicate back"));
  answer_planned_when_serving(std::move(p.done), std::move(resp), p.started);
}

}  // namespace drsim::region
