// Site Recovery verbs (cli/site_recovery.h): protect, items, points, failover to a recovery
// point, commit, test failover and its clean-up, jobs. Flag parsing and the protect request are
// in site_recovery_parts.cc.
#include "cli/site_recovery.h"

#include <ctime>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "cli/child_process.h"
#include "cli/json_output.h"
#include "cli/text_table.h"
#include "cli/rpc_clients.h"
#include "cli/units.h"

namespace drsim::cli {

using namespace drsim::v1;
using namespace std::chrono_literals;

int report_error(const Status& s) { return print_error(s); }

namespace {

std::string duration_label(uint64_t ms) {
  if (ms == 0) return "off";
  if (ms % 86'400'000 == 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  return fmt::format("{}ms", ms);
}

}  // namespace

Result<UnplannedFailoverResponse> run_point_failover(const TopologyState& state,
                                                     const PointFailoverOptions& o,
                                                     std::vector<std::string>* lines) {
  auto choice = parse_point_choice(o.point, o.point_id);
  if (!choice.is_ok()) return choice.status();
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  UnplannedFailoverRequest req;
  for (const auto& i : o.items) req.add_items(i);
  req.set_point(*choice);
  req.set_point_id(o.point_id);
  req.set_reason(o.reason);
  // Report first: what this point gives up, before anything changes.
  req.set_dry_run(true);
  auto preview = sr_unplanned_failover(state.at(*vault).address, req);
  if (!preview.is_ok()) return preview.status();
  auto report = [&](const UnplannedFailoverResponse& r) {
    for (const auto& item : r.items()) {
      const auto& p = item.point();
      lines->push_back(fmt::format("{}: recovery point {} ({}, {} on drsim's clock)", item.item(),
                                   p.id(), p.type(), format_wall(p.time_unix_nanos())));
      for (const auto& g : item.given_up()) {
        std::string line = fmt::format(
            "  {:<10} point holds seq {}; {} holds seq {}: {} write(s) rolled back", g.workload(),
            g.point_seq(), *vault, g.standby_seq(), g.writes_vs_standby());
        if (g.source_known()) {
          line += fmt::format("; {} wrote seq {}: {} write(s) given up", r.source_region(),
                              g.source_seq(), g.writes_vs_source());
        } else {
          line += fmt::format(
              "; {} does not answer: writes it made past seq {} are unknown and "
              "given up",
              r.source_region(), g.standby_seq());
        }
        lines->push_back(line);
      }
    }
  };
  lines->push_back(
      fmt::format("data given up by an unplanned failover to {} ({}):", *vault,
                  o.point == "custom" ? fmt::format("custom point {}", o.point_id) : o.point));
  report(*preview);
  if (o.dry_run) {
    lines->push_back("dry run: nothing changed");
    return preview;
  }
  req.set_dry_run(false);
  auto r = sr_unplanned_failover(state.at(*vault).address, req);
  if (!r.is_ok()) return r.status();
  lines->push_back(fmt::format("{} (job {})", r->message(), r->job_id()));
  lines->push_back(
      "  commit with `drsim commit` (drops the other recovery points), then "
      "`drsim reprotect`");
  return r;
}

Result<CommitResponse> run_commit(const TopologyState& state, const std::vector<std::string>& items,
                                  std::vector<std::string>* lines) {
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  CommitRequest req;
  for (const auto& i : items) req.add_items(i);
  auto r = sr_commit(state.at(*vault).address, req);
  if (!r.is_ok()) return r.status();
  for (const auto& item : r->items()) {
    lines->push_back(fmt::format("committed {} to recovery point {} ({})", item.item(),
                                 item.failover_point_id(), item.state()));
  }
  lines->push_back(fmt::format("  {} other recovery point(s) dropped; next: `drsim reprotect`",
                               r->points_dropped()));
  return r;
}

Result<ProcessInfo> start_test_copy(TopologyState& state, const std::string& process,
                                    const std::string& item, const std::string& copy_dir) {
  std::vector<std::string> argv = {bin_dir() + "/drsim-secondary",
                                   "--name",
                                   item + "-test",
                                   "--peer-name",
                                   "isolated",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--data-dir",
                                   copy_dir,
                                   "--role",
                                   "active",
                                   "--isolated"};
  auto workloads = workloads_args(state.config, state.home);
  if (!workloads.is_ok()) return workloads.status();
  argv.insert(argv.end(), workloads->begin(), workloads->end());
  if (state.config.transport == net::TransportSecurity::kMutualTls) {
    argv.insert(argv.end(), {"--tls-dir", tls_dir_of(state.home), "--tls-identity",
                             "test-failover"});
  } else {
    argv.push_back("--insecure");
  }
  auto started = start_daemon(process, argv, state.home + "/" + process, copy_dir);
  if (!started.is_ok()) {
    return Status(started.status().code(),
                  "test failover copy could not start: " + started.status().message());
  }
  state.processes[process] = *started;
  if (Status s = save_state(state); !s.is_ok()) return s;
  return *started;
}

Result<TestFailoverResponse> run_test_failover(TopologyState& state, const TestFailoverOptions& o,
                                               std::vector<std::string>* lines) {
  auto choice = parse_point_choice(o.point, o.point_id);
  if (!choice.is_ok()) return choice.status();
  if (auto it = state.processes.find(kTestFailoverProcess);
      it != state.processes.end() && recorded_alive(it->second.identity())) {
    return failed_precondition(
        fmt::format("a test failover is running (pid {} at {}); clean it up first: `drsim failover "
                    "--test-cleanup`",
                    it->second.pid, it->second.address));
  }
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  std::string item = o.item;
  if (item.empty()) {
    auto items = sr_items(state.at(*vault).address);
    if (!items.is_ok()) return items.status();
    if (items->items_size() != 1) {
      return invalid_argument(
          fmt::format("--item: {} items are protected; name the one to test", items->items_size()));
    }
    item = items->items(0).item();
  }
  TestFailoverRequest req;
  req.set_item(item);
  req.set_point(*choice);
  req.set_point_id(o.point_id);
  auto r = sr_test_failover(state.at(*vault).address, req);
  if (!r.is_ok()) return r.status();
  auto started = start_test_copy(state, kTestFailoverProcess, item, r->copy_dir());
  if (!started.is_ok()) {
    (void)sr_cleanup_test_failover(state.at(*vault).address, item);
    return started.status();
  }
  const auto& p = r->point();
  lines->push_back(fmt::format(
      "test failover of {} to recovery point {} ({}, {} on drsim's clock; seq {}): isolated copy "
      "serving at {} (pid {}), no peer, not in the Traffic Manager (job {})",
      item, p.id(), p.type(), format_wall(p.time_unix_nanos()), point_seqs_text(item, p),
      started->address, started->pid, r->job_id()));
  lines->push_back(
      "  production replication continues; state: cleanup test failover pending "
      "until `drsim failover --test-cleanup`");
  return r;
}

Status run_test_cleanup(TopologyState& state, std::vector<std::string>* lines) {
  bool stopped = false;
  // `test-failover`, and a recovery plan's test run's `test-failover-<item>` copies.
  for (auto it = state.processes.begin(); it != state.processes.end();) {
    if (it->first.rfind(kTestFailoverProcess, 0) != 0) {
      ++it;
      continue;
    }
    if (Status s = stop_recorded(it->second.identity(), 2s, it->first); !s.is_ok()) return s;
    lines->push_back(
        fmt::format("stopped the isolated test copy {} (pid {})", it->first, it->second.pid));
    it = state.processes.erase(it);
    stopped = true;
  }
  if (stopped) {
    if (Status s = save_state(state); !s.is_ok()) return s;
  }
  std::string vault = find_vault(state);
  std::vector<std::string> pending;
  if (!vault.empty()) {
    auto items = sr_items(state.at(vault).address);
    if (!items.is_ok()) return items.status();
    for (const auto& i : items->items()) {
      if (i.state() == "TestFailoverCleanupPending") pending.push_back(i.item());
    }
  }
  if (pending.empty() && !stopped) {
    return failed_precondition("no test failover to clean up");
  }
  for (const auto& item : pending) {
    auto r = sr_cleanup_test_failover(state.at(vault).address, item);
    if (!r.is_ok()) return r.status();
    lines->push_back(fmt::format("test failover of {} cleaned up: copy {} deleted; {} (job {})",
                                 item, r->removed_dir(), r->item().state(), r->job_id()));
  }
  return Status::ok();
}

int cmd_test_failover(const std::string& home, const TestFailoverOptions& options, bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_test_failover(state, options, lines);
      },
      as_json);
}

