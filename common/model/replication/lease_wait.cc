#include "common/model/replication/lease_wait.h"

#include <algorithm>

namespace drsim::model {

namespace {
LeaseWaitStep wait_until(Time until, bool proven, bool without_witness) {
  LeaseWaitStep step;
  step.kind = LeaseWaitStep::Kind::kWaitUntil;
  step.until = until;
  step.proven = proven;
  step.without_witness = without_witness;
  return step;
}

LeaseWaitStep refuse(Status why) {
  LeaseWaitStep step;
  step.kind = LeaseWaitStep::Kind::kRefuse;
  step.refusal = std::move(why);
  return step;
}

Status witness_refused(const std::string& why) {
  return failed_precondition("the lease witness trafficmgr refused the failover: " + why);
}
}  // namespace

LeaseWaitStep after_witness(const LeaseWaitFacts& f, const WitnessFenceAnswer& a) {
  if (a.call.is_ok() && a.refused) {
    if (f.retry_allowed && a.highest >= f.promotion_epoch) {
      LeaseWaitStep step;
      step.kind = LeaseWaitStep::Kind::kRetryBeyond;
      step.highest = a.highest;
      return step;
    }
    return refuse(witness_refused(a.reason));
  }
  if (a.call.is_ok()) return wait_until(std::max(f.own_until, f.now + a.remaining), true, false);
  const bool unreachable = a.call.code() == StatusCode::kUnavailable ||
                           a.call.code() == StatusCode::kDeadlineExceeded;
  if (unreachable && f.force_without_witness) {
    return wait_until(std::max(f.own_until, f.now + f.full_lease), false, true);
  }
  if (!unreachable) return refuse(witness_refused(a.call.message()));
  return refuse(unavailable(
      "the lease witness trafficmgr at " + f.witness_address + " is unreachable (" +
      a.call.message() + "): region " + f.region + " cannot prove that " + f.peer +
      "'s lease expired (it may still renew there), so it was not promoted; retry when the "
      "witness answers, or pass --force-without-witness to wait a full lease (" +
      std::to_string(whole_ms(f.full_lease)) + " ms) and promote anyway"));
}

Status wait_over(const std::string& region, Epoch next, bool standby, Epoch promotion_epoch_now,
                 Epoch learned) {
  if (!standby || promotion_epoch_now == next) return Status::ok();
  return Status(StatusCode::kAborted,
                "while region " + region + " waited out the old lease to become active at epoch " +
                    std::to_string(next.value()) + ", it learned epoch " +
                    std::to_string(learned.value()) +
                    ": another failover is under way or done, so this one would override it; "
                    "nothing changed here (see drsim status, and fail over again if this region "
                    "should still be the active one)");
}

}  // namespace drsim::model
