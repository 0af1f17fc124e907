#include "cli/commands.h"

#include "cli/interrupt.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/attach.h"
#include "cli/child_process.h"
#include "cli/faults.h"
#include "cli/final_state.h"
#include "cli/json_output.h"
#include "cli/protection.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"
#include "common/model/drill/history_checker.h"
#include "common/model/replication/region_protection.h"
#include "common/model/trafficmgr/status.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

int fail(const Status& s) { return print_error(s); }

// A failure, as the command's output asks.
int fail_as(Output output, const Status& s) { return print_failure(s, output == Output::kJson); }

std::vector<std::string> workload_names(const TopologyConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& w : cfg.workloads) out.push_back(w.name);
  return out;
}

}  // namespace

int cmd_up(const std::string& home, const std::string& config_path, Output output) {
  const bool as_json = output == Output::kJson;
  TopologyConfig cfg;
  if (!config_path.empty()) {
    auto loaded = load_topology_config(config_path);
    if (!loaded.is_ok()) return print_failure(loaded.status(), as_json);
    cfg = *loaded;
  }
  std::vector<std::string> lines;
  auto state = topology_up(home, cfg, [&](const std::string& line) {
    lines.push_back(line);
    if (as_json) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  release_all_processes();  // up: the daemons outlive this command (`drsim down` stops them)
  if (state->netns) release_netns(state->netns->layout);  // and so do their namespaces
  if (as_json) {
    JsonObject daemons = JsonObject::object();
    for (const auto& [name, p] : state->processes) {
      JsonObject d = {{"pid", p.pid}, {"address", p.address}, {"log", p.log}};
      for (const auto& [key, address] : p.more_addresses) d[key] = address;
      daemons[name] = d;
    }
    print_json_document(json_ok({{"home", state->home},
                                 {"state_file", state->state_file()},
                                 {"daemons", daemons},
                                 {"progress", lines}}));
    return 0;
  }
  std::printf("topology is up in %s (state: %s)\n", state->home.c_str(),
              state->state_file().c_str());
  return 0;
}

int cmd_attach(const std::string& home, const std::string& config_path, Output output) {
  const bool as_json = output == Output::kJson;
  auto cfg = load_attach_config(config_path);
  if (!cfg.is_ok()) return print_failure(cfg.status(), as_json);
  std::vector<std::string> lines;
  auto state = attach_topology(home, *cfg, [&](const std::string& line) {
    lines.push_back(line);
    if (as_json) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  if (as_json) {
    JsonObject daemons = JsonObject::object();
    for (const auto& [name, p] : state->processes) daemons[name] = p.address;
    print_json_document(json_ok({{"home", state->home},
                                 {"attached_from", state->attached_from},
                                 {"daemons", daemons},
                                 {"checked", lines}}));
    return 0;
  }
  std::printf("attached %s to the daemons of %s (state: %s); `drsim down` detaches\n",
              state->home.c_str(), config_path.c_str(), state->state_file().c_str());
  return 0;
}

int cmd_down(const std::string& home, Output output) {
  const bool as_json = output == Output::kJson;
  auto state = load_state(home);
  if (!state.is_ok() && state.status().code() == StatusCode::kNotFound) {
    // Idempotent, so `trap 'drsim down' EXIT` is safe: nothing up is not an error.
    if (as_json) {
      print_json_document(json_ok({{"home", home}, {"stopped", JsonObject::array()},
                                   {"detached", false}, {"nothing_up", true}}));
    } else {
      std::printf("down: nothing is up in %s\n", home.c_str());
    }
    return 0;
  }
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  if (!state->attached_from.empty()) {
    // Attached: the daemons are not drsim's to stop. Forget them.
    std::error_code ec;
    std::filesystem::remove(state->state_file(), ec);
    if (ec) {
      return print_failure(
          unavailable("cannot remove " + state->state_file() + ": " + ec.message()), as_json);
    }
    if (as_json) {
      print_json_document(json_ok({{"home", state->home}, {"stopped", JsonObject::array()},
                                   {"detached", true}, {"nothing_up", false}}));
    } else {
      std::printf("down: detached %s from the daemons of %s; they keep running (drsim did not "
                  "start them)\n",
                  state->home.c_str(), state->attached_from.c_str());
    }
    return 0;
  }
  JsonObject stopped = JsonObject::array();
  for (const auto& [name, p] : state->processes) {
    const bool alive = recorded_alive(p.identity());
    stopped.push_back({{"name", name}, {"pid", p.pid}, {"was_running", alive}});
    if (!as_json) {
      std::printf("stopping %-10s pid %d%s\n", name.c_str(), p.pid, alive ? "" : " (not running)");
    }
  }
  if (Status s = topology_down(home, 3s); !s.is_ok()) return print_failure(s, as_json);
  if (as_json) {
    print_json_document(json_ok({{"home", state->home}, {"stopped", stopped},
                                 {"detached", false}, {"nothing_up", false}}));
  } else {
    std::printf("down: every process of %s stopped (data kept under it)\n", state->home.c_str());
  }
  return 0;
}

int cmd_inject(const std::string& home, const std::string& fault,
               const std::map<std::string, std::string>& params, Output output) {
  const bool as_json = output == Output::kJson;
  auto state = load_state(home);
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  std::map<std::string, FaultParam> named;
  for (const auto& [flag, value] : params) {
    std::string key = flag.substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    named[key] = {value, flag};
  }
  auto spec = make_fault(fault, named, "inject", ParamStyle::kFlag);
  if (!spec.is_ok()) return print_failure(spec.status(), as_json);
  auto done = inject_fault(*state, *spec);
  if (!done.is_ok()) return print_failure(done.status(), as_json);
  std::time_t now = std::time(nullptr);
  if (as_json) {
    print_json_document(json_ok({{"fault", fault},
                                 {"target", spec->target},
                                 {"injected", *done},
                                 {"at_unix_seconds", static_cast<int64_t>(now)}}));
    return 0;
  }
  char when[32];
  std::strftime(when, sizeof when, "%H:%M:%S UTC", std::gmtime(&now));
  std::printf("injected %s at %s\n", done->c_str(), when);
  return 0;
}

int cmd_heal(const std::string& home, const std::string& target, bool target_is_region,
             Output output) {
  const bool as_json = output == Output::kJson;
  auto state = load_state(home);
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  if (target_is_region && !state->processes.count(target)) {
    std::string names;
    for (const auto& [name, p] : state->processes) names += (names.empty() ? "" : ", ") + name;
    return print_failure(invalid_argument("--region: '" + target +
                                          "' is not a region or daemon of this topology (" +
                                          names + "); links are healed with --link"),
                         as_json);
  }
  auto lines = heal_faults(*state, target);
  if (!lines.is_ok()) return print_failure(lines.status(), as_json);
  if (as_json) {
    JsonObject body = {{"ok", !lines->empty()}, {"target", target.empty() ? "all" : target},
                       {"healed", *lines}};
    print_json_document(body);
  } else {
    for (const auto& line : *lines) std::printf("%s\n", line.c_str());
  }
  return lines->empty() ? 1 : 0;
}

namespace {
// The facts the healthy-region guard needs, from the active region's status (not answering =
// not healthy: that is what an unplanned failover is for).
model::UnplannedFailoverFacts unplanned_failover_facts(const TopologyState& state,
                                                       const std::string& target) {
  model::UnplannedFailoverFacts f;
  f.target = target;
  f.active = target == "primary" ? "secondary" : "primary";
  // A region that cannot answer its status within half a second is not the healthy case.
  auto st = region_status(state.at(f.active).address, false, std::chrono::milliseconds(500));
  if (!st.is_ok()) return f;
  f.active_answers = true;
  f.active_serving = st->role() == drsim::v1::ROLE_ACTIVE && !st->outage() &&
                     (st->lease().state() == "held" || st->lease().state() == "disabled");
  f.replicating = st->replication_connected() &&
                  st->protection() == drsim::v1::REGION_PROTECTION_PROTECTED;
  for (const auto& w : st->workloads()) {
    f.unreplicated_writes += w.lag_writes();
    if (w.mode() == drsim::v1::MODE_ASYNC) ++f.async_workloads;
  }
  f.unprotected = st->protection() == drsim::v1::REGION_PROTECTION_UNPROTECTED;
  if (f.unprotected) {
    // The target's seqs, where it answers: the active region's seqs past them are on it alone.
    auto target_st = region_status(state.at(target).address, false, std::chrono::milliseconds(500));
    std::map<std::string, uint64_t> there;
    if (target_st.is_ok()) {
      for (const auto& w : target_st->workloads()) there[w.name()] = w.last_seq();
    }
    for (const auto& w : st->workloads()) {
      const uint64_t theirs = there.count(w.name()) ? there[w.name()] : w.last_seq();
      if (w.last_seq() > theirs) f.writes_only_here += w.last_seq() - theirs;
    }
  }
  return f;
}
}  // namespace

namespace {
JsonObject planned_json(const PlannedFailoverOutcome& o) {
  return {{"from", o.from},
          {"to", o.to},
          {"items_failed_over", o.items_failed_over},
          {"response", proto_to_json(o.response)},
          {"messages", o.lines}};
}

JsonObject reprotect_json(const ReprotectOutcome& o) {
  return {{"active", o.active},
          {"standby", o.standby},
          {"response", proto_to_json(o.response)},
          {"messages", o.lines}};
}
}  // namespace

int cmd_failover(const std::string& home, const std::string& region, const std::string& reason,
                 WitnessCheck witness, HealthyActive healthy, Output output) {
  auto fail = [output](const Status& s) { return fail_as(output, s); };
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  std::string target = region;
  if (target.empty()) {
    target = find_standby(*state);  // fail over to whichever region is the standby now
    if (target.empty()) {
      return fail(failed_precondition("no reachable standby region to fail over to; name one "
                                      "with --region"));
    }
  } else if (!is_region(target)) {
    return fail(invalid_argument("--region: '" + target + "' is not primary or secondary"));
  }
  if (healthy == HealthyActive::kRefuse) {
    if (Status s = model::check_unplanned_failover_of_healthy_region(
            unplanned_failover_facts(*state, target));
        !s.is_ok()) {
      return fail(s);
    }
  }
  auto r = region_failover(state->at(target).address, reason, witness);
  if (!r.is_ok()) return fail(r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok({{"region", target}, {"response", proto_to_json(*r)}}));
    return 0;
  }
  std::printf("%s\n", r->message().c_str());
  for (const auto& c : r->recovered()) {
    std::printf("  %-10s continues from seq %llu (epoch %llu)\n", c.workload().c_str(),
                static_cast<unsigned long long>(c.seq()),
                static_cast<unsigned long long>(c.epoch()));
  }
  return 0;
}

namespace {
void print_lines(const std::vector<std::string>& lines) {
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
}
}  // namespace

int cmd_planned_failover(const std::string& home, const std::string& region,
                         const std::string& reason, uint32_t drain_timeout_ms, bool reprotect,
                         Output output) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail_as(output, state.status());
  auto r = run_planned_failover(*state, region, reason, drain_timeout_ms, reprotect);
  if (!r.is_ok()) return fail_as(output, r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok(planned_json(*r)));
  } else {
    print_lines(r->lines);
  }
  return 0;
}

int cmd_reprotect(const std::string& home, const std::string& region, const std::string& reason,
                  Output output) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail_as(output, state.status());
  auto r = run_reprotect(*state, region, reason);
  if (!r.is_ok()) return fail_as(output, r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok(reprotect_json(*r)));
  } else {
    print_lines(r->lines);
  }
  return 0;
}

