#include "common/region/region_node.h"

#include <unistd.h>

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/net/grpc_util.h"
#include "common/region/replication_streams.h"

namespace drsim::region {

using drsim::v1::Change;
using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;
using namespace std::chrono_literals;

namespace {
constexpr size_t kMaxRecentChanges = 1 << 20;  // older unacked changes are read from the log
constexpr size_t kMaxFrameBytes = 4 << 20;
constexpr auto kSyncTimeoutTick = 100ms;

drsim::v1::RegionRole to_proto(model::Role r) {
  return r == model::Role::kActive ? drsim::v1::ROLE_ACTIVE : drsim::v1::ROLE_STANDBY;
}
}  // namespace

RegionNode::RegionNode(RegionOptions options, boost::asio::io_context& io,
                       storage::RegionStore& store, net::HealthService& health)
    : options_(std::move(options)), io_(io), scheduler_(io), store_(store), health_(health) {}

RegionNode::~RegionNode() = default;

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
  }
  protected_ = m.protected_;
  role_ = std::make_unique<model::RegionRole>(
      options_.name, options_.peer_name, m.active ? model::Role::kActive : model::Role::kStandby,
      Epoch(m.epoch), confirmation);

  for (const auto& spec : options_.workloads) {
    auto cursor = store_.load_cursor(spec.name);
    if (!cursor.is_ok()) return cursor.status();
    auto w = std::make_unique<Workload>();
    w->spec = spec;
    w->source = model::ReplicationSource(cursor->seq);
    w->sink = model::ReplicationSink(cursor->seq, cursor->epoch);
    w->last_epoch = cursor->epoch;
    w->recent_first = cursor->seq.next();
    order_.push_back(w.get());
    workloads_.emplace(spec.name, std::move(w));
  }
  if (options_.unsafe_ack_before_standby) {
    spdlog::warn("TEST HOOK --unsafe-ack-before-standby: sync writes are acknowledged before the "
                 "standby has them; acknowledged writes can be lost");
  }
  spdlog::info("region {} starting as {} at epoch {}{} with {} workload(s) on {}", options_.name,
               model::role_name(role_->role()), role_->epoch().value(),
               role_->confirmed() ? "" : " (unconfirmed: checking the peer for a failover)",
               order_.size(), address_);
  for (auto* w : order_) {
    spdlog::info("workload {} ({}) resumes at seq {} epoch {}", w->spec.name,
                 replication_mode_name(w->spec.mode), w->source.last_written().value(),
                 w->last_epoch.value());
  }
  if (!role_->confirmed()) {
    scheduler_.schedule_after(options_.fence_check_timeout, [this] {
      if (role_->confirmed() || role_->role() != model::Role::kActive) return;
      spdlog::warn("peer {} did not answer within {} ms; resuming as active at epoch {}",
                   options_.peer_name, options_.fence_check_timeout.count(),
                   role_->epoch().value());
      role_->confirm();
      update_health();
    });
  }
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
  if (link_) link_->cancel();
  if (sink_) sink_->close(unavailable("region " + options_.name + " is shutting down"));
  fail_waiters(unavailable("region " + options_.name + " is shutting down"), Applied::kUnknown);
}

RegionNode::Workload* RegionNode::find(const std::string& name) {
  auto it = workloads_.find(name);
  return it == workloads_.end() ? nullptr : it->second.get();
}

bool RegionNode::replicating() const {
  return role_->role() == model::Role::kActive && protected_ && !outage_ && diverged_.empty();
}

