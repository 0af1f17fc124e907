// drsim-bench: end-to-end measurements on real processes (not a test).
//   throughput  replicated writes per second (100-byte values), async and sync
//   lag         write-to-standby-ack lag p50/p99 at half the measured async rate
//   rto         demo-style failover RTO at probe 100 ms / tolerated 2 / TTL 500 ms
//   reprotect   (only with --only reprotect) delta vs full re-protect time, bench/reprotect_bench.h
// Prints a table and writes JSON. See docs/benchmarks.md for results.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/reprotect_bench.h"
#include "cli/child_process.h"
#include "cli/load_generator.h"
#include "cli/routing_watcher.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"
#include "common/model/drill/history_checker.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/workload.grpc.pb.h"

namespace drsim::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string temp_home(const std::string& what) {
  std::string tmpl = "/tmp/drsim-bench-" + what + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return ::mkdtemp(buf.data()) ? buf.data() : "/tmp";
}

// mTLS (the default) or plain TCP (--insecure) on every link of the topologies the bench starts.
net::TransportSecurity g_transport = net::TransportSecurity::kMutualTls;

cli::TopologyConfig config_for(region::ReplicationMode mode, int workloads) {
  cli::TopologyConfig cfg;
  cfg.transport = g_transport;
  cfg.workloads.clear();
  for (int i = 0; i < workloads; ++i) cfg.workloads.push_back({"vm-" + std::to_string(i), mode});
  return cfg;
}

struct Topo {
  std::string home;
  cli::TopologyState state;
  ~Topo() {
    if (!home.empty()) {
      if (Status s = cli::topology_down(home, 3s); !s.is_ok()) {
        std::fprintf(stderr, "drsim-bench: %s\n", s.message().c_str());
      }
      if (std::getenv("DRSIM_BENCH_KEEP")) {
        std::printf("kept %s\n", home.c_str());
      } else {
        std::filesystem::remove_all(home);
      }
    }
  }
};

bool up(Topo& t, const std::string& name, const cli::TopologyConfig& cfg) {
  t.home = temp_home(name);
  auto s = cli::topology_up(t.home, cfg, [](const std::string&) {});
  if (!s.is_ok()) {
    std::fprintf(stderr, "up: %s\n", s.status().message().c_str());
    return false;
  }
  t.state = *s;
  return true;
}

uint64_t total_acked(const drsim::v1::GetStatusResponse& st) {
  uint64_t n = 0;
  for (const auto& w : st.workloads()) n += w.acked_seq();
  return n;
}

// Closed loop: `clients` threads each send WriteBatch(batch) back to back.
// With rate > 0, an open loop at `rate` writes/s instead.
struct WriteRun {
  uint64_t acked = 0;
  double seconds = 0;
  double seconds_until_replicated = 0;
};

