// Who may accept client writes: the region's role (active / standby), its
// epoch, and the fencing rules. Pure; the region daemon asks it before every
// write and feeds it what it learns from its peer.
//
// Rules: only an active, confirmed region accepts writes. Failover promotes a
// standby to epoch max(own, highest seen) + 1. A region that learns of a
// higher epoch held by an active peer steps down to standby (it is fenced),
// so a former primary that comes back cannot acknowledge writes that would be
// lost. An active region restarted from disk is unconfirmed until its peer
// answers (or a start-up timeout passes with the peer unreachable).
//
// Epoch bounds: a failover that would need an epoch past the largest uint64 is refused (never
// wraps to 0), and an epoch a peer claims (replication hello, fence) may be at most one past the
// highest this region has seen: epoch e + 1 is only ever made by a region that knew e, so a
// bigger jump is a forged or corrupt claim and must not move this region's state.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

enum class Role { kActive, kStandby };
const char* role_name(Role r);

struct RoleChanged {
  Role from;
  Role to;
  Epoch epoch;
  std::string reason;
};

class RegionRole {
 public:
  enum class Confirmation { kConfirmed, kUnconfirmed };

  RegionRole(std::string region, std::string peer_region, Role role, Epoch epoch,
             Confirmation confirmation);

  // OK when this region may acknowledge a client write now; otherwise
  // FAILED_PRECONDITION naming the active region (or UNAVAILABLE while an
  // active region confirms its epoch after a restart).
  Status admit_write() const;

  // Operator failover on this region. Standby → active at a new epoch.
  Result<RoleChanged> failover(const std::string& reason);

  // The peer told us its epoch and whether it is active (replication hello /
  // reject). Returns a role change when we must step down.
  std::optional<RoleChanged> on_peer_epoch(Epoch peer_epoch, Role peer_role);

  // Planned failover: this active region handed over and its peer is now active at
  // `peer_epoch` (> ours). Active → standby at that epoch, with a planned-failover reason.
  Result<RoleChanged> hand_over(Epoch peer_epoch);

  // Sink side: a source at `source_epoch` wants to stream to us. Refused when
  // we are active, or know a newer epoch (the sender is a fenced primary), or when the epoch is
  // out of bounds (check_peer_claim).
  Status admit_source(const std::string& source_region, Epoch source_epoch);

  // OK when `claimed`, an epoch `who` says it holds, is at most highest_seen() + 1; else
  // FAILED_PRECONDITION naming both epochs. Changes nothing: callers check before they feed
  // the claim to admit_source / on_peer_epoch / hand_over.
  Status check_peer_claim(const std::string& who, Epoch claimed) const;

  // Active region confirmed its epoch (peer answered, or the start-up timeout
  // passed with the peer unreachable).
  void confirm() { confirmation_ = Confirmation::kConfirmed; }
  // An active region back from an outage (its processes were down or cut off, as after a
  // restart) may have missed a failover: it refuses writes until it confirms its epoch again.
  void unconfirm() {
    if (role_ == Role::kActive) confirmation_ = Confirmation::kUnconfirmed;
  }

  // The epoch failover() would promote this region to.
  Epoch promotion_epoch() const { return std::max(epoch_, highest_seen_).next(); }
  Role role() const { return role_; }
  Epoch epoch() const { return epoch_; }
  Epoch highest_seen() const { return highest_seen_; }
  bool confirmed() const { return confirmation_ == Confirmation::kConfirmed; }
  const std::string& region() const { return region_; }
  const std::string& active_region() const { return role_ == Role::kActive ? region_ : peer_; }
  const std::string& fenced_reason() const { return fenced_reason_; }
  bool serving_writes() const { return role_ == Role::kActive && confirmed(); }

 private:
  std::string region_;
  std::string peer_;
  Role role_;
  Epoch epoch_;
  Epoch highest_seen_;
  Confirmation confirmation_;
  std::string fenced_reason_;
};

}  // namespace drsim::model