int cmd_test_cleanup(const std::string& home, bool as_json) {
  return run_verb(
      home,
      [](TopologyState& state, std::vector<std::string>* lines) -> Result<bool> {
        if (Status s = run_test_cleanup(state, lines); !s.is_ok()) return s;
        return true;
      },
      as_json);
}

int cmd_protect(const std::string& home, const ProtectOptions& options, bool as_json) {
  auto fail = [as_json](const Status& s) { return print_failure(s, as_json); };
  auto req = build_protect_request(options);
  if (!req.is_ok()) return fail(req.status());
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  std::string standby = find_standby(*state);
  if (standby.empty()) {
    return fail(failed_precondition(
        "no region answers as standby: protection is set up in the replication target"));
  }
  auto r = sr_protect(state->at(standby).address, *req);
  if (!r.is_ok()) return fail(r.status());
  const auto& i = r->item();
  if (!as_json)
    std::printf("protecting %s (%s, %s used) from %s to %s (job %llu)\n", i.item().c_str(),
                i.source().c_str(), human_bytes(i.used_bytes()).c_str(), i.active_region().c_str(),
                i.target().c_str(), static_cast<unsigned long long>(r->job_id()));
  if (!as_json) std::printf(
      "  policy: retention %s, app-consistent %s, crash-consistent every 5m, RPO "
      "threshold %s; drsim clock x%g\n",
      duration_label(i.policy().retention_ms()).c_str(),
      duration_label(i.policy().app_consistent_interval_ms()).c_str(),
      duration_label(i.policy().rpo_threshold_ms()).c_str(), i.time_scale());
  // Initial replication ends when the standby is in step; wait for it (bounded).
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.wait_s * 1000));
  std::string last_state = i.state();
  while (options.wait_s > 0 && last_state != "Protected" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    auto items = sr_items(state->at(standby).address);
    if (!items.is_ok()) break;
    for (const auto& it : items->items()) {
      if (it.item() == i.item()) last_state = it.state();
    }
  }
  if (as_json) {
    print_json_document(json_ok({{"response", proto_to_json(*r)}, {"state", last_state}}));
  } else {
    std::printf("  state: %s\n", last_state.c_str());
  }
  return 0;
}