WriteRun drive_writes(const Topo& t, const cli::TopologyConfig& cfg, int clients, int batch,
                      double seconds, double rate) {
  std::string address = t.state.at("primary").address;
  std::atomic<uint64_t> acked{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::string value(100, 'v');
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = drsim::v1::Workload::NewStub(cli::operator_channel(address));
      uint64_t n = 0;
      auto next = Clock::now();
      auto interval = rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(batch * clients / rate))
                               : Clock::duration(0);
      next += interval * c / clients;
      while (!stop) {
        if (rate > 0) {
          auto now = Clock::now();
          if (now < next) {
            std::this_thread::sleep_for(next - now);
            continue;
          }
          next += interval;
        }
        drsim::v1::WriteBatchRequest req;
        const auto& w = cfg.workloads[(c + n) % cfg.workloads.size()].name;
        for (int i = 0; i < batch; ++i) {
          auto* put = req.add_ops()->mutable_put();
          put->set_workload(w);
          put->set_key(fmt::format("c{}-{}", c, (n * batch + i) % 100000));
          put->set_value(value);
        }
        ++n;
        grpc::ClientContext ctx;
        net::set_deadline(ctx, 10s);
        drsim::v1::WriteBatchResponse resp;
        if (stub->WriteBatch(&ctx, req, &resp).ok()) acked += resp.results_size();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  WriteRun run;
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.acked = acked;
  // Replicated = the standby made it durable (the source's acked seq).
  for (int i = 0; i < 3000; ++i) {
    auto st = cli::region_status(address);
    if (st.is_ok() && total_acked(*st) >= run.acked) break;
    std::this_thread::sleep_for(5ms);
  }
  run.seconds_until_replicated = std::chrono::duration<double>(Clock::now() - start).count();
  return run;
}

json throughput(region::ReplicationMode mode, int clients, int batch, double seconds) {
  auto cfg = config_for(mode, 4);
  Topo t;
  if (!up(t, "tput", cfg)) return nullptr;
  drive_writes(t, cfg, clients, batch, 1.0, 0);  // warm-up
  auto before = cli::region_status(t.state.at("primary").address);
  auto run = drive_writes(t, cfg, clients, batch, seconds, 0);
  double rate = run.acked / run.seconds_until_replicated;
  return {{"mode", region::replication_mode_name(mode)},
          {"clients", clients},
          {"batch", batch},
          {"value_bytes", 100},
          {"writes_acked", run.acked},
          {"seconds_load", run.seconds},
          {"seconds_until_replicated", run.seconds_until_replicated},
          {"replicated_writes_per_s", rate}};
}

json lag_at(double rate, int clients, int batch, double seconds) {
  auto cfg = config_for(region::ReplicationMode::kAsync, 4);
  Topo t;
  if (!up(t, "lag", cfg)) return nullptr;
  drive_writes(t, cfg, clients, batch, 1.0, rate);  // warm-up
  // Measure only the run below: the warm-up's lag samples are dropped.
  if (auto reset = cli::region_status(t.state.at("primary").address, /*reset_lag_stats=*/true);
      !reset.is_ok()) {
    std::fprintf(stderr, "drsim-bench: cannot reset lag stats: %s\n",
                 reset.status().message().c_str());
    return nullptr;
  }
  auto run = drive_writes(t, cfg, clients, batch, seconds, rate);
  auto st = cli::region_status(t.state.at("primary").address);
  double p50 = 0, p99 = 0, max = 0;
  uint64_t samples = 0;
  if (st.is_ok()) {
    for (const auto& w : st->workloads()) {
      p50 = std::max(p50, w.lag().p50_ms());
      p99 = std::max(p99, w.lag().p99_ms());
      max = std::max(max, w.lag().max_ms());
      samples += w.lag().samples();
    }
  }
  return {{"target_writes_per_s", rate},
          {"achieved_writes_per_s", run.acked / run.seconds},
          {"batch", batch},
          {"lag_p50_ms_worst_workload", p50},
          {"lag_p99_ms_worst_workload", p99},
          {"lag_max_ms", max},
          {"samples", samples}};
}

// How an RTO run is set up: the Traffic Manager's probing and TTL, and the fault.
struct RtoSetup {
  uint32_t probe_ms = 100;  // the defaults are the topology's: probe 100 ms, timeout 50 ms,
  uint32_t timeout_ms = 50;  // tolerated 2, TTL 500 ms
  uint32_t tolerated = 2;
  uint64_t ttl_ms = 500;
  uint32_t client_deadline_ms = 1000;  // the load's deadline per call (drsim load's default)
  bool freeze = false;  // SIGSTOP instead of SIGKILL (the primary is resumed and stopped after)
};

json rto_once(int index, const RtoSetup& setup) {
  cli::TopologyConfig cfg;  // sync workloads
  cfg.transport = g_transport;
  cfg.probe_interval_ms = setup.probe_ms;
  cfg.probe_timeout_ms = setup.timeout_ms;
  cfg.tolerated_failures = setup.tolerated;
  cfg.ttl_ms = setup.ttl_ms;
  Topo t;
  if (!up(t, "rto", cfg)) return nullptr;
  cli::RoutingWatcher watcher(t.state.at("trafficmgr").address, cfg.profile);
  cli::LoadOptions lo;
  lo.trafficmgr_address = t.state.at("trafficmgr").address;
  lo.workloads = {"vm-web", "vm-db"};
  lo.rate = 400;
  lo.seed = index + 1;
  lo.op_timeout = std::chrono::milliseconds(setup.client_deadline_ms);
  cli::LoadGenerator load(lo);
  load.start();
  std::this_thread::sleep_for(1500ms);
  model::OutageMarks marks;
  marks.new_region = "secondary";
  marks.fault_ns = wall_now_unix_nanos();
  const pid_t primary = t.state.at("primary").pid;
  ::kill(primary, setup.freeze ? SIGSTOP : SIGKILL);
  marks.detected_ns = watcher.wait_endpoint_status("primary", drsim::v1::ENDPOINT_DEGRADED,
                                                   marks.fault_ns, 10s);
  auto fo = cli::region_failover(t.state.at("secondary").address, "bench");
  if (fo.is_ok()) marks.promoted_ns = fo->promoted_unix_nanos();
  marks.routed_ns = watcher.wait_route("secondary", marks.fault_ns, 10s);
  for (int i = 0; i < 200 && !load.first_ok_write_by("secondary", marks.fault_ns); ++i) {
    std::this_thread::sleep_for(25ms);
  }
  std::this_thread::sleep_for(200ms);
  load.stop();
  if (setup.freeze) ::kill(primary, SIGCONT);  // so the topology's teardown can stop it
  auto r = model::measure_rto(load.history(), marks);
  auto ms = [](std::optional<Duration> d) { return d ? json(to_ms(*d)) : json(nullptr); };
  return {{"rto_ms", ms(r.total)},   {"detection_ms", ms(r.detection)},
          {"promotion_ms", ms(r.promotion)}, {"routing_ms", ms(r.routing)},
          {"client_ttl_ms", ms(r.client)}};
}

}  // namespace
}  // namespace drsim::bench

