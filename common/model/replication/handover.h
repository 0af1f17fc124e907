// The active region's side of a planned failover: it stops admitting client writes, waits until
// its standby has made every write durable (drain), then hands over — the standby promotes
// itself at the next epoch and this region becomes its standby. Zero acknowledged writes are
// lost by construction: nothing is admitted after the pause, and nothing is handed over before
// the standby holds everything admitted before it. Pure, `now` passed in.
//
//   Idle ─begin─▶ Draining ─(drained)─▶ HandedOver ─(standby promoted: step down)─▶ Idle
//   Draining ─deadline / abort─▶ Idle (writes resume: the standby was never told to promote)
//   HandedOver ─refused by the standby, or it answers a new stream still as standby─▶ Idle
//
// Once handed over, this region never resumes writing on its own: the standby may have promoted
// itself. Only the standby's answer (promoted: step down; refused: resume) ends it.
#pragma once

#include <cstdint>
#include <string>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

enum class HandoverPhase { kIdle, kDraining, kHandedOver };
const char* handover_phase_name(HandoverPhase p);  // "", "draining", "handed over"

class Handover {
 public:
  // The standby asked for the handover; the drain must finish within `timeout`.
  Status begin(Time now, Duration timeout);
  // While draining: whether the handover can be sent now (stream up, nothing unacknowledged,
  // no admitted write still waiting to be made durable).
  bool ready(bool stream_up, uint64_t unacknowledged_writes, size_t queued_writes) const;
  void on_handed_over(Time now);
  // Draining past the deadline: back to idle (returns true once, with the reason in `why`).
  bool expire(Time now, std::string* why);
  // Refused by the standby, or the standby answered a new stream as standby: resume writes.
  void abort() { phase_ = HandoverPhase::kIdle; }
  // The standby promoted itself and this region stepped down.
  void on_stepped_down() { phase_ = HandoverPhase::kIdle; }

  HandoverPhase phase() const { return phase_; }
  bool pausing_writes() const { return phase_ != HandoverPhase::kIdle; }
  Time deadline() const { return phase_ == HandoverPhase::kDraining ? deadline_ : kNever; }
  // How long writes were refused (until now, or until handed over).
  Duration paused(Time now) const;
  // Bumped by begin(): a deadline timer armed for an earlier handover ignores a later one.
  uint64_t generation() const { return generation_; }

 private:
  HandoverPhase phase_ = HandoverPhase::kIdle;
  Time paused_at_ = kTimeZero;
  Time handed_over_at_ = kTimeZero;
  Time deadline_ = kNever;
  Duration timeout_{0};
  uint64_t generation_ = 0;
};

}  // namespace drsim::model
