// Running a drill: up (or the attached daemons) → load → steps (with progress and abort
// conditions) → check the history → report (JSON + HTML) → down. Parsing is in drill.cc, the
// steps in drill_steps.cc, judging and the report in drill_finish.cc.
#include "cli/drill_run.h"

namespace drsim::cli {

namespace drill_run {

using namespace std::chrono_literals;

bool DrillRun::wait_until(std::chrono::steady_clock::time_point deadline,
                          const std::function<bool()>& done) {
  while (true) {
    if (done && done()) return true;
    if (check_abort()) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return !done;  // a plain wait "succeeds" at its deadline
    if (now - last_progress_ >= 1s) progress_line();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(deadline - now, 20ms));
  }
}

void DrillRun::progress_line() {
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - last_progress_).count();
  last_progress_ = now;
  LoadStats s = load_->stats();
  uint64_t done = (s.ok + s.fail + s.indeterminate) -
                  (last_stats_.ok + last_stats_.fail + last_stats_.indeterminate);
  last_stats_ = s;
  std::string lag = "lag ?";
  for (const char* r : {"primary", "secondary"}) {
    if (auto l = sampler_->lag_writes(r)) lag = fmt::format("lag {} writes", *l);
  }
  say(fmt::format("{} | {:4.0f} ops/s ok {} fail {} indeterminate {} | route {} | {}", phase_,
                  secs > 0 ? done / secs : 0.0, s.ok, s.fail, s.indeterminate,
                  s.route.empty() ? "?" : s.route, lag));
}

bool DrillRun::check_abort() {
  if (!aborted_.empty()) return true;
  const DrillAbort& a = drill_.abort;
  if (!a.no_ack_for_s && !a.max_failed_operations) return false;
  LoadStats s = load_->stats();
  auto now = std::chrono::steady_clock::now();
  if (s.writes_ok != last_writes_ok_) {
    last_writes_ok_ = s.writes_ok;
    last_write_ack_ = now;
  }
  if (a.no_ack_for_s &&
      now - last_write_ack_ > std::chrono::duration<double>(*a.no_ack_for_s)) {
    aborted_ = fmt::format("no acknowledged write for {:g} s (abort.no_acknowledged_writes_for)",
                           *a.no_ack_for_s);
  } else if (a.max_failed_operations && s.fail + s.indeterminate > *a.max_failed_operations) {
    aborted_ = fmt::format("{} operations failed or indeterminate, more than {} "
                           "(abort.max_failed_operations)",
                           s.fail + s.indeterminate, *a.max_failed_operations);
  }
  if (aborted_.empty()) return false;
  say("ABORT: " + aborted_ + " — healing every fault");
  if (auto healed = heal_faults(state_, ""); healed.is_ok()) {
    for (const auto& line : *healed) say("  " + line);
  }
  return true;
}


Status DrillRun::use_attached() {
  auto st = load_state(home_);
  if (!st.is_ok()) {
    return invalid_argument("--attached: " + st.status().message() +
                            "; attach it first: drsim attach --config FILE --home " + home_);
  }
  if (st->attached_from.empty()) {
    return invalid_argument("--attached: " + home_ +
                            " holds a topology drsim started, not attached daemons: drop "
                            "--attached to drill a topology of the drill's own");
  }
  state_ = std::move(*st);
  // The attached daemons' timings (read from them at attach), the drill's workloads.
  cfg_ = state_.config;
  cfg_.workloads = drill_.topology.workloads;
  if (Status s = check_attached_workloads(); !s.is_ok()) return s;
  for (size_t i = 0; i < drill_.steps.size(); ++i) {
    const DrillStep& step = drill_.steps[i];
    if (step.kind != DrillStep::Kind::kInject) continue;
    if (Status s = check_fault_is_local(state_, step.fault); !s.is_ok()) {
      return invalid_argument(drill_.source + ":" + std::to_string(step.line) + ": steps[" +
                              std::to_string(i) + "].inject: " + s.message());
    }
  }
  if (Status s = check_attached_roles(); !s.is_ok()) return s;
  arm_heal_on_interrupt();
  return Status::ok();
}

// The drill's workloads, each hosted by the attached daemons with the same replication mode.
Status DrillRun::check_attached_workloads() const {
  std::string hosted;
  for (const auto& w : state_.config.workloads) {
    hosted += (hosted.empty() ? "" : ", ") + w.name + " (" +
              region::replication_mode_name(w.mode) + ")";
  }
  for (const auto& w : drill_.topology.workloads) {
    auto it = std::find_if(state_.config.workloads.begin(), state_.config.workloads.end(),
                           [&](const auto& a) { return a.name == w.name; });
    if (it == state_.config.workloads.end() || it->mode != w.mode) {
      return invalid_argument(
          drill_.source + ": topology.workloads: " + w.name + " (" +
          region::replication_mode_name(w.mode) + ") is not a workload of the daemons attached by " +
          state_.attached_from + " (they host " + hosted +
          "); name theirs in the drill's topology.workloads");
    }
  }
  return Status::ok();
}

