#include "bench/reprotect_bench.h"

#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cli/child_process.h"
#include "cli/protection.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/workload.grpc.pb.h"

namespace drsim::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kValueBytes = 1024;
constexpr int kBatch = 256;
constexpr int kWriters = 2;
constexpr char kWorkload[] = "vm-0";

enum class Disks { kKept, kWiped };

// Puts keys [first, last) with values tagged `tag`, kWriters threads of WriteBatch(kBatch).
// Returns the writes acknowledged.
uint64_t put_range(const std::string& address, uint64_t first, uint64_t last, char tag) {
  std::atomic<uint64_t> acked{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kWriters; ++c) {
    threads.emplace_back([&, c] {
      auto stub = drsim::v1::Workload::NewStub(cli::operator_channel(address));
      std::string value(kValueBytes, tag);
      for (uint64_t i = first + static_cast<uint64_t>(c) * kBatch; i < last;
           i += static_cast<uint64_t>(kWriters) * kBatch) {
        drsim::v1::WriteBatchRequest req;
        for (uint64_t k = i; k < std::min<uint64_t>(last, i + kBatch); ++k) {
          auto* put = req.add_ops()->mutable_put();
          put->set_workload(kWorkload);
          put->set_key(fmt::format("key-{:09d}", k));
          put->set_value(value);
        }
        grpc::ClientContext ctx;
        net::set_deadline(ctx, 60s);
        drsim::v1::WriteBatchResponse resp;
        if (stub->WriteBatch(&ctx, req, &resp).ok()) acked += resp.results_size();
      }
    });
  }
  for (auto& t : threads) t.join();
  return acked;
}

bool wait_for(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

json run_once(uint64_t keys, uint64_t changed, Disks disks) {
  const char* kind = disks == Disks::kKept ? "delta" : "full";
  char tmpl[] = "/tmp/drsim-bench-reprotect-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return json();
  std::string home = tmpl;
  cli::TopologyConfig cfg;
  cfg.workloads = {{kWorkload, region::ReplicationMode::kAsync}};
  cfg.fault_proxy = false;
  auto up = cli::topology_up(home, cfg, [](const std::string&) {});
  json out;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "reprotect %s: %s\n", kind, why.c_str());
    out = json();
  };
  if (!up.is_ok()) {
    fail(up.status().message());
    std::filesystem::remove_all(home);
    return out;
  }
  cli::TopologyState state = *up;
  auto acked_all = [&] {
    auto st = cli::region_status(state.at("primary").address);
    return st.is_ok() && st->workloads_size() == 1 &&
           st->workloads(0).acked_seq() == st->workloads(0).last_seq();
  };
  do {
    auto load_start = Clock::now();
    uint64_t loaded = put_range(state.at("primary").address, 0, keys, 'a');
    if (loaded != keys) {
      fail(fmt::format("loaded {} of {} keys", loaded, keys));
      break;
    }
    if (!wait_for(acked_all, 600s)) {
      fail("the standby did not catch up with the load");
      break;
    }
    double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
    pid_t primary = state.at("primary").pid;
    ::kill(primary, SIGKILL);
    cli::reap(primary);
    auto fo = cli::region_failover(state.at("secondary").address, "bench: primary killed");
    if (!fo.is_ok()) {
      fail(fo.status().message());
      break;
    }
    uint64_t rewritten = put_range(state.at("secondary").address, 0, changed, 'b');
    if (disks == Disks::kWiped) std::filesystem::remove_all(state.at("primary").data_dir);
    if (Status s = cli::restart_process(state, "primary"); !s.is_ok()) {
      fail(s.message());
      break;
    }
    if (!wait_for(
            [&] {
              auto st = cli::region_status(state.at("primary").address);
              return st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY;
            },
            60s)) {
      fail("the restarted primary did not step down to standby");
      break;
    }
    auto rp =
        cli::region_reprotect(state.at("secondary").address, "bench", cli::kReprotectDeadline);
    if (!rp.is_ok()) {
      fail(rp.status().message());
      break;
    }
    const auto& r = rp->resync();
    out = {{"kind", r.kind() == drsim::v1::RESYNC_KIND_DELTA ? "delta" : "full"},
           {"keys", keys},
           {"data_bytes", keys * kValueBytes},
           {"changed_keys", rewritten},
           {"load_seconds", load_s},
           {"duration_ms", r.duration_ms()},
           {"bytes_sent", r.bytes()},
           {"changes", r.changes()},
           {"keys_copied", r.keys_copied()}};
  } while (false);
  (void)cli::topology_down(home, 3s);
  std::filesystem::remove_all(home);
  return out;
}

}  // namespace

json reprotect_delta_vs_full(uint64_t data_mb, double changed_fraction) {
  uint64_t keys = data_mb * (1ull << 20) / kValueBytes;
  uint64_t changed = std::max<uint64_t>(1, static_cast<uint64_t>(keys * changed_fraction));
  json delta = run_once(keys, changed, Disks::kKept);
  json full = run_once(keys, changed, Disks::kWiped);
  json out = {{"data_mb", data_mb},
              {"changed_fraction", changed_fraction},
              {"delta", delta},
              {"full", full}};
  if (!delta.is_null() && !full.is_null() && delta["duration_ms"].get<double>() > 0) {
    out["full_over_delta"] = full["duration_ms"].get<double>() / delta["duration_ms"].get<double>();
  }
  return out;
}

}  // namespace drsim::bench
