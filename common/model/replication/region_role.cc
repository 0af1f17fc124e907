#include "common/model/replication/region_role.h"

#include <algorithm>

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
    return unavailable("region " + region_ + " restarted as active at epoch " +
                       std::to_string(epoch_.value()) +
                       " and is confirming with its peer that no failover happened");
  }
  return Status::ok();
}

Result<RoleChanged> RegionRole::failover(const std::string& reason) {
  if (role_ == Role::kActive) {
    return failed_precondition("region " + region_ + " is already the active region (epoch " +
                               std::to_string(epoch_.value()) + "); fail over on the standby");
  }
  Epoch next = std::max(epoch_, highest_seen_).next();
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
                      std::to_string(epoch_.value()) + ": fenced, stepping down to standby";
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

Status RegionRole::admit_source(const std::string& source_region, Epoch source_epoch) {
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
