#include "common/model/replication/region_role.h"

#include <algorithm>
#include <limits>

namespace drsim::model {

const char* role_name(Role r) { return r == Role::kActive ? "active" : "standby"; }

RegionRole::RegionRole(std::string region, std::string peer_region, Role role, Epoch epoch,
                       Confirmation confirmation)
    : region_(std::move(region)),
      peer_(std::move(peer_region)),
      role_(role),
      epoch_(epoch),
      highest_seen_(epoch),
      confirmation_(role == Role::kStandby ? Confirmation::kConfirmed : confirmation) {}

Status RegionRole::admit_write() const {
  if (role_ == Role::kStandby) {
    return failed_precondition("region " + region_ + " is the standby; the active region is " +
                               peer_ + " (epoch " + std::to_string(highest_seen_.value()) + ")");
  }
  if (!confirmed()) {
    return unavailable("region " + region_ + " is active at epoch " +
                       std::to_string(epoch_.value()) +
                       " but unconfirmed: it is confirming with its peer " + peer_ +
                       " that no other region is active");
  }
  return Status::ok();
}

Result<RoleChanged> RegionRole::failover(const std::string& reason) {
  if (role_ == Role::kActive) {
    return failed_precondition("region " + region_ + " is already active at epoch " +
                               std::to_string(epoch_.value()) +
                               "; a failover promotes a standby: fail over to " + peer_ +
                               " only if it is the standby");
  }
  const Epoch current = std::max(epoch_, highest_seen_);
  if (current.value() == std::numeric_limits<uint64_t>::max()) {
    return failed_precondition("region " + region_ + " cannot fail over: epoch " +
                               std::to_string(current.value()) +
                               " is the largest there is and the next would wrap to 0");
  }
  Epoch next = current.next();
  RoleChanged change{Role::kStandby, Role::kActive, next, reason};
  role_ = Role::kActive;
  epoch_ = next;
  highest_seen_ = next;
  confirmation_ = Confirmation::kConfirmed;
  fenced_reason_.clear();
  return change;
}

std::optional<RoleChanged> RegionRole::on_peer_epoch(Epoch peer_epoch, Role peer_role) {
  highest_seen_ = std::max(highest_seen_, peer_epoch);
  if (role_ == Role::kActive && peer_role == Role::kActive && peer_epoch > epoch_) {
    std::string why = "peer " + peer_ + " is active at epoch " +
                      std::to_string(peer_epoch.value()) + " > ours " +
                      std::to_string(epoch_.value()) + ": fenced, stepped down to standby";
    RoleChanged change{Role::kActive, Role::kStandby, peer_epoch, why};
    role_ = Role::kStandby;
    epoch_ = peer_epoch;
    fenced_reason_ = why;
    confirmation_ = Confirmation::kConfirmed;
    return change;
  }
  return std::nullopt;
}

Result<RoleChanged> RegionRole::hand_over(Epoch peer_epoch) {
  if (role_ != Role::kActive) {
    return failed_precondition("region " + region_ + " is not active; nothing to hand over");
  }
  if (peer_epoch <= epoch_) {
    return failed_precondition("peer epoch " + std::to_string(peer_epoch.value()) +
                               " is not newer than ours (" + std::to_string(epoch_.value()) + ")");
  }
  std::string why = "planned failover: handed over to " + peer_ + " at epoch " +
                    std::to_string(peer_epoch.value()) + "; standby now";
  RoleChanged change{Role::kActive, Role::kStandby, peer_epoch, why};
  role_ = Role::kStandby;
  epoch_ = peer_epoch;
  highest_seen_ = std::max(highest_seen_, peer_epoch);
  fenced_reason_ = why;
  confirmation_ = Confirmation::kConfirmed;
  return change;
}

Status RegionRole::check_peer_claim(const std::string& who, Epoch claimed) const {
  // highest_seen_ + 1 without overflow: a claim above the largest epoch can never be made.
  if (claimed > highest_seen_ && claimed.value() - highest_seen_.value() > 1) {
    return failed_precondition(
        "epoch " + std::to_string(claimed.value()) + " claimed by " + who +
        " is more than one past the highest epoch region " + region_ + " has seen (" +
        std::to_string(highest_seen_.value()) + "): a failover only ever moves to the next "
        "epoch, so this claim is refused and changes nothing");
  }
  return Status::ok();
}

Status RegionRole::admit_source(const std::string& source_region, Epoch source_epoch) {
  if (Status s = check_peer_claim(source_region, source_epoch); !s.is_ok()) return s;
  if (role_ == Role::kActive) {
    return failed_precondition("region " + region_ + " is active at epoch " +
                               std::to_string(epoch_.value()) + "; " + source_region + " (epoch " +
                               std::to_string(source_epoch.value()) +
                               ") is fenced and must not replicate to it");
  }
  if (source_epoch < highest_seen_) {
    return failed_precondition("stale epoch " + std::to_string(source_epoch.value()) + " from " +
                               source_region + "; current epoch is " +
                               std::to_string(highest_seen_.value()));
  }
  highest_seen_ = source_epoch;
  epoch_ = std::max(epoch_, source_epoch);
  return Status::ok();
}

}  // namespace drsim::model