// The drill's steps and expectations start from the primary active, the secondary its
// standby (as a topology it starts does).
Status DrillRun::check_attached_roles() const {
  for (const char* region : {"primary", "secondary"}) {
    auto status = region_status(state_.at(region).address);
    if (!status.is_ok()) {
      return unavailable("--attached: " + std::string(region) + " at " +
                         state_.at(region).address + ": " + status.status().message());
    }
    const bool want_active = std::string(region) == "primary";
    if ((status->role() == drsim::v1::ROLE_ACTIVE) != want_active) {
      return failed_precondition(
          "--attached: a drill starts from the primary active and the secondary its standby; " +
          std::string(region) + " is " +
          (status->role() == drsim::v1::ROLE_ACTIVE ? "active" : "the standby") + " at epoch " +
          std::to_string(status->epoch()) + " (`drsim reprotect --home " + home_ +
          "`, then `drsim failback --home " + home_ + "`, bring the primary back)");
    }
  }
  return Status::ok();
}

void DrillRun::arm_heal_on_interrupt() {
  heal_attached_on_interrupt_ = std::make_unique<InterruptCleanup>([state = state_]() mutable {
    auto healed = heal_faults(state, "");
    if (!healed.is_ok()) {
      std::fprintf(stderr, "drsim drill: heal: %s\n", healed.status().message().c_str());
    } else {
      for (const auto& line : *healed) std::fprintf(stderr, "drsim drill: healed %s\n", line.c_str());
    }
    std::fprintf(stderr,
                 "drsim drill: the attached daemons keep running as the drill left them: "
                 "drsim status --home %s\n",
                 state.home.c_str());
  });
}

int DrillRun::run() {
  if (std::optional<int> rc = make_home()) return *rc;
  cfg_ = drill_.topology;
  std::vector<std::string> workloads;
  for (const auto& w : cfg_.workloads) workloads.push_back(w.name);
  if (std::optional<int> rc = bring_up(workloads)) return *rc;
  start_watchers();
  fill_load_options(workloads);
  if (std::optional<int> rc = check_before_load()) return *rc;
  if (std::optional<int> rc = open_history()) return *rc;
  start_load();

  for (size_t i = 0; i < drill_.steps.size() && problems_.empty() && aborted_.empty(); ++i) {
    run_step(i);
  }
  if (!problems_.empty()) say("STOPPED: " + problems_.back());
  return finish();
}

std::optional<int> DrillRun::make_home() {
  home_ = opt_.home;
  if (opt_.attached && home_.empty()) {
    fail_to_start("--attached needs --home: the home `drsim attach` wrote");
    return 2;
  }
  if (home_.empty()) {
    char tmpl[] = "/tmp/drsim-drill-XXXXXX";
    if (!::mkdtemp(tmpl)) return fail_to_start("cannot create a temporary directory");
    home_ = tmpl;
  }
  return std::nullopt;
}

std::optional<int> DrillRun::bring_up(const std::vector<std::string>& workloads) {
  const TopologyConfig& cfg = cfg_;
  std::printf("drsim drill %s%s%s\n", drill_.name.c_str(), drill_.description.empty() ? "" : ": ",
              drill_.description.c_str());
  // Attached: the daemons' timings (cfg_ becomes theirs) are the ones the header gives.
  Status attached = opt_.attached ? use_attached() : Status::ok();
  std::printf("  home %s\n  %zu workload(s) (%s), probe every %u ms (timeout %u ms, tolerated "
              "failures %u), TTL %llu ms, %zu step(s)\n\n",
              home_.c_str(), workloads.size(), workloads_summary(cfg).c_str(), cfg.probe_interval_ms,
              cfg.probe_timeout_ms, cfg.tolerated_failures,
              static_cast<unsigned long long>(cfg.ttl_ms), drill_.steps.size());

  if (opt_.attached) {
    if (!attached.is_ok()) {
      int rc = fail_to_start(attached.message());
      return attached.code() == StatusCode::kInvalidArgument ? 2 : rc;
    }
    say("attached: the daemons of " + state_.attached_from + " (drsim starts and stops none)");
  } else {
    auto up = topology_up(home_, cfg, [&](const std::string& line) { say("up: " + line); });
    if (!up.is_ok()) {
      int rc = fail_to_start(up.status().message());
      // A topology this host cannot run as given (placement: netns without root, a subnet the
      // host routes) is bad input, like a bad drill file: exit 2.
      return up.status().code() == StatusCode::kInvalidArgument ? 2 : rc;
    }
    state_ = *up;
  }
  return std::nullopt;
}

void DrillRun::start_watchers() {
  watcher_ = std::make_unique<RoutingWatcher>(state_.at("trafficmgr").address, cfg_.profile);
  sampler_ = std::make_unique<RegionSampler>(
      std::map<std::string, std::string>{{"primary", state_.at("primary").address},
                                         {"secondary", state_.at("secondary").address}},
      200ms);
}

