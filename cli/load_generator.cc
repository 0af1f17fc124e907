#include "cli/load_generator.h"

#include <algorithm>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "common/core/rng.h"
#include "common/core/time.h"
#include "common/net/dns_client.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "drsim/v1/workload.grpc.pb.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using model::OpKind;
using model::OpRecord;
using model::Outcome;
using Clock = std::chrono::steady_clock;

Status LoadOptions::validate() const {
  if (trafficmgr_address.empty()) return invalid_argument("--trafficmgr: required");
  if (workloads.empty()) return invalid_argument("--workloads: at least one workload");
  if (!(rate > 0 && rate <= 1e6)) return invalid_argument("--rate: must be in (0, 1000000]");
  if (workers == 0 || workers > 256) return invalid_argument("--workers: must be 1..256");
  if (keys == 0) return invalid_argument("--keys: must be > 0");
  if (value_bytes < 16 || value_bytes > (1u << 20)) {
    return invalid_argument("--value-bytes: must be 16..1048576 (values carry a unique id)");
  }
  if (write_fraction < 0 || write_fraction > 1) {
    return invalid_argument("--write-fraction: must be within 0..1");
  }
  if (op_timeout.count() <= 0) return invalid_argument("--op-timeout-ms: must be > 0");
  if (resolve == ResolveMode::kDns) {
    if (dns_address.empty()) {
      return invalid_argument("--resolve dns: the Traffic Manager serves no DNS (`drsim up` "
                              "again to start it with DNS)");
    }
    if (dns_name.empty()) return invalid_argument("--resolve dns: no DNS name to resolve");
    if (dns_targets.empty()) return invalid_argument("--resolve dns: no region answers DNS");
  }
  return Status::ok();
}

struct LoadGenerator::Worker {
  std::vector<OpRecord> ops;
};

LoadGenerator::LoadGenerator(LoadOptions options) : options_(std::move(options)) {}

LoadGenerator::~LoadGenerator() { stop(); }

void LoadGenerator::start() {
  for (uint32_t i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>());
  for (uint32_t i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] { run_worker(i); });
  }
}

void LoadGenerator::stop() {
  stopping_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

LoadStats LoadGenerator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

int64_t LoadGenerator::first_ok_write_by(const std::string& region, int64_t after_ns) const {
  std::lock_guard lock(mu_);
  auto it = ok_write_times_.find(region);
  if (it == ok_write_times_.end()) return 0;
  int64_t best = 0;
  for (int64_t t : it->second) {
    if (t >= after_ns && (best == 0 || t < best)) best = t;
  }
  return best;
}

std::vector<OpRecord> LoadGenerator::history() const {
  std::vector<OpRecord> all;
  for (const auto& w : workers_) all.insert(all.end(), w->ops.begin(), w->ops.end());
  std::sort(all.begin(), all.end(),
            [](const OpRecord& a, const OpRecord& b) { return a.invoke_ns < b.invoke_ns; });
  return all;
}

namespace {

// A write the server refused before applying it carries drsim-applied: no;
// one it applied but could not confirm carries "unknown". Without the marker,
// a connection that never opened is a definite failure; anything else
// (deadline, reset mid-call) may or may not have been applied.
Outcome classify(const grpc::Status& s, const grpc::ClientContext& ctx) {
  if (s.ok()) return Outcome::kOk;
  const auto& md = ctx.GetServerTrailingMetadata();
  auto it = md.find("drsim-applied");
  if (it != md.end()) {
    return std::string(it->second.data(), it->second.size()) == "no" ? Outcome::kFail
                                                                     : Outcome::kIndeterminate;
  }
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    const std::string& m = s.error_message();
    if (m.find("failed to connect") != std::string::npos ||
        m.find("Connection refused") != std::string::npos ||
        m.find("connections to all backends failing") != std::string::npos) {
      return Outcome::kFail;
    }
  }
  if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
      s.error_code() == grpc::StatusCode::NOT_FOUND ||
      s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return Outcome::kFail;
  }
  return Outcome::kIndeterminate;
}

}  // namespace

