#include "cli/recovery_commands.h"

#include <thread>

#include <fmt/format.h>

#include "cli/rpc_clients.h"

namespace drsim::cli {

using namespace drsim::v1;
using namespace std::chrono_literals;

Result<ProtectItemResponse> run_protect_group(const TopologyState& state, const std::string& group,
                                              const std::vector<std::string>& items,
                                              const ProtectOptions& spec,
                                              std::vector<std::string>* lines) {
  if (group.empty()) return invalid_argument("--group: name the consistency group");
  if (items.size() < 2) {
    return invalid_argument(fmt::format(
        "--item: a consistency group needs 2 to 16 items (got {}); protect a single one without "
        "--group",
        items.size()));
  }
  ProtectOptions one = spec;
  one.item = items.front();  // only the shared fields are used
  auto req = build_protect_request(one);
  if (!req.is_ok()) return req.status();
  std::string standby = find_standby(state);
  if (standby.empty()) {
    return failed_precondition(
        "no region answers as standby: protection is set up in the replication target");
  }
  ProtectGroupRequest g;
  g.set_group(group);
  for (const auto& i : items) g.add_items(i);
  *g.mutable_spec() = *req;
  auto r = sr_protect_group(state.at(standby).address, g);
  if (!r.is_ok()) return r.status();
  const auto& info = r->item();
  std::string members;
  for (const auto& m : info.members()) members += (members.empty() ? "" : ", ") + m;
  lines->push_back(fmt::format(
      "protecting consistency group {} [{}] from {} to {} (job {}): one recovery point holds "
      "every member",
      info.item(), members, info.active_region(), info.target(), r->job_id()));
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(spec.wait_s * 1000));
  std::string last = info.state();
  while (spec.wait_s > 0 && last != "Protected" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    auto now = sr_items(state.at(standby).address);
    if (!now.is_ok()) break;
    for (const auto& i : now->items()) {
      if (i.item() == group) last = i.state();
    }
  }
  lines->push_back("  state: " + last);
  return r;
}

int cmd_protect_group(const std::string& home, const std::string& group,
                      const std::vector<std::string>& items, const ProtectOptions& spec,
                      bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_protect_group(state, group, items, spec, lines);
      },
      as_json);
}

Result<ChangeRecoveryPointResponse> run_change_point(const TopologyState& state,
                                                     const ChangePointOptions& o,
                                                     std::vector<std::string>* lines) {
  auto choice = parse_point_choice(o.point, o.point_id);
  if (!choice.is_ok()) return choice.status();
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  ChangeRecoveryPointRequest req;
  for (const auto& i : o.items) req.add_items(i);
  req.set_point(*choice);
  req.set_point_id(o.point_id);
  req.set_dry_run(true);
  auto preview = sr_change_point(state.at(*vault).address, req);
  if (!preview.is_ok()) return preview.status();
  for (const auto& item : preview->items()) {
    lines->push_back(fmt::format("{}: recovery point {} ({}) -> {} ({}, {} on drsim's clock)",
                                 item.item(), item.from().id(), item.from().type(), item.to().id(),
                                 item.to().type(), format_wall(item.to().time_unix_nanos())));
    for (const auto& w : item.workloads()) {
      std::string line = fmt::format(
          "  {:<10} point seq {} -> {}; {} holds seq {}: {} write(s) made since the failover "
          "discarded",
          w.workload(), w.from_point_seq(), w.to_point_seq(), *vault, w.current_seq(),
          w.writes_discarded());
      if (w.writes_regained() > 0) {
        line += fmt::format("; {} write(s) of the old primary regained", w.writes_regained());
      }
      if (w.writes_given_up() > 0) {
        line += fmt::format("; {} more write(s) of the old primary given up", w.writes_given_up());
      }
      lines->push_back(line);
    }
  }
  if (o.dry_run) {
    lines->push_back("dry run: nothing changed");
    return preview;
  }
  req.set_dry_run(false);
  auto r = sr_change_point(state.at(*vault).address, req);
  if (!r.is_ok()) return r.status();
  lines->push_back(fmt::format("{} (job {})", r->message(), r->job_id()));
  return r;
}

int cmd_change_point(const std::string& home, const ChangePointOptions& options, bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_change_point(state, options, lines);
      },
      as_json);
}

}  // namespace drsim::cli
