#include "common/model/replication/standby_cursor.h"

namespace drsim::model {

namespace {

std::string behind_message(const StandbyCursorFacts& f) {
  const std::string held = "the standby " + f.standby + " holds " + f.workload + " up to seq " +
                           std::to_string(f.standby_seq.value()) + " (epoch " +
                           std::to_string(f.standby_epoch) + ") and region " + f.region;
  if (f.standby_seq > f.last_written) {
    return held + " only up to seq " + std::to_string(f.last_written.value()) +
           ": it lost acknowledged writes; fail over to " + f.standby +
           " (drsim failover), which has them, then re-protect";
  }
  // Past a mark: the standby's entries after it cannot be this region's (nothing after it was
  // sent before this welcome), so the same (epoch, seq) on both sides are other writes.
  const uint64_t mark = f.unverified_after->value();
  return held + " restarted at seq " + std::to_string(mark) + " and, not hearing from " +
         f.standby + ", wrote seq " + std::to_string(mark + 1) + ".." +
         std::to_string(f.last_written.value()) +
         " under the same seqs: it lost acknowledged writes, and the writes it made since are "
         "not on " +
         f.standby + "; fail over to " + f.standby +
         " (drsim failover), which has the lost ones, then re-protect (it rolls back what " +
         f.region + " wrote after seq " + std::to_string(mark) + ")";
}

}  // namespace

StandbyCursorVerdict judge_standby_cursor(
    const StandbyCursorFacts& facts,
    const std::function<std::optional<uint64_t>(Seq)>& our_epoch_at) {
  using Kind = StandbyCursorVerdict::Kind;
  const uint64_t seq = facts.standby_seq.value();
  if (seq > 0 && seq <= facts.last_written.value()) {
    std::optional<uint64_t> ours = our_epoch_at(facts.standby_seq);
    if (ours && *ours != facts.standby_epoch) {
      return {Kind::kDiverged, "histories diverged for " + facts.workload + " at seq " +
                                   std::to_string(seq) + " (standby epoch " +
                                   std::to_string(facts.standby_epoch) + ", ours " +
                                   std::to_string(*ours) + "): re-protect needed"};
    }
  }
  if (facts.standby_seq > facts.unverified_after.value_or(facts.last_written)) {
    return {Kind::kBehindStandby, behind_message(facts)};
  }
  return {Kind::kResume, ""};
}

}  // namespace drsim::model