int cmd_items(const std::string& home, bool as_json) {
  auto fail = [as_json](const Status& s) { return print_failure(s, as_json); };
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  if (find_vault(*state).empty()) {
    // Nothing protected is an empty list, not an error.
    if (as_json) {
      print_json_document(proto_to_json(ListItemsResponse()));
    } else {
      std::printf("no protected items (protect one with `drsim protect --item NAME`)\n");
    }
    return 0;
  }
  auto vault = vault_region(*state);
  if (!vault.is_ok()) return fail(vault.status());
  auto r = sr_items(state->at(*vault).address);
  if (!r.is_ok()) return fail(r.status());
  if (as_json) {
    print_json_document(*r);
    return 0;
  }
  std::printf("vault in %s, drsim clock %s (x%g)\n", r->region().c_str(),
              format_wall(r->now_unix_nanos()).c_str(),
              r->items_size() > 0 ? r->items(0).time_scale() : 1.0);
  TextTable table({{"ITEM"}, {"STATE"}, {"ACTIVE"}, {"HEALTH"}, {"POINTS"}, {"WHY"}});
  for (const auto& i : r->items()) {
    table.add_row({i.item(), i.state(), i.active_region(), i.health(), std::to_string(i.points()),
                   i.health_reason()});
  }
  table.print();
  return 0;
}

int cmd_points(const std::string& home, const std::string& item, bool as_json) {
  auto fail = [as_json](const Status& s) { return print_failure(s, as_json); };
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  auto vault = vault_region(*state);
  if (!vault.is_ok()) return fail(vault.status());
  auto r = sr_points(state->at(*vault).address, item);
  if (!r.is_ok()) return fail(r.status());
  if (as_json) {
    print_json_document(*r);
    return 0;
  }
  std::printf("recovery points in %s (drsim clock now %s)\n", vault->c_str(),
              format_wall(r->now_unix_nanos()).c_str());
  for (const auto& ip : r->items()) {
    std::printf("%s: %d point(s)\n", ip.item().c_str(), ip.points_size());
    TextTable table({{"ID"}, {"TIME"}, {"TYPE"}, {"SEQ"}, {"CHECKPOINT"}}, "  ");
    for (const auto& p : ip.points()) {
      table.add_row({std::to_string(p.id()), format_wall(p.time_unix_nanos()), p.type(),
                     point_seqs_text(ip.item(), p), human_bytes(p.data_bytes())});
    }
    table.print();
  }
  return 0;
}

int cmd_point_failover(const std::string& home, const PointFailoverOptions& options,
                       bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_point_failover(state, options, lines);
      },
      as_json);
}

int cmd_commit(const std::string& home, const std::vector<std::string>& items, bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_commit(state, items, lines);
      },
      as_json);
}

int cmd_jobs(const std::string& home, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return report_error(state.status());
  std::vector<std::pair<std::string, ListJobsResponse>> by_region;
  for (const char* region : {"primary", "secondary"}) {
    auto r = sr_jobs(state->at(region).address);
    if (r.is_ok()) by_region.emplace_back(region, std::move(*r));
  }
  if (as_json) {
    JsonObject out = JsonObject::object();
    for (const auto& [region, jobs] : by_region) out[region] = proto_to_json(jobs);
    print_json_document(out);
    return 0;
  }
  TextTable table({{"VAULT"}, {"ID"}, {"KIND"}, {"TARGET"}, {"STATE"}, {"CREATED (drsim clock)"},
                   {"TOOK"}, {"ERROR"}});
  for (const auto& [region, jobs] : by_region) {
    for (const auto& j : jobs.jobs()) {
      std::string took = j.ended_unix_nanos() > 0 && j.started_unix_nanos() > 0
                             ? human_duration_ms(static_cast<uint64_t>(
                                   (j.ended_unix_nanos() - j.started_unix_nanos()) / 1'000'000))
                             : "-";
      table.add_row({region, std::to_string(j.id()), j.kind(), j.target(), j.state(),
                     format_wall(j.created_unix_nanos()), took, j.error()});
    }
  }
  table.print();
  return 0;
}

}  // namespace drsim::cli
