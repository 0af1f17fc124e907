#include "common/model/replication/lease.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace drsim::model {

namespace {

// Requests older than a lease cannot extend anything: forget them.
constexpr size_t kMaxOutstanding = 64;


Duration scale(Duration d, double factor) {
  return Duration(static_cast<Duration::rep>(std::floor(static_cast<double>(d.count()) * factor)));
}

}  // namespace

Status LeaseTimes::validate(const std::string& where) const {
  using std::chrono::milliseconds;
  if (lease < milliseconds(10) || lease > milliseconds(60'000)) {
    return invalid_argument(where + ".lease_ms: " + std::to_string(whole_ms(lease)) +
                            " is outside 10..60000");
  }
  if (renew_interval <= Duration::zero() || renew_interval * 2 > lease) {
    return invalid_argument(where + ".lease_renew_interval_ms: " +
                            std::to_string(whole_ms(renew_interval)) +
                            " must be > 0 and at most half the lease (" +
                            std::to_string(whole_ms(lease)) + " ms), so a lease sees two renewals");
  }
  if (!(drift >= 0 && drift < 0.5)) {
    return invalid_argument(where + ".lease_drift: " + std::to_string(drift) +
                            " is outside [0, 0.5)");
  }
  return Status::ok();
}

bool drift_within_bound(const LeaseTimes& times, double holder_rate, double grantor_rate) {
  // Cross-multiplied, so a rate of exactly the bound is inside it.
  return (1.0 + grantor_rate) * (1.0 - times.drift) <= (1.0 + times.drift) * (1.0 + holder_rate);
}

Status check_clock_drift(const LeaseTimes& times, const std::map<std::string, double>& rates) {
  auto ppm = [](double rate) { return std::llround(rate * 1e6); };
  for (const auto& [holder, holder_rate] : rates) {
    for (const auto& [grantor, grantor_rate] : rates) {
      if (holder == grantor || drift_within_bound(times, holder_rate, grantor_rate)) continue;
      char ratios[96];
      std::snprintf(ratios, sizeof ratios, "%.4f between two clocks, these two are at %.4f",
                    (1.0 + times.drift) / (1.0 - times.drift),
                    (1.0 + grantor_rate) / (1.0 + holder_rate));
      return invalid_argument(
          "clock drift: " + holder + " runs at " + std::to_string(ppm(holder_rate)) + " ppm and " +
          grantor + " at " + std::to_string(ppm(grantor_rate)) + " ppm, so a lease " + holder +
          " holds could outlast " + grantor + "'s belief in it (two active regions): the lease's " +
          "drift bound ε = " + std::to_string(ppm(times.drift)) +
          " ppm allows a rate ratio of at most " + ratios);
    }
  }
  return Status::ok();
}

Duration LeaseTimes::holder_validity() const { return scale(lease, 1.0 - drift); }

Duration LeaseTimes::grantor_belief() const {
  // Rounded up: the grantor must never stop believing early.
  return Duration(static_cast<Duration::rep>(
      std::ceil(static_cast<double>(lease.count()) * (1.0 + drift))));
}

// ---------------------------------------------------------------- holder

LeaseHolder::LeaseHolder(LeaseTimes times, std::string grantors)
    : times_(times), grantors_(std::move(grantors)) {}

void LeaseHolder::reset(Epoch epoch, Time now) {
  epoch_ = epoch;
  sent_.clear();
  valid_until_ = kTimeZero;
  last_grant_ = kTimeZero;
  epoch_since_ = now;
  last_request_ = kTimeZero;
  relinquished_ = false;
}

uint64_t LeaseHolder::on_request_sent(Time now) {
  uint64_t id = next_id_++;
  sent_[id] = now;
  last_request_ = now;
  while (sent_.size() > kMaxOutstanding) sent_.erase(sent_.begin());
  return id;
}

bool LeaseHolder::on_granted(uint64_t id, Epoch epoch, Time now) {
  if (epoch != epoch_ || relinquished_) return false;
  auto it = sent_.find(id);
  if (it == sent_.end()) return false;
  Time until = it->second + times_.holder_validity();
  // Every older request is answered or superseded by this one (it was sent later).
  sent_.erase(sent_.begin(), std::next(it));
  bool was_valid = valid(now);
  if (until > valid_until_) {
    valid_until_ = until;
    last_grant_ = now;
  }
  return !was_valid && valid(now);
}

void LeaseHolder::relinquish(Time now) {
  valid_until_ = std::min(valid_until_, now);
  sent_.clear();
  relinquished_ = true;
}

Duration LeaseHolder::expires_in(Time now) const {
  return valid(now) ? valid_until_ - now : Duration::zero();
}

std::string LeaseHolder::lost_reason(Time now) const {
  if (valid(now)) return "";
  if (relinquished_) return "lease relinquished: handed over to the peer";
  if (last_grant_ == kTimeZero) {
    return "no lease yet at epoch " + std::to_string(epoch_.value()) + ": no grant from " +
           grantors_ + " for " + std::to_string(whole_ms(now - epoch_since_)) + " ms";
  }
  return "lease expired: no renewal from " + grantors_ + " for " +
         std::to_string(whole_ms(now - last_grant_)) + " ms";
}

// ---------------------------------------------------------------- grantor

LeaseGrantor::LeaseGrantor(LeaseTimes times, Time now) : times_(times), last_grant_(now) {}

LeaseAnswer LeaseGrantor::on_request(const std::string& region, Epoch epoch, Time now) {
  LeaseAnswer a;
  a.highest = highest_;
  if (epoch < highest_) {
    a.reason = "region " + region + " asked for a lease at epoch " +
               std::to_string(epoch.value()) + " but epoch " + std::to_string(highest_.value()) +
               (fence_ ? " is being promoted" : " is newer");
    return a;
  }
  highest_ = epoch;
  a.highest = epoch;
  a.granted = true;
  last_grant_ = std::max(last_grant_, now);
  return a;
}

void LeaseGrantor::observe(Epoch epoch) { highest_ = std::max(highest_, epoch); }

Result<Duration> LeaseGrantor::fence(Epoch new_epoch, Time now) {
  if (fenced_epoch_ != new_epoch) {
    if (new_epoch <= highest_) {
      return failed_precondition("cannot fence for epoch " + std::to_string(new_epoch.value()) +
                                 ": epoch " + std::to_string(highest_.value()) +
                                 " is already known");
    }
    fence_ = Fence{highest_};
    highest_ = new_epoch;
    fenced_epoch_ = new_epoch;
    older_grant_ = last_grant_;  // every grant so far went to an epoch older than new_epoch
  }
  Time believed_until = older_grant_ + times_.grantor_belief();
  return believed_until > now ? believed_until - now : Duration::zero();
}

void LeaseGrantor::lift_fence() {
  if (!fence_) return;
  highest_ = fence_->before_fence;
  fence_.reset();
  fenced_epoch_.reset();
}

}  // namespace drsim::model
