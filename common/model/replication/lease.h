// A lease on being active (Gray & Cheriton; the rule Chubby, etcd and Patroni use). The active
// region (holder) may acknowledge client writes only while it holds an unexpired lease, granted
// by its standby peer or by the Traffic Manager acting as witness (one grant suffices: holder +
// one grantor is a majority of {active, standby, witness}). A promoting standby fences its
// grantor and the witness, then waits until the last grant they gave to the old epoch can no
// longer be believed, so no instant has two regions that may acknowledge writes.
//
// Pure: every call takes `now` on the caller's MONOTONIC clock (drsim::Time, steady_clock in the
// daemons) — never the wall clock that `drsim inject clock-skew` moves. Clocks may run at rates
// that differ by at most `drift` (ε): the holder stops at sent + lease × (1 − ε), a grantor
// believes its grant until granted + lease × (1 + ε).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

struct LeaseTimes {
  // Defaults (docs/replication.md): a 1 s lease renewed every 250 ms survives three lost
  // renewals (a 750 ms stall of the loaded loop) before a healthy primary stops writes; the
  // wait it adds to an unplanned failover is at most lease × (1 + ε) = 1050 ms after the fault.
  Duration lease = std::chrono::milliseconds(1000);
  Duration renew_interval = std::chrono::milliseconds(250);
  double drift = 0.05;  // ε: bound on the relative rate difference of two monotonic clocks

  // INVALID_ARGUMENT naming `where`.field: lease in 10 ms..60 s, 0 < renew_interval < lease/2
  // (two renewals per lease at least), drift in [0, 0.5).
  Status validate(const std::string& where) const;
  // How long a grant for a request sent at s lets the holder act: lease × (1 − ε).
  Duration holder_validity() const;
  // How long a grantor must believe its grant may still be in use: lease × (1 + ε).
  Duration grantor_belief() const;
};

// Clock drift between the lease's holder and a grantor (`drsim inject clock-drift`): a holder
// whose monotonic clock runs at (1 + holder_rate) of real time stops, in real time, at
// lease × (1 − ε) / (1 + holder_rate) after its request; a grantor at (1 + grantor_rate) believes
// its grant for lease × (1 + ε) / (1 + grantor_rate). The first must not outlast the second:
// (1 + grantor_rate) / (1 + holder_rate) ≤ (1 + ε) / (1 − ε). Rates are fractions (0.02 = 2 %
// fast), each in (−0.5, 0.5).
bool drift_within_bound(const LeaseTimes& times, double holder_rate, double grantor_rate);
// Every ordered pair of `rates` (process name → rate; either region may hold the lease after a
// failover, and any process grants it) within the bound, else INVALID_ARGUMENT naming the two
// processes, their rates in ppm and the bound.
Status check_clock_drift(const LeaseTimes& times, const std::map<std::string, double>& rates);

// Holder side (the active region). Each renewal request gets an id and remembers when it was
// sent; a grant for it extends the lease to sent + lease × (1 − ε) — measured from the sending,
// not the receipt, so time the request and the grant spent in flight is never counted twice.
class LeaseHolder {
 public:
  // `grantors` names who can renew, for messages ("secondary or trafficmgr").
  LeaseHolder(LeaseTimes times, std::string grantors);

  void set_grantors(std::string grantors) { grantors_ = std::move(grantors); }
  // A new epoch (promotion, step-down): no lease until a grant at this epoch arrives.
  void reset(Epoch epoch, Time now);
  // A renewal request is about to be sent at `now`; returns its id.
  uint64_t on_request_sent(Time now);
  // A grantor granted request `id` for `epoch`. Grants for another epoch or an unknown id (too
  // old, or from before a reset) change nothing. Returns whether the lease became valid.
  bool on_granted(uint64_t id, Epoch epoch, Time now);
  // Hand over / step down: the lease ends now (a planned failover needs no wait for it).
  void relinquish(Time now);

  bool valid(Time now) const { return now < valid_until_; }
  // Zero when not valid.
  Duration expires_in(Time now) const;
  Time valid_until() const { return valid_until_; }
  Epoch epoch() const { return epoch_; }
  // Why writes are refused, e.g. "lease expired: no renewal from secondary or trafficmgr for
  // 900 ms"; empty while valid.
  std::string lost_reason(Time now) const;
  const LeaseTimes& times() const { return times_; }
  // When the next renewal should be sent.
  Time next_renewal_due() const { return last_request_ + times_.renew_interval; }

 private:
  LeaseTimes times_;
  std::string grantors_;
  Epoch epoch_{0};
  uint64_t next_id_ = 1;
  std::map<uint64_t, Time> sent_;  // outstanding requests (bounded: older ones cannot help)
  Time valid_until_ = kTimeZero;
  Time last_grant_ = kTimeZero;   // when the last extending grant arrived
  Time epoch_since_ = kTimeZero;  // when reset() started this epoch
  Time last_request_ = kTimeZero;
  bool relinquished_ = false;
};

struct LeaseAnswer {
  bool granted = false;
  Epoch highest;       // the highest epoch this grantor knows (the holder steps down if newer)
  std::string reason;  // why refused
};

// Grantor side (the standby peer for its active region, the Traffic Manager witness for the
// pair). Grants only to an epoch >= the highest it has seen and not fenced.
class LeaseGrantor {
 public:
  // `now` is the start: a grantor that restarted may have granted just before, so it assumes
  // it did (a failover right after a restart waits a full lease).
  LeaseGrantor(LeaseTimes times, Time now);

  LeaseAnswer on_request(const std::string& region, Epoch epoch, Time now);
  // Learned of `epoch` (a hello, a promotion): older epochs are refused from now on.
  void observe(Epoch epoch);
  // A promotion to `new_epoch` begins: stop granting to older epochs. Returns how long the last
  // grant to an older epoch may still be believed (0 when none can), measured from `now`.
  // Asking again for the epoch already fenced answers again (a retried promotion).
  // FAILED_PRECONDITION when `new_epoch` is not newer than every epoch already seen.
  Result<Duration> fence(Epoch new_epoch, Time now);
  // The promotion was refused before anything changed: grant to the old epoch again.
  void lift_fence();
  // The promotion happened: the fence becomes the plain highest epoch.
  void keep_fence() { fence_.reset(); }

  Epoch highest() const { return highest_; }
  // Promoting: grants to the old epoch stopped, the promotion not done yet.
  bool fenced() const { return fence_.has_value(); }
  Time last_grant_given() const { return last_grant_; }
  // The grantor's lease (a witness follows the lease its holders ask for).
  void set_times(LeaseTimes times) { times_ = times; }
  const LeaseTimes& times() const { return times_; }

 private:
  LeaseTimes times_;
  Epoch highest_{0};
  Time last_grant_;
  struct Fence {
    Epoch before_fence;  // highest_ before the fence, restored by lift_fence()
  };
  std::optional<Fence> fence_;
  // The last epoch fenced, and the last grant to an older one then (for a repeated fence).
  std::optional<Epoch> fenced_epoch_;
  Time older_grant_ = kTimeZero;
};

}  // namespace drsim::model
