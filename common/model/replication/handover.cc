#include "common/model/replication/handover.h"

namespace drsim::model {

const char* handover_phase_name(HandoverPhase p) {
  switch (p) {
    case HandoverPhase::kIdle:
      return "";
    case HandoverPhase::kDraining:
      return "draining";
    case HandoverPhase::kHandedOver:
      return "handed over";
  }
  return "?";
}

Status Handover::begin(Time now, Duration timeout) {
  if (phase_ != HandoverPhase::kIdle) {
    return failed_precondition(std::string("a planned failover is already ") +
                               handover_phase_name(phase_));
  }
  if (timeout.count() <= 0) return invalid_argument("drain timeout must be > 0");
  phase_ = HandoverPhase::kDraining;
  paused_at_ = now;
  deadline_ = now + timeout;
  timeout_ = timeout;
  ++generation_;
  return Status::ok();
}

bool Handover::ready(bool stream_up, uint64_t unacknowledged_writes, size_t queued_writes) const {
  return phase_ == HandoverPhase::kDraining && stream_up && unacknowledged_writes == 0 &&
         queued_writes == 0;
}

void Handover::on_handed_over(Time now) {
  if (phase_ != HandoverPhase::kDraining) return;
  phase_ = HandoverPhase::kHandedOver;
  handed_over_at_ = now;
}

bool Handover::expire(Time now, std::string* why) {
  if (phase_ != HandoverPhase::kDraining || now < deadline_) return false;
  phase_ = HandoverPhase::kIdle;
  if (why) {
    *why = "the standby did not acknowledge every write within " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
           " ms; writes resumed";
  }
  return true;
}

Duration Handover::paused(Time now) const {
  switch (phase_) {
    case HandoverPhase::kIdle:
      return Duration(0);
    case HandoverPhase::kDraining:
      return now - paused_at_;
    case HandoverPhase::kHandedOver:
      return handed_over_at_ - paused_at_;
  }
  return Duration(0);
}

}  // namespace drsim::model