void DrillRun::fill_load_options(const std::vector<std::string>& workloads) {
  LoadOptions& lo = load_options_;
  lo.trafficmgr_address = state_.at("trafficmgr").address;
  lo.profile = cfg_.profile;
  lo.workloads = workloads;
  lo.rate = drill_.workload.rate;
  lo.workers = drill_.workload.clients;
  lo.keys = drill_.workload.keys;
  lo.value_bytes = drill_.workload.value_bytes;
  lo.write_fraction = drill_.workload.write_fraction;
  lo.seed = drill_.workload.seed;
  lo.op_timeout = std::chrono::milliseconds(drill_.workload.deadline_ms);
  lo.in_flight = drill_.workload.in_flight;
  lo.stale = drill_.workload.stale;
  lo.run = "drill-" + new_run_id();
}

int DrillRun::give_up(const std::string& why) {
  watcher_->stop();
  sampler_->stop();
  if (opt_.attached) return fail_to_start(why);  // not drsim's to stop
  if (Status down = topology_down(home_, 3s); !down.is_ok()) {
    std::fprintf(stderr, "drsim: %s\n", down.message().c_str());
  }
  return fail_to_start(why);
}

std::optional<int> DrillRun::check_before_load() {
  LoadOptions& lo = load_options_;
  Status workload_ok = drill_.workload.resolve_dns ? resolve_by_dns(state_, &lo) : Status::ok();
  if (workload_ok.is_ok()) workload_ok = lo.validate();
  if (!workload_ok.is_ok()) {
    return give_up(drill_.source + ": workload: " + workload_ok.message());
  }
  // A kernel fault this topology or host cannot do is bad input: said before the load, exit 2.
  for (size_t i = 0; i < drill_.steps.size(); ++i) {
    const DrillStep& step = drill_.steps[i];
    if (step.kind != DrillStep::Kind::kInject) continue;
    const std::string where = drill_.source + ":" + std::to_string(step.line) + ": steps[" +
                              std::to_string(i) + "].inject.mechanism";
    if (Status s = check_kernel_mechanism(state_, step.fault, where); !s.is_ok()) {
      give_up(s.message());
      return 2;
    }
  }
  return std::nullopt;
}

std::optional<int> DrillRun::open_history() {
  const LoadOptions& lo = load_options_;
  out_dir_ = home_;
  if (opt_.attached) {
    out_dir_ = home_ + "/drills/" + drill_.name + "-" + lo.run.substr(std::string("drill-").size());
    std::error_code ec;
    std::filesystem::create_directories(out_dir_, ec);
    if (ec) return give_up("cannot create " + out_dir_ + ": " + ec.message());
  }
  auto history = HistoryWriter::open(out_dir_ + "/history.jsonl", lo.run);
  if (!history.is_ok()) return give_up(history.status().message());
  history_ = std::move(*history);
  finish_history_on_interrupt_ = std::make_unique<InterruptCleanup>([writer = history_.get()] {
    // The process is about to exit: a history that cannot be finished can only be reported.
    if (Status s = writer->finish("interrupted"); !s.is_ok()) {
      std::fprintf(stderr, "drsim drill: %s\n", s.message().c_str());
    }
  });
  return std::nullopt;
}

void DrillRun::start_load() {
  const LoadOptions& lo = load_options_;
  bugs_at_start_ = count_bugs();
  load_ = std::make_unique<LoadGenerator>(lo, history_.get());
  load_->start();
  load_start_ns_ = wall_now_unix_nanos();
  last_progress_ = last_write_ack_ = std::chrono::steady_clock::now();
  say(fmt::format("load: {:.0f} ops/s from {} clients ({} call(s) in flight each, deadline {} "
                  "ms), {:.0f} % writes, {} keys per workload, {}-byte values, resolving through "
                  "the Traffic Manager ({})",
                  lo.rate, lo.workers, lo.in_flight, lo.op_timeout.count(), lo.write_fraction * 100, lo.keys,
                  lo.value_bytes,
                  lo.resolve == ResolveMode::kDns ? "DNS " + lo.dns_name + " at " + lo.dns_address
                                                  : "gRPC Resolve"));
  if (lo.stale.count > 0) say("load: " + describe_stale_clients(lo.stale));
}

void DrillRun::write_junit(const json& report) const {
  if (opt_.junit_path.empty()) return;
  if (Status s = write_junit_file(opt_.junit_path, report); !s.is_ok()) {
    std::fprintf(stderr, "drsim: %s\n", s.message().c_str());
    return;
  }
  std::printf("junit   %s\n", opt_.junit_path.c_str());
}

int DrillRun::fail_to_start(const std::string& why) const {
  std::fprintf(stderr, "drsim: %s\n", why.c_str());
  json j;
  j["drill"] = drill_.name;
  j["source"] = drill_.source;
  j["expectations"] = json::array();
  j["problems"] = json::array({"the drill could not start: " + why});
  j["passed"] = false;
  j["duration_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  write_junit(j);
  return 1;
}


}  // namespace drill_run

int run_drill(const Drill& drill, const DrillRunOptions& options) {
  drill_run::DrillRun run(drill, options);
  return run.run();
}

}  // namespace drsim::cli
