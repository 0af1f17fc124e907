// RegionNode's planned failover: the standby asks, the active region pauses writes and drains
// (common/model/replication/handover.h), hands over, and the standby promotes with nothing lost.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/region/region_node.h"
#include "common/region/region_node_parts.h"

namespace drsim::region {

using drsim::v1::ReplicationFrame;
using drsim::v1::ReplicationReply;
using namespace region_node_parts;

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
