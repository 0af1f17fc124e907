// RegionNode's client write path: admission (role, lease, hand-over, disk room), the group
// commit that makes a batch durable and hands out seqs, sync writes waiting for the standby, and
// reads (Get, Scan), admitted as writes are (role and lease) unless they allow stale data.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/region/region_node.h"
#include "common/region/fail_stop.h"
#include "common/region/region_node_parts.h"

namespace drsim::region {

using drsim::v1::Change;
using namespace region_node_parts;

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
  // The hand-over first: its lease is released once handed over, and "planned failover in
  // progress" is what a client should read then.
  if (handover_.pausing_writes()) {
    return failed_precondition("planned failover in progress: region " + options_.name +
                               " stopped admitting writes while it hands over to " +
                               options_.peer_name);
  }
  return admit_lease();
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
  const Epoch epoch = role_->epoch();
  std::vector<Change> changes = assign_changes(ops, epoch);
  if (!commit_changes(ops, changes)) return;
  track_committed(ops, changes, epoch);
  for (auto& q : ops) {
    if (!q.write->finished && q.write->sync_id == 0) {
      finish(q.write, {Status::ok(), Applied::kNo, {}});
    }
  }
  pump();
}

std::vector<Change> RegionNode::assign_changes(std::vector<QueuedOp>& ops, Epoch epoch) {
  const Time now = scheduler_.now();
  const int64_t wall = clock_.wall_unix_nanos();
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
  return changes;
}

bool RegionNode::commit_changes(std::vector<QueuedOp>& ops, const std::vector<Change>& changes) {
  std::vector<const Change*> ptrs;
  ptrs.reserve(changes.size());
  for (const auto& c : changes) ptrs.push_back(&c);
  Time apply_start = scheduler_.now();
  if (Status s = store_.apply(ptrs); !s.is_ok()) {
    if (s.code() != StatusCode::kResourceExhausted) {
      // Nothing is known of what the store holds.
      fail_stop("durable write failed: " + s.to_string());
    }
    // The disk filled after the check: RocksDB refused the whole batch, so nothing of it is
    // durable and nothing was sent (pump runs after this). The seqs go back for the next commit,
    // newest first: each change's seq is its workload's newest when its turn comes.
    for (size_t i = changes.size(); i-- > 0;) {
      ops[i].workload->source.take_back(Seq(changes[i].seq() - 1));
    }
    refuse_writes(ops, s);
    return false;
  }
  if (auto took = scheduler_.now() - apply_start; took > std::chrono::milliseconds(20)) {
    spdlog::warn("slow durable write of {} client changes: {:.1f} ms", ptrs.size(), to_ms(took));
  }
  return true;
}

void RegionNode::track_committed(std::vector<QueuedOp>& ops, std::vector<Change>& changes,
                                 Epoch epoch) {
  // Sync writes wait for the standby only while protected: unprotected (failed over) or
  // re-protecting, the standby is not yet a copy worth waiting for.
  bool sync_replication = protected_ && replicating() && !options_.unsafe_ack_before_standby;
  bool streaming = replicating();
  // Per workload: the newest seq each sync-mode write waits for, in seq order.
  struct Wait {
    Seq seq;
    std::shared_ptr<PendingWrite> write;
  };
  std::map<Workload*, std::vector<Wait>> waits;
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
    for (auto& wait : list) wait_for_standby(wait.write, w->index, wait.seq);
  }
  arm_sync_deadline();
}

void RegionNode::wait_for_standby(const std::shared_ptr<PendingWrite>& write, size_t workload,
                                  Seq seq) {
  if (write->sync_id == 0) {
    write->sync_id = ++next_sync_id_;
    sync_writes_.emplace(write->sync_id, write);
  }
  sync_acks_.add(write->sync_id, write->started, {{workload, seq}});
}

void RegionNode::answer_sync_writes(const std::vector<model::SyncAckTracker::WriteId>& ids,
                                    const WriteOutcome& outcome) {
  for (auto id : ids) {
    auto it = sync_writes_.find(id);
    if (it == sync_writes_.end()) continue;
    auto write = std::move(it->second);
    sync_writes_.erase(it);
    finish(write, outcome);
  }
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
  answer_sync_writes(sync_acks_.take_all(), {why, applied, {}});
}

void RegionNode::check_sync_timeouts() {
  answer_sync_writes(
      sync_acks_.expire(scheduler_.now()),
      {Status(StatusCode::kAborted,
              "written in region " + options_.name +
                  " but the standby did not acknowledge it within " +
                  std::to_string(options_.sync_ack_timeout.count()) + " ms; outcome unknown"),
       Applied::kUnknown,
       {}});
  arm_sync_deadline();
}

// One timer at the earliest deadline. It is moved earlier when a new deadline comes before
// it; one left armed past a deadline answered by an ack just fires and re-arms.
void RegionNode::arm_sync_deadline() {
  auto next = sync_acks_.next_deadline();
  if (!next || stopped_) return;
  if (sync_deadline_timer_ && sync_deadline_at_ <= *next) return;
  cancel_timer(sync_deadline_timer_);
  sync_deadline_at_ = *next;
  sync_deadline_timer_ = scheduler_.schedule_at(*next, [this] {
    sync_deadline_timer_.reset();
    if (!stopped_) check_sync_timeouts();
  });
}

// ---------------------------------------------------------------- reads

Status RegionNode::admit_client_reads() const {
  if (options_.unsafe_unfenced_reads) return Status::ok();
  if (Status s = role_->admit_write(); !s.is_ok()) return s;
  // A restarted region that found the standby holds writes it lost has not got them.
  if (!behind_standby_.empty()) return failed_precondition(behind_standby_);
  return admit_lease("serve reads");
}

Status RegionNode::get(const drsim::v1::GetRequest& req, drsim::v1::GetResponse* resp) {
  if (outage_) return unavailable("region " + options_.name + " is in an injected outage");
  if (!req.allow_stale()) {
    if (Status s = admit_client_reads(); !s.is_ok()) return s;
  }
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
  if (!req.allow_stale()) {
    if (Status s = admit_client_reads(); !s.is_ok()) return s;
  }
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

}  // namespace drsim::region