int main(int argc, char** argv) {
  using namespace drsim::bench;
  CLI::App app{"drsim-bench: replicated write throughput, replication lag and failover RTO, "
               "measured on real processes on loopback"};
  double seconds = 5;
  int clients = 4, batch = 256, rto_runs = 3, lag_runs = 3;
  std::string json_path = "bench-results.json";
  std::string only;
  app.add_option("--seconds", seconds, "Measured seconds per throughput/lag run")
      ->capture_default_str();
  app.add_option("--clients", clients, "Concurrent writers")->capture_default_str();
  app.add_option("--batch", batch, "Writes per WriteBatch RPC")->capture_default_str();
  app.add_option("--rto-runs", rto_runs, "Failover runs for the RTO figure")->capture_default_str();
  app.add_option("--lag-runs", lag_runs, "Runs of the lag measurement")->capture_default_str();
  app.add_option("--json", json_path, "Where to write results")->capture_default_str();
  app.add_option("--only", only,
                 "throughput | lag | rto (default: all three) | reprotect (only when named)");
  uint64_t reprotect_mb = 64;
  double changed = 0.01;
  app.add_option("--reprotect-mb", reprotect_mb, "reprotect: data loaded before the failover, MB")
      ->capture_default_str()
      ->check(CLI::Range(1, 16384));
  app.add_option("--reprotect-changed", changed,
                 "reprotect: fraction of the keys rewritten after the failover")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 1.0));
  RtoSetup rto;
  std::string fault = "kill";
  app.add_option("--rto-probe-ms", rto.probe_ms, "rto: the Traffic Manager's probe interval, ms")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  app.add_option("--rto-probe-timeout-ms", rto.timeout_ms, "rto: probe timeout, ms")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  app.add_option("--rto-tolerated", rto.tolerated,
                 "rto: failed probes tolerated before the region is Degraded")
      ->capture_default_str()
      ->check(CLI::Range(0, 9));
  app.add_option("--rto-ttl-ms", rto.ttl_ms, "rto: the answer's TTL clients cache, ms")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  app.add_option("--rto-client-deadline-ms", rto.client_deadline_ms,
                 "rto: the clients' deadline per call, ms")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  app.add_option("--rto-fault", fault, "rto: kill (SIGKILL the primary) or freeze (SIGSTOP)")
      ->capture_default_str()
      ->check(CLI::IsMember({"kill", "freeze"}));
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "Plain TCP on every link instead of mTLS (to measure what TLS costs)");
  CLI11_PARSE(app, argc, argv);
  if (insecure) g_transport = drsim::net::TransportSecurity::kInsecure;
  rto.freeze = fault == "freeze";
  ::setenv("DRSIM_BIN_DIR", drsim::cli::bin_dir().c_str(), 0);

  json results;
  double async_rate = 0;
  if (only.empty() || only == "throughput" || only == "lag") {
    for (auto mode : {drsim::region::ReplicationMode::kAsync, drsim::region::ReplicationMode::kSync}) {
      if (only == "lag" && mode == drsim::region::ReplicationMode::kSync) continue;
      auto r = throughput(mode, clients, batch, seconds);
      std::printf("throughput %-5s %10.0f replicated writes/s  (%llu writes, %d clients x batch %d)\n",
                  drsim::region::replication_mode_name(mode),
                  r.is_null() ? 0.0 : r["replicated_writes_per_s"].get<double>(),
                  r.is_null() ? 0ull : r["writes_acked"].get<unsigned long long>(), clients, batch);
      std::fflush(stdout);
      results["throughput"].push_back(r);
      if (mode == drsim::region::ReplicationMode::kAsync && !r.is_null()) {
        async_rate = r["replicated_writes_per_s"];
      }
    }
  }
  if ((only.empty() || only == "lag") && async_rate > 0) {
    for (int i = 0; i < lag_runs; ++i) {
      auto r = lag_at(async_rate / 2, clients, 64, seconds);
      if (!r.is_null()) {
        std::printf("lag run %d at %.0f writes/s (half of async max): p50 %.2f ms  p99 %.2f ms  "
                    "max %.2f ms (%llu samples)\n",
                    i + 1, r["achieved_writes_per_s"].get<double>(),
                    r["lag_p50_ms_worst_workload"].get<double>(),
                    r["lag_p99_ms_worst_workload"].get<double>(), r["lag_max_ms"].get<double>(),
                    r["samples"].get<unsigned long long>());
        std::fflush(stdout);
      }
      results["lag"].push_back(r);
    }
  }
  if (only.empty() || only == "rto") {
    for (int i = 0; i < rto_runs; ++i) {
      auto r = rto_once(i, rto);
      if (r.is_null()) {
        std::printf("rto run %d failed (see stderr)\n", i + 1);
      } else {
        auto v = [&](const char* k) { return r[k].is_null() ? -1.0 : r[k].get<double>(); };
        std::printf("rto run %d: %.0f ms = detection %.0f + promotion %.0f + routing %.0f + "
                    "client TTL %.0f\n",
                    i + 1, v("rto_ms"), v("detection_ms"), v("promotion_ms"), v("routing_ms"),
                    v("client_ttl_ms"));
        std::fflush(stdout);
      }
      results["rto"].push_back(r);
    }
    // Budget: detection ((tolerated + 1) probes, interval apart, + timeout) + TTL + 300 ms.
    const uint64_t detection = uint64_t{rto.tolerated + 1u} * rto.probe_ms + rto.timeout_ms;
    const uint64_t budget = detection + rto.ttl_ms + 300;
    results["rto_fault"] = fault;
    results["rto_budget_ms"] = budget;
    std::printf("rto budget (%s; detection %llu ms + TTL %llu ms + 300 ms): %llu ms\n",
                fault.c_str(), static_cast<unsigned long long>(detection),
                static_cast<unsigned long long>(rto.ttl_ms), static_cast<unsigned long long>(budget));
  }
  if (only == "reprotect") {
    auto r = reprotect_delta_vs_full(reprotect_mb, changed);
    auto line = [](const char* what, const nlohmann::json& k) {
      if (k.is_null()) {
        std::printf("reprotect %-5s failed (see stderr)\n", what);
        return;
      }
      std::printf("reprotect %-5s %8.0f ms  %12llu bytes sent  %9llu changes  %9llu keys copied  "
                  "(load %.1f s)\n",
                  what, k["duration_ms"].get<double>(), k["bytes_sent"].get<unsigned long long>(),
                  k["changes"].get<unsigned long long>(), k["keys_copied"].get<unsigned long long>(),
                  k["load_seconds"].get<double>());
    };
    std::printf("reprotect: %llu MB of 1 KiB values, %.2f%% rewritten after the failover\n",
                static_cast<unsigned long long>(reprotect_mb), changed * 100);
    line("delta", r["delta"]);
    line("full", r["full"]);
    if (r.contains("full_over_delta")) {
      std::printf("reprotect full / delta: %.1fx\n", r["full_over_delta"].get<double>());
    }
    results["reprotect"] = r;
  }
  std::ofstream(json_path) << results.dump(2) << "\n";
  std::printf("results: %s\n", json_path.c_str());
  return 0;
}