std::optional<LoadGenerator::ResolvedRoute> LoadGenerator::resolve_route(
    drsim::v1::TrafficManager::Stub& tm) {
  {
    std::lock_guard lock(mu_);
    ++stats_.resolves;
  }
  if (options_.resolve == ResolveMode::kDns) {
    // A stub resolver's lookup: one UDP query, the answer's TTL (whole seconds) is the cache's.
    auto answer = net::dns_query_udp(options_.dns_address, options_.dns_name, model::kDnsTypeA,
                                     300ms);
    if (!answer.is_ok() || answer->addresses.empty()) return std::nullopt;
    auto it = options_.dns_targets.find(answer->addresses.front());
    if (it == options_.dns_targets.end()) return std::nullopt;
    return ResolvedRoute{it->second.region, it->second.address,
                         std::chrono::seconds(answer->ttl_seconds)};
  }
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 300ms);
  drsim::v1::ResolveRequest req;
  req.set_profile(options_.profile);
  drsim::v1::ResolveResponse resp;
  grpc::Status s = tm.Resolve(&ctx, req, &resp);
  if (!s.ok() || resp.no_data()) return std::nullopt;
  return ResolvedRoute{resp.endpoint(), resp.address(), std::chrono::milliseconds(resp.ttl_ms())};
}

void LoadGenerator::run_worker(uint32_t index) {
  Rng rng(options_.seed * 1000003 + index);
  auto tm = drsim::v1::TrafficManager::NewStub(net::make_channel(options_.trafficmgr_address));
  std::map<std::string, std::unique_ptr<drsim::v1::Workload::Stub>> stubs;
  std::string route, route_address;
  Clock::time_point route_expires{};
  auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.workers / options_.rate));
  Clock::time_point next = Clock::now() + interval * index / options_.workers;
  uint64_t counter = 0;
  bool first_resolve = true;
  auto& ops = workers_[index]->ops;

  while (!stopping_) {
    auto now = Clock::now();
    if (now < next) {
      std::this_thread::sleep_for(std::min<Clock::duration>(next - now, 50ms));
      continue;
    }
    next += interval;
    if (now - next > 1s) next = now;  // do not burst to catch up after a stall

    // Resolve like a DNS client: only when the cached answer's TTL expired.
    if (route.empty() || now >= route_expires) {
      auto resolved = resolve_route(*tm);
      if (resolved) {
        route = resolved->region;
        route_address = resolved->address;
        auto ttl = resolved->ttl;
        // Clients started together would otherwise expire their caches in
        // lockstep: the first answer lives a random part of the TTL, which
        // spreads the clients' phases as in a real population of resolvers.
        if (first_resolve) {
          ttl = std::chrono::duration_cast<std::chrono::milliseconds>(ttl * rng.unit());
          first_resolve = false;
        }
        route_expires = Clock::now() + ttl;
        std::lock_guard lock(mu_);
        stats_.route = route;
      } else if (route.empty()) {
        continue;  // nothing to talk to yet
      }
    }
    auto& stub = stubs[route_address];
    if (!stub) stub = drsim::v1::Workload::NewStub(net::make_channel(route_address));

    OpRecord op;
    op.id = (static_cast<uint64_t>(index) << 40) | counter++;
    op.client = index;
    op.workload = options_.workloads[rng.below(options_.workloads.size())];
    op.key = "key-" + std::to_string(rng.below(options_.keys));
    bool is_write = rng.unit() < options_.write_fraction;
    grpc::ClientContext ctx;
    net::set_deadline(ctx, options_.op_timeout);
    grpc::Status s;
    op.invoke_ns = wall_now_unix_nanos();
    if (is_write) {
      op.kind = OpKind::kPut;
      op.value = "w" + std::to_string(index) + "-" + std::to_string(counter) + "-";
      op.value.resize(std::max<size_t>(options_.value_bytes, op.value.size()), 'x');
      drsim::v1::PutRequest req;
      req.set_workload(op.workload);
      req.set_key(op.key);
      req.set_value(op.value);
      drsim::v1::PutResponse resp;
      s = stub->Put(&ctx, req, &resp);
      if (s.ok()) {
        op.region = resp.result().region();
        op.epoch = resp.result().epoch();
        op.seq = resp.result().seq();
      }
    } else {
      op.kind = OpKind::kGet;
      drsim::v1::GetRequest req;
      req.set_workload(op.workload);
      req.set_key(op.key);
      drsim::v1::GetResponse resp;
      s = stub->Get(&ctx, req, &resp);
      if (s.ok()) {
        op.region = resp.region();
        op.epoch = resp.epoch();
        op.found = resp.found();
        op.value = resp.value();
      }
    }
    op.complete_ns = wall_now_unix_nanos();
    // A read changes nothing, so a failed one is simply failed.
    op.outcome = is_write ? classify(s, ctx) : (s.ok() ? Outcome::kOk : Outcome::kFail);
    if (!s.ok()) {
      op.region = route;
      op.error = net::from_grpc(s).to_string();
    }
    {
      std::lock_guard lock(mu_);
      switch (op.outcome) {
        case Outcome::kOk:
          ++stats_.ok;
          ++stats_.ok_by_region[op.region];
          if (is_write) {
            ++stats_.writes_ok;
            ok_write_times_[op.region].push_back(op.complete_ns);
          }
          break;
        case Outcome::kFail: ++stats_.fail; break;
        case Outcome::kIndeterminate: ++stats_.indeterminate; break;
      }
    }
    ops.push_back(std::move(op));
  }
}

