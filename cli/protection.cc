#include "cli/protection.h"

#include <fmt/format.h>

#include "cli/rpc_clients.h"
#include "cli/site_recovery.h"
#include "cli/units.h"

namespace drsim::cli {

using namespace drsim::v1;

namespace {

std::string other(const std::string& region) {
  return region == "primary" ? "secondary" : "primary";
}

const char* kind_label(ResyncKind k) {
  switch (k) {
    case RESYNC_KIND_DELTA: return "delta";
    case RESYNC_KIND_FULL: return "full copy";
    default: return "nothing to resync";
  }
}

Status check_region(const std::string& flag, const std::string& region) {
  if (region.empty() || is_region(region)) return Status::ok();
  return invalid_argument(flag + ": '" + region + "' is not primary or secondary");
}

// Site Recovery: the protected items that replicated into the new active region fail over with
// the region pair, at a point holding every drained write; with `reprotect` they are committed
// and re-protected at once (the region pair already replicates back).
void follow_with_items(const TopologyState& state, PlannedFailoverOutcome& out,
                       const std::string& reason, bool reprotect) {
  PlannedFailoverItemsRequest req;
  for (const auto& c : out.response.drained()) (*req.mutable_drained_seqs())[c.workload()] = c.seq();
  req.set_reason(reason);
  const std::string& address = state.at(out.to).address;
  auto items = sr_planned_failover_items(address, req);
  if (!items.is_ok()) {
    out.lines.push_back("  protected items did not follow: " + items.status().message());
    return;
  }
  for (const auto& i : items->items()) {
    out.lines.push_back(fmt::format(
        "  {:<10} FailedOver to recovery point {} (seq {}): nothing given up (job {})", i.item(),
        i.point().id(), point_seqs_text(i.item(), i.point()), items->job_id()));
  }
  out.items_failed_over = items->items_size();
  if (out.items_failed_over == 0) return;
  if (!reprotect) {
    out.lines.push_back("  commit with `drsim commit`, then `drsim reprotect`");
    return;
  }
  auto committed = sr_commit(address, CommitRequest());
  auto moved = committed.is_ok() ? sr_reprotect_items(address, true, false)
                                 : Result<ReprotectItemsResponse>(committed.status());
  if (!moved.is_ok()) {
    out.lines.push_back("  protected items not re-protected: " + moved.status().message());
    return;
  }
  for (const auto& i : moved->items()) {
    out.lines.push_back(fmt::format("  {:<10} committed and re-protected: {}, replicating to {}",
                                    i.item(), i.state(), i.replication_target()));
  }
  for (const auto& note : moved->notes()) out.lines.push_back("  " + note);
}

}  // namespace

std::vector<std::string> describe_resync(const ResyncStats& s) {
  std::vector<std::string> lines;
  std::string head = fmt::format("{}, {} change(s), {} key(s) copied, {} in {}",
                                 kind_label(s.kind()), s.changes(), s.keys_copied(),
                                 human_bytes(s.bytes()),
                                 human_duration_ms(static_cast<uint64_t>(s.duration_ms())));
  if (s.rolled_back_entries() > 0) {
    head += fmt::format("; {} unreplicated entr{} of the former active region rolled back "
                        "({} key(s) restored)",
                        s.rolled_back_entries(), s.rolled_back_entries() == 1 ? "y" : "ies",
                        s.restored_keys());
  }
  lines.push_back(head);
  for (const auto& w : s.workloads()) {
    std::string line =
        w.kind() == RESYNC_KIND_DELTA
            ? fmt::format("  {:<10} delta from seq {} (epoch {}) to {}: {} change(s), {}",
                          w.workload(), w.common_seq(), w.common_epoch(), w.target_seq(),
                          w.changes(), human_bytes(w.bytes()))
            : fmt::format("  {:<10} {} to seq {}: {} key(s), {} change(s), {}", w.workload(),
                          kind_label(w.kind()), w.target_seq(), w.keys_copied(), w.changes(),
                          human_bytes(w.bytes()));
    if (w.kind() != RESYNC_KIND_DELTA && !w.reason().empty()) line += " (" + w.reason() + ")";
    lines.push_back(line);
  }
  if (!s.error().empty()) lines.push_back("  stopped: " + s.error());
  return lines;
}

Result<PlannedFailoverOutcome> run_planned_failover(const TopologyState& state, std::string to,
                                                    const std::string& reason,
                                                    uint32_t drain_timeout_ms, bool reprotect) {
  if (Status s = check_region("--region", to); !s.is_ok()) return s;
  if (drain_timeout_ms == 0 || drain_timeout_ms > 600'000) {
    return invalid_argument(fmt::format("drain timeout: {} ms is outside 1..600000 ms",
                                        drain_timeout_ms));
  }
  if (to.empty()) {
    to = find_standby(state);
    if (to.empty()) {
      return failed_precondition("no region answers as standby, so there is nothing to fail "
                                 "over to in a planned way; if the active region is down, run "
                                 "an unplanned `drsim failover`");
    }
  }
  PlannedFailoverOutcome out;
  out.to = to;
  out.from = other(to);
  auto r = region_planned_failover(state.at(to).address, reason, drain_timeout_ms, reprotect);
  if (!r.is_ok()) return r.status();
  out.response = *r;
  out.lines.push_back(fmt::format(
      "planned failover {} -> {}: {} active at epoch {}; writes paused {:.1f} ms, {:.0f} ms "
      "from request to promotion",
      out.from, out.to, out.to, r->new_epoch(), r->writes_paused_ms(), r->duration_ms()));
  for (const auto& c : r->drained()) {
    out.lines.push_back(fmt::format("  {:<10} drained through seq {} (epoch {}): nothing lost",
                                    c.workload(), c.seq(), c.epoch()));
  }
  follow_with_items(state, out, reason, reprotect);
  out.lines.push_back(
      r->protection() == REGION_PROTECTION_UNPROTECTED
          ? fmt::format("  {} is not protected yet: run `drsim reprotect` to replicate it to {}",
                        out.to, out.from)
          : fmt::format("  {} replicates to {} again", out.to, out.from));
  return out;
}

Result<ReprotectOutcome> run_reprotect(const TopologyState& state, std::string active,
                                       const std::string& reason) {
  if (Status s = check_region("--region", active); !s.is_ok()) return s;
  if (active.empty()) {
    active = find_region(state, ROLE_ACTIVE);
    if (active.empty()) {
      return failed_precondition("no region answers as active; fail over first (`drsim "
                                 "failover`), then re-protect");
    }
  }
  ReprotectOutcome out;
  out.active = active;
  out.standby = other(active);
  // Site Recovery guard rail: an item failed over to a recovery point must be committed first.
  // Without protected items (the plain `drsim failover` flow) there is nothing to commit.
  if (auto guard = sr_reprotect_items(state.at(active).address, false, true);
      !guard.is_ok() && guard.status().code() == StatusCode::kFailedPrecondition) {
    return guard.status();
  }
  auto r = region_reprotect(state.at(active).address, reason, kReprotectDeadline);
  if (!r.is_ok()) return r.status();
  out.response = *r;
  auto resync = describe_resync(r->resync());
  out.lines.push_back(fmt::format("re-protect {} -> {}: {}", out.active, out.standby, resync[0]));
  for (size_t i = 1; i < resync.size(); ++i) out.lines.push_back(resync[i]);
  auto items = sr_reprotect_items(state.at(active).address,
                                  r->resync().kind() != RESYNC_KIND_FULL, false);
  if (!items.is_ok()) {
    out.lines.push_back("  protected items not moved on: " + items.status().message());
  } else {
    for (int k = 0; k < items->items_size(); ++k) {
      const auto& i = items->items(k);
      // Each item has its own Reprotect job (a daemon from before job_ids answers the last).
      const uint64_t job = k < items->job_ids_size() ? items->job_ids(k) : items->job_id();
      out.lines.push_back(fmt::format("  {:<10} {} in {}, replicating to {} (job {})", i.item(),
                                      i.state(), i.active_region(), i.replication_target(), job));
    }
    for (const auto& note : items->notes()) out.lines.push_back("  " + note);
  }
  return out;
}

Result<FailbackOutcome> run_failback(const TopologyState& state, const std::string& reason,
                                     uint32_t drain_timeout_ms) {
  auto st = region_status(state.at("primary").address);
  if (!st.is_ok()) {
    return failed_precondition("cannot fail back: the primary region does not answer (" +
                               st.status().message() + ")");
  }
  auto sec = region_status(state.at("secondary").address);
  const bool failed_over =
      sec.is_ok() && sec->role() == ROLE_ACTIVE && sec->epoch() > st->epoch();
  if (st->outage()) {
    // In an outage the primary may not have learned of the failover: the secondary says.
    if (!failed_over && st->role() == ROLE_ACTIVE) {
      return failed_precondition(
          "cannot fail back: nothing failed over — the primary region is still the active "
          "region, in an injected outage. To move clients off it, fail over to the secondary "
          "(`drsim failover`); fail back once the primary is healed (`drsim heal --region "
          "primary`) and re-protected (`drsim reprotect`)");
    }
    return failed_precondition(
        "cannot fail back: the primary region is in an injected outage; end it first (`drsim "
        "heal --region primary`), re-protect (`drsim reprotect`), then `drsim failback`");
  }
  if (st->role() == ROLE_ACTIVE && !failed_over) {
    return failed_precondition("nothing to fail back: the primary region is already active");
  }
  if (sec.is_ok() && sec->role() == ROLE_ACTIVE &&
      sec->protection() == REGION_PROTECTION_UNPROTECTED) {
    return failed_precondition("cannot fail back yet: the secondary is active but does not "
                               "replicate to the primary; run `drsim reprotect` first, then "
                               "`drsim failback`");
  }
  FailbackOutcome out;
  auto fo = run_planned_failover(state, "primary", reason, drain_timeout_ms, false);
  if (!fo.is_ok()) {
    return Status(fo.status().code(),
                  "failback (planned failover to primary): " + fo.status().message());
  }
  out.failover = std::move(*fo);
  out.failover.lines.pop_back();  // "not protected yet": the re-protect below does it
  if (out.failover.items_failed_over > 0) {
    // The items follow the lifecycle: FailedOver (above), commit, then re-protect below.
    out.failover.lines.pop_back();  // "commit with ...": done here
    auto committed = sr_commit(state.at("primary").address, CommitRequest());
    if (!committed.is_ok()) {
      return Status(committed.status().code(),
                    "failback reached the primary, but committing the protected items failed: " +
                        committed.status().message() + " (run `drsim commit`, then `drsim "
                        "reprotect`)");
    }
    for (const auto& i : committed->items()) {
      out.failover.lines.push_back(fmt::format("  {:<10} committed ({})", i.item(), i.state()));
    }
  }
  auto rp = run_reprotect(state, "primary", reason);
  if (!rp.is_ok()) {
    return Status(rp.status().code(),
                  "failback reached the primary, but re-protecting it to the secondary failed: " +
                      rp.status().message() + " (run `drsim reprotect` again)");
  }
  out.reprotect = std::move(*rp);
  return out;
}

}  // namespace drsim::cli
