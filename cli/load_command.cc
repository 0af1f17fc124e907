// `drsim load`: client load through the Traffic Manager for a while (cli/load_generator.h),
// with a progress line a second, every operation recorded into a history file, and a summary
// (or one JSON document); resolve_by_dns, shared with drills, points the clients at the Traffic
// Manager's DNS server.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/history_file.h"
#include "cli/interrupt.h"
#include "cli/json_output.h"
#include "cli/load_generator.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"

namespace drsim::cli {

using namespace std::chrono_literals;

Status resolve_by_dns(const TopologyState& state, LoadOptions* options) {
  if (state.netns) {
    // Its DNS server listens on loopback inside its namespace (docs/deploy.md).
    return invalid_argument(
        "resolve dns: the Traffic Manager's DNS listens on 127.0.0.1 inside its namespace (" +
        state.netns->layout.find("trafficmgr")->netns +
        ", placement: netns) and is not reachable from this host; resolve with grpc");
  }
  // The DNS answer is an IP; the Traffic Manager's table says which region each stands for.
  const ProcessInfo& tm = state.at("trafficmgr");
  options->resolve = ResolveMode::kDns;
  options->dns_address = tm.more("dns_address");
  auto table = tm_endpoints(tm.address, state.config.profile);
  if (!table.is_ok()) return table.status();
  options->dns_name = table->dns_name();
  for (const auto& e : table->endpoints()) {
    if (!e.dns_address().empty()) options->dns_targets[e.dns_address()] = {e.name(), e.address()};
  }
  return Status::ok();
}

namespace {

// drsim load's options completed and checked against the topology in `state`: the Traffic
// Manager, the workloads (default: all), DNS resolution, a new run id, the duration.
Status prepare_load(const TopologyState& state, LoadCommand& cmd) {
  cmd.options.trafficmgr_address = state.at("trafficmgr").address;
  cmd.options.profile = state.config.profile;
  std::vector<std::string> known;
  for (const auto& w : state.config.workloads) known.push_back(w.name);
  if (cmd.options.workloads.empty()) cmd.options.workloads = known;
  for (const auto& w : cmd.options.workloads) {
    if (std::find(known.begin(), known.end(), w) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return invalid_argument("--workloads: '" + w + "' is not a workload of the topology in " +
                              state.home + " (" + list + ")");
    }
  }
  if (cmd.options.resolve == ResolveMode::kDns) {
    if (Status s = resolve_by_dns(state, &cmd.options); !s.is_ok()) return s;
  }
  // Every run has its own id and file, so that concurrent loads on one home can be checked
  // together (`drsim check` reads every run of the home).
  cmd.options.run = new_run_id();
  if (Status s = cmd.options.validate(); !s.is_ok()) return s;
  if (!(cmd.duration_s > 0 && cmd.duration_s <= 86400)) {
    return invalid_argument("--duration: must be in (0, 86400] seconds");
  }
  return Status::ok();
}

// Lets `load` run for `duration_s` or until a signal: the history flushed every 100 ms, a
// progress line every second. The signal that ended it (0: none).
int drive_load(LoadGenerator& load, HistoryWriter& writer, double duration_s, FILE* progress) {
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration<double>(duration_s);
  auto next_line = start + 1s;
  LoadStats prev{};
  while (std::chrono::steady_clock::now() < end && interrupted_by() == 0) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            end - std::chrono::steady_clock::now()),
        100ms));
    writer.flush();  // a killed load keeps what completed up to the last 100 ms
    if (std::chrono::steady_clock::now() < next_line &&
        std::chrono::steady_clock::now() < end) {
      continue;
    }
    next_line += 1s;
    LoadStats now = load.stats();
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(progress, "[%6.1fs] %6llu ops  ok %llu  fail %llu  indeterminate %llu  route %s\n",
                 t,
                 static_cast<unsigned long long>((now.ok + now.fail + now.indeterminate) -
                                                 (prev.ok + prev.fail + prev.indeterminate)),
                 static_cast<unsigned long long>(now.ok), static_cast<unsigned long long>(now.fail),
                 static_cast<unsigned long long>(now.indeterminate), now.route.c_str());
    std::fflush(progress);
    prev = now;
  }
  return interrupted_by();
}