// ---------------------------------------------------------------- history files

Status write_history(const std::string& path, const std::vector<OpRecord>& ops) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return unavailable("cannot write history " + path);
  for (const auto& op : ops) {
    nlohmann::json j = {{"id", op.id},
                        {"op", model::op_kind_name(op.kind)},
                        {"workload", op.workload},
                        {"key", op.key},
                        {"value", op.value},
                        {"invoke_ns", op.invoke_ns},
                        {"complete_ns", op.complete_ns},
                        {"outcome", model::outcome_name(op.outcome)},
                        {"region", op.region},
                        {"epoch", op.epoch},
                        {"seq", op.seq},
                        {"client", op.client}};
    if (op.kind == OpKind::kGet) j["found"] = op.found;
    if (!op.error.empty()) j["error"] = op.error;
    out << j.dump() << "\n";
  }
  if (!out.flush()) return unavailable("cannot write history " + path);
  return Status::ok();
}

Result<std::vector<OpRecord>> read_history(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument(path + ": cannot read the history file");
  std::vector<OpRecord> ops;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      OpRecord op;
      op.id = j.at("id");
      std::string kind = j.at("op");
      op.kind = kind == "put" ? OpKind::kPut : kind == "delete" ? OpKind::kDelete : OpKind::kGet;
      op.workload = j.at("workload");
      op.key = j.at("key");
      op.value = j.value("value", "");
      op.found = j.value("found", false);
      op.invoke_ns = j.at("invoke_ns");
      op.complete_ns = j.at("complete_ns");
      std::string outcome = j.at("outcome");
      op.outcome = outcome == "ok" ? Outcome::kOk
                   : outcome == "fail" ? Outcome::kFail
                                       : Outcome::kIndeterminate;
      op.region = j.value("region", "");
      op.epoch = j.value("epoch", 0);
      op.seq = j.value("seq", 0);
      // Older files have no client; the load generator puts it in the id's high bits.
      op.client = j.value("client", static_cast<uint32_t>(op.id >> 40));
      op.error = j.value("error", "");
      ops.push_back(std::move(op));
    } catch (const std::exception& e) {
      return invalid_argument(path + ":" + std::to_string(n) + ": bad history line: " + e.what());
    }
  }
  return ops;
}

}  // namespace drsim::cli
