#include "common/model/replication/sink.h"

namespace drsim::model {

const char* apply_decision_name(ApplyDecision d) {
  switch (d) {
    case ApplyDecision::kApply: return "apply";
    case ApplyDecision::kDuplicate: return "duplicate";
    case ApplyDecision::kGap: return "gap";
    case ApplyDecision::kStaleEpoch: return "stale-epoch";
  }
  return "?";
}

ApplyDecision ReplicationSink::classify(Epoch change_epoch, Seq seq) const {
  if (seq <= applied_) return ApplyDecision::kDuplicate;
  if (seq != applied_.next()) return ApplyDecision::kGap;
  if (change_epoch < applied_epoch_) return ApplyDecision::kStaleEpoch;
  return ApplyDecision::kApply;
}

void ReplicationSink::on_applied(Epoch change_epoch, Seq seq) {
  DRSIM_CHECK(seq == applied_.next());
  applied_ = seq;
  applied_epoch_ = change_epoch;
}

Status ReplicationSink::refusal(ApplyDecision d, Epoch change_epoch, Seq seq) const {
  switch (d) {
    case ApplyDecision::kGap:
      return out_of_range("gap: got seq " + std::to_string(seq.value()) + ", expected " +
                          std::to_string(applied_.next().value()) + "; resume from " +
                          std::to_string(applied_.next().value()));
    case ApplyDecision::kStaleEpoch:
      return failed_precondition("change seq " + std::to_string(seq.value()) + " has epoch " +
                                 std::to_string(change_epoch.value()) +
                                 ", older than applied epoch " +
                                 std::to_string(applied_epoch_.value()));
    default:
      return Status::ok();
  }
}

}  // namespace drsim::model