// What a load ended with: `sig` the signal that stopped it (0: none), `reason` its words.
struct LoadEnd {
  int sig;
  std::string reason;
  std::string history_path;
  LoadStats total;
  bool nothing_succeeded() const { return total.ok == 0 && total.fail + total.indeterminate > 0; }
};

void print_load_json(const LoadCommand& cmd, const LoadEnd& e) {
  const LoadStats& total = e.total;
  print_json_document(json_ok(
      {{"outcome", e.sig == 0 ? "completed" : e.reason},
       {"run", cmd.options.run},
       {"history", e.history_path},
       {"operations", total.ok + total.fail + total.indeterminate},
       {"ok", e.sig == 0 && !e.nothing_succeeded()},
       {"succeeded", total.ok},
       {"failed", total.fail},
       {"indeterminate", total.indeterminate},
       {"lookups", total.resolves},
       {"resolve", cmd.options.resolve == ResolveMode::kDns ? "dns" : "grpc"},
       {"last_error", total.last_error}}));
  std::fflush(stdout);
}

// The load's summary (one JSON document with --json) and its exit code: 128 + the signal that
// stopped it, 1 when nothing succeeded.
int report_load(const LoadCommand& cmd, const LoadEnd& e) {
  const LoadStats& total = e.total;
  if (cmd.json) {
    print_load_json(cmd, e);
    if (e.sig != 0) return 128 + e.sig;
    return e.nothing_succeeded() ? 1 : 0;
  }
  std::printf(
      "load %s: %llu operations (ok %llu, fail %llu, indeterminate %llu); %llu %s "
      "lookups; run %s, history %s\n",
      e.sig == 0 ? "done" : e.reason.c_str(),
      static_cast<unsigned long long>(total.ok + total.fail + total.indeterminate),
      static_cast<unsigned long long>(total.ok), static_cast<unsigned long long>(total.fail),
      static_cast<unsigned long long>(total.indeterminate),
      static_cast<unsigned long long>(total.resolves),
      cmd.options.resolve == ResolveMode::kDns ? "DNS" : "gRPC Resolve", cmd.options.run.c_str(),
      e.history_path.c_str());
  std::fflush(stdout);
  if (e.sig != 0) return 128 + e.sig;
  if (e.nothing_succeeded()) {
    // Nothing got through: a load that measured only failures must not look like a success.
    std::fprintf(stderr, "drsim: load: none of %llu operations succeeded; the last error: %s\n",
                 static_cast<unsigned long long>(total.fail + total.indeterminate),
                 total.last_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int cmd_load(const std::string& home, LoadCommand cmd) {
  const Output output = cmd.json ? Output::kJson : Output::kText;
  auto fail = [output](const Status& s) { return print_failure(s, output == Output::kJson); };
  // Progress is for people: with --json it goes to stderr, stdout keeps one document.
  FILE* progress = cmd.json ? stderr : stdout;
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  if (Status s = prepare_load(*state, cmd); !s.is_ok()) return fail(s);
  std::string path = cmd.history_path.empty() ? default_history_path(state->home, cmd.options.run)
                                              : cmd.history_path;
  auto writer = HistoryWriter::open(path, cmd.options.run);
  if (!writer.is_ok()) return fail(writer.status());
  if (cmd.options.stale.count > 0) {
    std::fprintf(progress, "load: %u TTL-honouring clients (deadline %lld ms) and %s\n",
                 cmd.options.workers, static_cast<long long>(cmd.options.op_timeout.count()),
                 describe_stale_clients(cmd.options.stale).c_str());
  }
  // SIGINT / SIGTERM: stop the clients and finish the history file (a second signal stops at
  // once, cli/interrupt.h).
  InterruptHandledByCaller graceful;
  LoadGenerator load(cmd.options, writer->get());
  load.start();
  const int sig = drive_load(load, **writer, cmd.duration_s, progress);
  load.stop();
  const std::string reason = sig == 0         ? "completed"
                             : sig == SIGINT  ? "interrupted by SIGINT"
                             : sig == SIGTERM ? "stopped by SIGTERM"
                                              : "stopped by SIGHUP";
  if (Status s = (*writer)->finish(reason); !s.is_ok()) return fail(s);
  return report_load(cmd, {sig, reason, path, load.stats()});
}

}  // namespace drsim::cli
