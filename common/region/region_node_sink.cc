// RegionNode as the sink of replication (the standby): the hello and its checks, applying change
// batches in order and durably before acking, and what it refuses.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/model/replication/batch_admission.h"
#include "common/region/region_node.h"
#include "common/region/fail_stop.h"

namespace drsim::region {

using drsim::v1::Change;
using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;
// ---------------------------------------------------------------- sink side

drsim::v1::Welcome RegionNode::welcome() const {
  drsim::v1::Welcome w;
  w.set_region(options_.name);
  w.set_epoch(role_->epoch().value());
  for (auto* wl : order_) wl->applied_cursor(w.add_durable());
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

model::BatchAdmission RegionNode::admit_batch(const drsim::v1::ChangeBatch& batch,
                                              std::vector<SinkBefore>& before) {
  std::vector<model::IncomingChange> incoming;
  incoming.reserve(batch.changes_size());
  for (const Change& c : batch.changes()) {
    Workload* w = find(c.workload());
    if (w != nullptr && std::none_of(before.begin(), before.end(),
                                     [w](const SinkBefore& b) { return b.w == w; })) {
      before.push_back({w, w->sink, w->last_epoch});
    }
    bool well_formed =
        !c.key().empty() && (c.op() == drsim::v1::OP_PUT || c.op() == drsim::v1::OP_DELETE);
    incoming.push_back(
        {c.workload(), w != nullptr ? &w->sink : nullptr, Epoch(c.epoch()), Seq(c.seq()),
         well_formed ? model::ChangeShape::kWellFormed : model::ChangeShape::kMalformed});
  }
  return model::admit_change_batch(Epoch(batch.epoch()), role_->epoch(), incoming);
}

void RegionNode::count_incoming(const std::vector<Workload*>& touched,
                                const std::vector<const Change*>& applied) {
  if (!incoming_.running()) return;
  for (auto* w : touched) {
    uint64_t n = 0;
    uint64_t bytes = 0;
    for (const auto* c : applied) {
      if (c->workload() == w->spec.name) {
        ++n;
        bytes += c->ByteSizeLong();
      }
    }
    incoming_.on_changes(w->spec.name, n, bytes);
    incoming_.on_reached(w->spec.name, w->sink.applied());
  }
}

void RegionNode::sink_batch(SinkLink* stream, const drsim::v1::ChangeBatch& batch) {
  if (Status room = store_.check_room(batch.ByteSizeLong()); !room.is_ok()) {
    refuse_undurable(stream, batch.changes_size(), room);
    return;
  }
  std::vector<SinkBefore> before;
  model::BatchAdmission admitted = admit_batch(batch, before);
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
  count_incoming(touched, apply);
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
    fail_stop("durable apply failed: " + why.to_string());  // what the store holds is unknown
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
    w->applied_cursor(ack->add_durable());
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

}  // namespace drsim::region