int cmd_failback(const std::string& home, const std::string& reason, uint32_t drain_timeout_ms,
                 Output output) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail_as(output, state.status());
  auto r = run_failback(*state, reason, drain_timeout_ms);
  if (!r.is_ok()) return fail_as(output, r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok(
        {{"failover", planned_json(r->failover)}, {"reprotect", reprotect_json(r->reprotect)}}));
  } else {
    print_lines(r->failover.lines);
    print_lines(r->reprotect.lines);
  }
  return 0;
}

namespace {

// What `drsim check` judges: one named file (refused while `drsim load` still writes it), or
// every run recorded in the home, checked together.
Result<HomeHistories> histories_to_check(const TopologyState& state,
                                         const std::string& history_path) {
  if (history_path.empty()) return read_home_histories(state.home);
  auto file = read_history_file(history_path);
  if (!file.is_ok()) return file.status();
  if (!file->ended && process_alive(static_cast<pid_t>(file->pid))) {
    return failed_precondition(history_path + ": run " + file->run +
                               " is still being written by drsim load (pid " +
                               std::to_string(file->pid) + "); check when it has finished");
  }
  HomeHistories histories;
  histories.paths = {history_path};
  histories.ops = std::move(file->ops);
  return histories;
}

// The region that is active now (the newest epoch, should two claim it); "" when none answers.
std::string active_region_now(const TopologyState& state) {
  std::string active;
  uint64_t active_epoch = 0;
  for (const char* name : {"primary", "secondary"}) {
    auto st = region_status(state.at(name).address);
    if (st.is_ok() && st->role() == drsim::v1::ROLE_ACTIVE && st->epoch() >= active_epoch) {
      active = name;
      active_epoch = st->epoch();
    }
  }
  return active;
}

json check_json(const HomeHistories& histories, const std::string& active,
                const model::CheckResult& check) {
  return {{"histories", histories.paths},
          {"active_region", active},
          {"writes",
           {{"attempted", check.writes.attempted},
            {"acknowledged", check.writes.ok},
            {"failed", check.writes.failed},
            {"indeterminate", check.writes.indeterminate}}},
          {"acknowledged_writes_lost", check.lost_count},
          {"recovered_indeterminate", check.recovered_count},
          {"stale_reads", check.stale_read_count},
          {"valid", check.valid()}};
}

// The verdict for people: the histories, the write counts, and the first ten lost writes.
void print_check(const HomeHistories& histories, const std::string& active,
                 const model::CheckResult& check) {
  std::printf("%zu histor%s against the final state of %s\n", histories.paths.size(),
              histories.paths.size() == 1 ? "y" : "ies", active.c_str());
  for (const auto& p : histories.paths) std::printf("  %s\n", p.c_str());
  std::printf("writes: attempted %llu, acknowledged %llu, failed %llu, indeterminate %llu\n",
              static_cast<unsigned long long>(check.writes.attempted),
              static_cast<unsigned long long>(check.writes.ok),
              static_cast<unsigned long long>(check.writes.failed),
              static_cast<unsigned long long>(check.writes.indeterminate));
  std::printf("acknowledged writes lost: %llu; recovered: %llu; stale reads: %llu\n",
              static_cast<unsigned long long>(check.lost_count),
              static_cast<unsigned long long>(check.recovered_count),
              static_cast<unsigned long long>(check.stale_read_count));
  for (size_t i = 0; i < check.lost.size() && i < 10; ++i) {
    const auto& l = check.lost[i];
    std::printf("  LOST %s/%s acked by %s seq %llu\n", l.workload.c_str(), l.key.c_str(),
                l.region.c_str(), static_cast<unsigned long long>(l.seq));
  }
}

}  // namespace

int cmd_check(const std::string& home, const std::string& history_path, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  auto histories = histories_to_check(*state, history_path);
  if (!histories.is_ok()) return fail(histories.status());
  // Judge against the region that is active now.
  const std::string active = active_region_now(*state);
  if (active.empty())
    return fail(
        unavailable("no active region answers; cannot read the final "
                    "state"));
  auto final_state = read_final_state(state->at(active).address, workload_names(state->config));
  if (!final_state.is_ok()) return fail(final_state.status());
  auto check = model::check_history(histories->ops, *final_state);
  if (as_json) {
    print_json_document(check_json(*histories, active, check));
  } else {
    print_check(*histories, active, check);
  }
  return check.valid() ? 0 : 1;
}

}  // namespace drsim::cli
