#include "common/model/trafficmgr/epoch_guard.h"

#include <utility>

#include "common/core/check.h"

namespace drsim::model {

TmEpochGuard::TmEpochGuard(std::vector<std::string> names)
    : names_(std::move(names)), endpoints_(names_.size()) {}

EpochJudgement TmEpochGuard::on_probe_result(size_t endpoint, ProbeOutcome outcome,
                                             const std::optional<RegionClaim>& claim) {
  DRSIM_CHECK(endpoint < endpoints_.size());
  EndpointState& e = endpoints_[endpoint];
  if (claim) {
    e.claim = claim;
    if (claim->epoch > newest_) {
      newest_ = claim->epoch;
      newest_from_ = endpoint;
    }
  }
  EpochJudgement judged{outcome, ""};
  if (outcome == ProbeOutcome::kSuccess && claim && claim->epoch < newest_) {
    judged.outcome = ProbeOutcome::kFailure;
    judged.superseded = "superseded: answered SERVING as " +
                        std::string(role_name(claim->role)) + " at epoch " +
                        std::to_string(claim->epoch.value()) + ", but " + names_[newest_from_] +
                        " reported epoch " + std::to_string(newest_.value());
  }
  if (outcome == ProbeOutcome::kSuccess) e.superseded = judged.superseded;
  return judged;
}

const std::optional<RegionClaim>& TmEpochGuard::claim(size_t endpoint) const {
  DRSIM_CHECK(endpoint < endpoints_.size());
  return endpoints_[endpoint].claim;
}

const std::string& TmEpochGuard::superseded(size_t endpoint) const {
  DRSIM_CHECK(endpoint < endpoints_.size());
  return endpoints_[endpoint].superseded;
}

}  // namespace drsim::model
