#include "common/core/rpc_access.h"

#include <algorithm>

namespace drsim {

const std::vector<RpcRule>& rpc_rules() {
  using enum RpcCallers;
  static const std::vector<RpcRule> rules = {
      {"/drsim.v1.Workload/Put", kAnyIdentity},
      {"/drsim.v1.Workload/Delete", kAnyIdentity},
      {"/drsim.v1.Workload/Get", kAnyIdentity},
      {"/drsim.v1.Workload/WriteBatch", kAnyIdentity},
      {"/drsim.v1.Workload/Scan", kAnyIdentity},
      {"/grpc.health.v1.Health/Check", kAnyIdentity},
      {"/grpc.health.v1.Health/Watch", kAnyIdentity},

      {"/drsim.v1.RegionAdmin/GetStatus", kAnyIdentity},
      {"/drsim.v1.RegionAdmin/Failover", kOperator},
      {"/drsim.v1.RegionAdmin/SetOutage", kOperator},
      {"/drsim.v1.RegionAdmin/SetPeer", kOperator},
      {"/drsim.v1.RegionAdmin/SetWitness", kOperator},
      {"/drsim.v1.RegionAdmin/SetClockOffset", kOperator},
      {"/drsim.v1.RegionAdmin/SetClockDrift", kOperator},
      {"/drsim.v1.RegionAdmin/Reprotect", kOperator},
      {"/drsim.v1.RegionAdmin/PlannedFailover", kOperator},

      // A Hello sets the standby's epoch and the stream writes its data: the peer only.
      {"/drsim.v1.Replication/Stream", kPeerRegion},
      {"/drsim.v1.Replication/Fence", kPeerRegion},

      {"/drsim.v1.SiteRecovery/Protect", kOperator},
      {"/drsim.v1.SiteRecovery/ListItems", kAnyIdentity},
      {"/drsim.v1.SiteRecovery/ListPoints", kAnyIdentity},
      {"/drsim.v1.SiteRecovery/UnplannedFailover", kOperator},
      {"/drsim.v1.SiteRecovery/TestFailover", kOperator},
      {"/drsim.v1.SiteRecovery/CleanupTestFailover", kOperator},
      {"/drsim.v1.SiteRecovery/Commit", kOperator},
      {"/drsim.v1.SiteRecovery/ReprotectItems", kOperator},
      {"/drsim.v1.SiteRecovery/ListJobs", kAnyIdentity},
      {"/drsim.v1.SiteRecovery/AdoptItems", kPeerRegion},  // the hand-over of a failover
      {"/drsim.v1.SiteRecovery/PlannedFailoverItems", kOperator},
      {"/drsim.v1.SiteRecovery/ProtectGroup", kOperator},
      {"/drsim.v1.SiteRecovery/ChangeRecoveryPoint", kOperator},
      {"/drsim.v1.SiteRecovery/CreatePlan", kOperator},  // its scripts run as the daemon's user
      {"/drsim.v1.SiteRecovery/ListPlans", kAnyIdentity},
      {"/drsim.v1.SiteRecovery/GetPlan", kAnyIdentity},
      {"/drsim.v1.SiteRecovery/RunPlan", kOperator},
      {"/drsim.v1.SiteRecovery/ResumePlan", kOperator},

      {"/drsim.v1.Backup/CreateVault", kOperator},
      {"/drsim.v1.Backup/DeleteVault", kOperator},
      {"/drsim.v1.Backup/ListVaults", kAnyIdentity},
      {"/drsim.v1.Backup/CreatePolicy", kOperator},
      {"/drsim.v1.Backup/Protect", kOperator},
      {"/drsim.v1.Backup/BackupNow", kOperator},
      {"/drsim.v1.Backup/StopProtection", kOperator},
      {"/drsim.v1.Backup/Undelete", kOperator},
      {"/drsim.v1.Backup/ResumeProtection", kOperator},
      {"/drsim.v1.Backup/Restore", kOperator},
      {"/drsim.v1.Backup/SetVm", kOperator},
      {"/drsim.v1.Backup/ListVms", kAnyIdentity},
      {"/drsim.v1.Backup/DeleteVm", kOperator},  // not undoable
      {"/drsim.v1.Backup/ReadDisk", kAnyIdentity},
      {"/drsim.v1.Backup/SetBackupClock", kOperator},
      {"/drsim.v1.Backup/CreateSnapshot", kOperator},
      {"/drsim.v1.Backup/ListSnapshots", kAnyIdentity},
      {"/drsim.v1.Backup/DeleteSnapshot", kOperator},
      {"/drsim.v1.Backup/CreateDisk", kOperator},
      {"/drsim.v1.Backup/CaptureImage", kOperator},
      {"/drsim.v1.Backup/ListImages", kAnyIdentity},
      {"/drsim.v1.Backup/CreateVmFromImage", kOperator},
      {"/drsim.v1.Backup/GetCost", kAnyIdentity},
      {"/drsim.v1.Backup/GeoPutBlob", kPeerRegion},  // the paired region's geo-redundant copy
      {"/drsim.v1.Backup/GeoApplyOps", kPeerRegion},

      {"/drsim.v1.FaultProxy/AddLink", kOperator},
      {"/drsim.v1.FaultProxy/RemoveLink", kOperator},
      {"/drsim.v1.FaultProxy/SetFault", kOperator},
      {"/drsim.v1.FaultProxy/Heal", kOperator},
      {"/drsim.v1.FaultProxy/ListLinks", kAnyIdentity},

      {"/drsim.v1.TrafficManager/RenewLease", kRegion},  // the lease witness
      {"/drsim.v1.TrafficManager/FenceLease", kRegion},
      {"/drsim.v1.TrafficManager/Resolve", kAnyIdentity},
      {"/drsim.v1.TrafficManager/ListEndpoints", kAnyIdentity},
      {"/drsim.v1.TrafficManager/WatchRouting", kAnyIdentity},
      {"/drsim.v1.TrafficManager/ListProfiles", kAnyIdentity},
      {"/drsim.v1.TrafficManager/SetLatency", kOperator},
  };
  return rules;
}

std::optional<RpcCallers> rpc_callers(std::string_view method) {
  for (const RpcRule& rule : rpc_rules()) {
    if (rule.method == method) return rule.callers;
  }
  return std::nullopt;
}

namespace {
std::string allowed_text(RpcCallers callers, const RpcAccessContext& context) {
  switch (callers) {
    case RpcCallers::kAnyIdentity:
      return "any identity of the topology's CA";
    case RpcCallers::kOperator:
      return "operator";
    case RpcCallers::kPeerRegion:
      return context.peer_region.empty() ? "the peer region (none configured)"
                                         : context.peer_region + " (the peer region)";
    case RpcCallers::kRegion: {
      std::string out;
      for (const std::string& r : context.regions) out += (out.empty() ? "" : ", ") + r;
      return out.empty() ? "the regions (none configured)" : out + " (the regions)";
    }
  }
  return "nobody";
}

bool allowed(RpcCallers callers, std::string_view caller, const RpcAccessContext& context) {
  switch (callers) {
    case RpcCallers::kAnyIdentity:
      return !caller.empty();
    case RpcCallers::kOperator:
      return caller == "operator";
    case RpcCallers::kPeerRegion:
      return !context.peer_region.empty() && caller == context.peer_region;
    case RpcCallers::kRegion:
      return std::find(context.regions.begin(), context.regions.end(), caller) !=
             context.regions.end();
  }
  return false;
}
}  // namespace

Status check_rpc_access(std::string_view method, std::string_view caller,
                        const RpcAccessContext& context) {
  auto callers = rpc_callers(method);
  if (!callers) {
    return Status(StatusCode::kPermissionDenied,
                  std::string(method) + ": not a drsim RPC; nobody may call it");
  }
  if (allowed(*callers, caller, context)) return Status::ok();
  return Status(StatusCode::kPermissionDenied,
                std::string(method) + ": caller '" + std::string(caller) +
                    "' may not call it (allowed: " + allowed_text(*callers, context) + ")");
}

Status check_claimed_region(std::string_view field, std::string_view claimed,
                            std::string_view caller) {
  if (caller.empty() || claimed == caller) return Status::ok();
  return Status(StatusCode::kPermissionDenied,
                std::string(field) + ": claims region '" + std::string(claimed) +
                    "' but the caller's certificate is '" + std::string(caller) + "'");
}

}  // namespace drsim