void RegionNode::update_health() {
  using S = grpc::health::v1::HealthCheckResponse;
  health_.set_outage(outage_);
  health_.set_status("", S::SERVING);
  health_.set_status("drsim.v1.Workload", role_->serving_writes() ? S::SERVING : S::NOT_SERVING);
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

void RegionNode::write(std::vector<drsim::v1::WriteOp> ops, WriteDone done) {
  if (outage_) {
    done({unavailable("region " + options_.name + " is in an injected outage"), Applied::kNo, {}});
    return;
  }
  if (Status s = role_->admit_write(); !s.is_ok()) {
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
    boost::asio::post(io_, [this] { flush_writes(); });
  }
}

void RegionNode::flush_writes() {
  flush_posted_ = false;
  if (queued_.empty()) return;
  std::vector<QueuedOp> ops;
  ops.swap(queued_);
  // State may have changed since the writes were admitted (a step-down or an
  // outage posted in between): re-check before anything becomes durable.
  Status admit = outage_ ? unavailable("region " + options_.name + " is in an injected outage")
                         : role_->admit_write();
  if (!admit.is_ok()) {
    for (auto& q : ops) finish(q.write, {admit, Applied::kNo, {}});
    return;
  }
  Time now = scheduler_.now();
  int64_t wall = wall_now_unix_nanos();
  Epoch epoch = role_->epoch();
  std::vector<Change> changes;
  changes.reserve(ops.size());
  for (auto& q : ops) {
    Change c;
    c.set_workload(q.workload->spec.name);
    c.set_epoch(epoch.value());
    c.set_seq(q.workload->source.assign(now).value());
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
    // Seqs were handed out but nothing is durable: state and disk disagree.
    spdlog::critical("durable write failed: {}", s.to_string());
    std::abort();
  }
  if (auto took = scheduler_.now() - apply_start; took > std::chrono::milliseconds(20)) {
    spdlog::warn("slow durable write of {} client changes: {:.1f} ms", ptrs.size(), to_ms(took));
  }

  bool sync_replication = replicating() && !options_.unsafe_ack_before_standby;
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
    while (!w->waiters.empty() && now - w->waiters.front().write->started >=
                                      options_.sync_ack_timeout) {
      finish(w->waiters.front().write,
             {Status(StatusCode::kAborted,
                     "written in region " + options_.name + " but the standby did not "
                     "acknowledge it within " + std::to_string(options_.sync_ack_timeout.count()) +
                     " ms; outcome unknown"),
              Applied::kUnknown, {}});
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
  if (role_->role() == model::Role::kActive && !protected_) {
    note += std::string(note.empty() ? "" : "; ") + "unprotected: failed over, re-protect pending";
  } else if (role_->role() == model::Role::kActive && !role_->confirmed()) {
    note += std::string(note.empty() ? "" : "; ") + "unconfirmed: checking the peer's epoch";
  } else if (!link_error_.empty() && replicating() && !link_welcomed_) {
    note += std::string(note.empty() ? "" : "; ") + "replication: " + link_error_;
  }
  out->set_fenced_reason(note);
  out->set_now_unix_nanos(wall_now_unix_nanos());
  out->set_clock_offset_ms(wall_clock_offset_nanos().load(std::memory_order_relaxed) / 1'000'000);
  out->set_replication_refusals(refusals_);
  out->set_replication_reconnects(connects_ > 0 ? connects_ - 1 : 0);
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

Result<drsim::v1::FailoverResponse> RegionNode::failover(const std::string& reason) {
  if (outage_) {
    return failed_precondition("region " + options_.name +
                               " is in an injected outage; end the outage before failing over "
                               "to it");
  }
  auto change = role_->failover(reason);
  if (!change.is_ok()) return change.status();
  // The new active region serves unprotected until re-protect reverses
  // replication (Site Recovery: failover → commit → re-protect).
  protected_ = false;
  persist_meta();
  if (sink_) {
    // Tell the old primary the new epoch on its own stream: if it is only
    // frozen, this is the first thing it reads when it runs again.
    sink_reject(sink_, failed_precondition("region " + options_.name + " was promoted at epoch " +
                                           std::to_string(role_->epoch().value())));
  }
  on_role_change(*change);
  drsim::v1::FailoverResponse resp;
  resp.set_new_epoch(role_->epoch().value());
  resp.set_promoted_unix_nanos(wall_now_unix_nanos());
  for (auto* w : order_) {
    // The new active region continues each workload's sequence from what it
    // applied; the old primary's unreplicated tail (async) is given up.
    w->source = model::ReplicationSource(w->sink.applied());
    w->recent.clear();
    w->recent_first = w->sink.applied().next();
    auto* r = resp.add_recovered();
    r->set_workload(w->spec.name);
    r->set_seq(w->sink.applied().value());
    r->set_epoch(w->sink.applied_epoch().value());
  }
  resp.set_message("region " + options_.name + " promoted to active at epoch " +
                   std::to_string(role_->epoch().value()) + " (" + reason + ")");
  return resp;
}

void RegionNode::on_role_change(const model::RoleChanged& change) {
  spdlog::info("role {} -> {} at epoch {}: {}", model::role_name(change.from),
               model::role_name(change.to), change.epoch.value(), change.reason);
  if (change.to == model::Role::kStandby) {
    persist_meta();
    fail_waiters(failed_precondition("region " + options_.name + " was fenced: " + change.reason),
                 Applied::kUnknown);
    if (link_) link_->cancel();
    // As a standby, applied state continues from what this region wrote.
    for (auto* w : order_) {
      w->sink = model::ReplicationSink(w->source.last_written(), w->last_epoch);
      w->recent.clear();
    }
  }
  update_health();
}

void RegionNode::set_outage(bool outage) {
  if (outage == outage_) return;
  outage_ = outage;
  spdlog::info("region {} outage {}", options_.name, outage ? "STARTED" : "ENDED");
  if (outage) {
    fail_waiters(unavailable("region " + options_.name + " entered an injected outage"),
                 Applied::kUnknown);
    if (link_) link_->cancel();
    if (sink_) {
      sink_->close(unavailable("region " + options_.name + " is in an injected outage"));
      sink_ = nullptr;
    }
  }
  update_health();
  if (!outage) maybe_connect();
}

void RegionNode::set_peer(const std::string& address) {
  if (address == options_.peer_address) return;
  options_.peer_address = address;
  peer_stub_.reset();
  if (link_) link_->cancel();
  spdlog::info("peer {} is at {}", options_.peer_name, address);
  maybe_connect();
}

// ---------------------------------------------------------------- source side

void RegionNode::maybe_connect() {
  if (stopped_ || link_ != nullptr || !replicating() || options_.peer_address.empty()) return;
  if (!peer_stub_) {
    peer_stub_ = drsim::v1::Replication::NewStub(net::make_channel(options_.peer_address));
  }
  link_ = new SourceStream(*this, *peer_stub_);
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

void RegionNode::on_source_reply(SourceStream* stream, const ReplicationReply& reply) {
  if (stream != link_) return;
  Time now = scheduler_.now();
  if (reply.has_welcome()) {
    const auto& welcome = reply.welcome();
    for (const auto& cursor : welcome.durable()) {
      Workload* w = find(cursor.workload());
      if (w == nullptr) {
        drop_link("standby hosts unknown workload '" + cursor.workload() + "'");
        return;
      }
      // Like Raft's prevLogTerm: the standby's newest entry must be ours too.
      if (cursor.seq() > 0 && cursor.seq() <= w->source.last_written().value()) {
        auto ours = store_.log_epoch(w->spec.name, Seq(cursor.seq()));
        if (ours.is_ok() && ours->value() != cursor.epoch()) {
          diverged_ = "histories diverged for " + w->spec.name + " at seq " +
                      std::to_string(cursor.seq()) + " (standby epoch " +
                      std::to_string(cursor.epoch()) + ", ours " +
                      std::to_string(ours->value()) + "): re-protect needed";
          spdlog::error("{}", diverged_);
          drop_link(diverged_);
          return;
        }
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
    if (!role_->confirmed()) {
      spdlog::info("peer {} confirms epoch {}: serving", options_.peer_name,
                   role_->epoch().value());
      role_->confirm();
      update_health();
    }
    spdlog::info("replication to {} connected", options_.peer_name);
    // What the standby already had needs neither caching nor waiting for.
    for (auto* w : order_) on_standby_durable(*w);
    pump();
    return;
  }
  if (reply.has_ack()) {
    for (const auto& cursor : reply.ack().durable()) {
      Workload* w = find(cursor.workload());
      if (w == nullptr) continue;
      auto acked = w->source.on_ack(Seq(cursor.seq()), now);
      if (!acked.is_ok()) {
        DRSIM_BUG("standby acked beyond what was written");
        drop_link(acked.status().message());
        return;
      }
      on_standby_durable(*w);
    }
    pump();
    return;
  }
  if (reply.has_reject()) {
    const auto& r = reply.reject();
    ++refusals_;
    link_error_ = r.message();
    spdlog::warn("replication refused by {}: {}", options_.peer_name, r.message());
    auto peer_role = r.active_region() == options_.peer_name ? model::Role::kActive
                                                             : model::Role::kStandby;
    if (auto change = role_->on_peer_epoch(Epoch(r.current_epoch()), peer_role)) {
      on_role_change(*change);
    }
  }
}

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

void RegionNode::on_source_write_done(SourceStream* stream) {
  if (stream == link_) pump();
}

void RegionNode::on_source_closed(SourceStream* stream, const Status& status) {
  if (stream != link_) return;
  link_ = nullptr;
  bool was_welcomed = link_welcomed_;
  link_welcomed_ = false;
  if (!status.is_ok()) link_error_ = status.to_string();
  for (auto* w : order_) w->source.on_disconnected();
  if (was_welcomed) {
    spdlog::warn("replication to {} disconnected: {}", options_.peer_name, status.to_string());
  }
  schedule_reconnect();
}

Status RegionNode::collect(Workload& w, model::SeqRange range, drsim::v1::ChangeBatch* batch) {
  if (range.first >= w.recent_first && !w.recent.empty()) {
    size_t start = range.first.value() - w.recent_first.value();
    for (uint64_t i = 0; i < range.count() && start + i < w.recent.size(); ++i) {
      *batch->add_changes() = w.recent[start + i];
    }
    return Status::ok();
  }
  std::vector<Change> from_log;
  if (Status s = store_.read_log(w.spec.name, range.first, range.last, &from_log); !s.is_ok()) {
    return s;
  }
  for (auto& c : from_log) *batch->add_changes() = std::move(c);
  return Status::ok();
}

void RegionNode::pump() {
  if (link_ == nullptr || !link_welcomed_ || link_->write_in_flight() || !link_->open()) return;
  ReplicationFrame frame;
  auto* batch = frame.mutable_batch();
  batch->set_epoch(role_->epoch().value());
  size_t budget = options_.max_batch_changes;
  size_t bytes = 0;
  for (size_t n = 0; n < order_.size() && budget > 0 && bytes < kMaxFrameBytes; ++n) {
    Workload& w = *order_[(pump_cursor_ + n) % order_.size()];
    auto range = w.source.next_range(budget, options_.max_unacked_changes);
    if (!range) continue;
    int before = batch->changes_size();
    if (Status s = collect(w, *range, batch); !s.is_ok()) {
      spdlog::error("cannot send {} seq {}..{}: {}", w.spec.name, range->first.value(),
                    range->last.value(), s.to_string());
      diverged_ = s.message();
      drop_link(s.message());
      return;
    }
    int added = batch->changes_size() - before;
    if (added == 0) continue;
    for (int i = before; i < batch->changes_size(); ++i) {
      if (batch->changes(i).seq() != range->first.value() + (i - before)) {
        spdlog::critical("BUG collect {}: range {}..{} recent_first {} recent size {} front {} "
                         "got seq {} at {}", w.spec.name, range->first.value(),
                         range->last.value(), w.recent_first.value(), w.recent.size(),
                         w.recent.empty() ? 0 : w.recent.front().seq(), batch->changes(i).seq(),
                         i - before);
        std::abort();
      }
    }
    w.source.on_sent({range->first, Seq(range->first.value() + added - 1)});
    budget -= static_cast<size_t>(added);
    for (int i = before; i < batch->changes_size(); ++i) bytes += batch->changes(i).ByteSizeLong();
  }
  pump_cursor_++;
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

void RegionNode::sink_reject(SinkStream* stream, const Status& why) {
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

void RegionNode::on_sink_frame(SinkStream* stream, const ReplicationFrame& frame) {
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
  } else {
    sink_reject(stream, invalid_argument("replication frame has no body"));
  }
}

void RegionNode::sink_hello(SinkStream* stream, const drsim::v1::Hello& hello) {
  if (Status s = validate_workload_name("hello.region", hello.region()); !s.is_ok()) {
    sink_reject(stream, s);
    return;
  }
  if (Status s = role_->admit_source(hello.region(), Epoch(hello.epoch())); !s.is_ok()) {
    spdlog::warn("refused replication from {}: {}", hello.region(), s.message());
    sink_reject(stream, s);
    return;
  }
  if (sink_ && sink_ != stream) {
    sink_->close(Status(StatusCode::kAborted, "superseded by a newer replication stream"));
  }
  sink_ = stream;
  sink_source_ = hello.region();
  ReplicationReply reply;
  *reply.mutable_welcome() = welcome();
  stream->send(std::move(reply));
  spdlog::info("accepted replication stream from {} at epoch {}", hello.region(), hello.epoch());
}

void RegionNode::sink_batch(SinkStream* stream, const drsim::v1::ChangeBatch& batch) {
  if (Epoch(batch.epoch()) < role_->epoch()) {
    sink_reject(stream, failed_precondition("batch epoch " + std::to_string(batch.epoch()) +
                                            " is older than current epoch " +
                                            std::to_string(role_->epoch().value())));
    return;
  }
  std::vector<const Change*> apply;
  apply.reserve(batch.changes_size());
  std::vector<Workload*> touched;
  Status refusal;
  for (const Change& c : batch.changes()) {
    Workload* w = find(c.workload());
    if (w == nullptr) {
      refusal = invalid_argument("change for unknown workload '" + c.workload() + "'");
      break;
    }
    if (c.key().empty() || (c.op() != drsim::v1::OP_PUT && c.op() != drsim::v1::OP_DELETE)) {
      refusal = invalid_argument("change " + std::to_string(c.seq()) + " of " + c.workload() +
                                 " has an empty key or no op");
      break;
    }
    if (Epoch(c.epoch()) > Epoch(batch.epoch())) {
      refusal = invalid_argument("change epoch is newer than its batch's epoch");
      break;
    }
    auto decision = w->sink.classify(Epoch(c.epoch()), Seq(c.seq()));
    if (decision == model::ApplyDecision::kDuplicate) continue;
    if (decision != model::ApplyDecision::kApply) {
      refusal = w->sink.refusal(decision, Epoch(c.epoch()), Seq(c.seq()));
      break;
    }
    w->sink.on_applied(Epoch(c.epoch()), Seq(c.seq()));
    w->last_epoch = Epoch(c.epoch());
    apply.push_back(&c);
    if (std::find(touched.begin(), touched.end(), w) == touched.end()) touched.push_back(w);
  }
  Time apply_start = scheduler_.now();
  if (Status s = store_.apply(apply); !s.is_ok()) {
    spdlog::critical("durable apply failed: {}", s.to_string());
    std::abort();
  }
  if (auto took = scheduler_.now() - apply_start; took > std::chrono::milliseconds(20)) {
    spdlog::warn("slow durable apply of {} replicated changes: {:.1f} ms", apply.size(),
                 to_ms(took));
  }
  // Ack what is durable now (also on refusal, so the source resumes right).
  ReplicationReply reply;
  for (auto* w : order_) {
    auto* c = reply.mutable_ack()->add_durable();
    c->set_workload(w->spec.name);
    c->set_seq(w->sink.applied().value());
    c->set_epoch(w->sink.applied_epoch().value());
  }
  stream->send(std::move(reply));
  if (!refusal.is_ok()) {
    spdlog::warn("replication batch refused: {}", refusal.to_string());
    sink_reject(stream, refusal);
  }
}

void RegionNode::on_sink_closed(SinkStream* stream) {
  if (sink_ == stream) {
    sink_ = nullptr;
    spdlog::info("replication stream from {} closed", sink_source_);
  }
  stream->close(Status(StatusCode::kCancelled, "stream closed by the source"));
}

}  // namespace drsim::region
