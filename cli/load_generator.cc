#include "cli/load_generator.h"

#include <algorithm>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "common/core/rng.h"
#include "common/core/time.h"
#include "cli/operator_transport.h"
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
  if (workers == 0 || workers > 256) return invalid_argument("--clients: must be 1..256");
  if (keys == 0) return invalid_argument("--keys: must be > 0");
  if (value_bytes < 16 || value_bytes > (1u << 20)) {
    return invalid_argument("--value-bytes: must be 16..1048576 (values carry a unique id)");
  }
  if (write_fraction < 0 || write_fraction > 1) {
    return invalid_argument("--write-fraction: must be within 0..1");
  }
  if (op_timeout.count() <= 0 || op_timeout > std::chrono::minutes(10)) {
    return invalid_argument("--deadline-ms: must be 1..600000");
  }
  if (in_flight == 0 || in_flight > 64) return invalid_argument("--in-flight: must be 1..64");
  if (stale.count > 256) return invalid_argument("--stale-clients: must be 0..256");
  if (stale.count > 0) {
    if (stale.in_flight == 0 || stale.in_flight > 64) {
      return invalid_argument("--stale-in-flight: must be 1..64");
    }
    if (stale.deadline.count() <= 0 || stale.deadline > std::chrono::minutes(10)) {
      return invalid_argument("--stale-deadline-ms: must be 1..600000");
    }
    if (!(stale.rate > 0 && stale.rate <= 1e6)) {
      return invalid_argument("--stale-rate: must be in (0, 1000000]");
    }
    if (stale.reresolve_after_failures && *stale.reresolve_after_failures == 0) {
      return invalid_argument("--stale-reresolve-after: must be 1..1000 failures, or never");
    }
  }
  if (run.empty()) return invalid_argument("run: a run needs an id");
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

// One client: its resolver cache, shared by its call lanes (a TTL-honouring client has one lane;
// a stale client one per request it keeps in flight).
struct LoadGenerator::Client {
  uint32_t index = 0;
  model::ClientKind kind = model::ClientKind::kTtl;
  std::chrono::milliseconds deadline{1000};
  std::vector<std::unique_ptr<Lane>> lanes;

  std::mutex mu;  // the cache below
  std::unique_ptr<drsim::v1::TrafficManager::Stub> tm;
  std::map<std::string, std::unique_ptr<drsim::v1::Workload::Stub>> stubs;
  std::string route, route_address;
  Clock::time_point route_expires{};
  bool first_resolve = true;
  uint32_t consecutive_failures = 0;
  Rng rng{0};  // the first answer's random life

  // The stub for `address` (made on first use) and the route the client holds now.
  std::pair<drsim::v1::Workload::Stub*, std::string> stub_for(const std::string& address);
};

// One call lane: one request at a time, paced to its share of the rate.
struct LoadGenerator::Lane {
  uint32_t index = 0;
  Clock::duration interval{};
  Clock::duration offset{};
  uint64_t seed = 0;
  std::vector<OpRecord> ops;
  std::mutex mu;                           // the call in flight, for stop()
  grpc::ClientContext* in_flight = nullptr;

  // `ctx` is the call in flight; false (and nothing in flight) once the generator is stopping.
  bool begin_call(grpc::ClientContext* ctx, const std::atomic<bool>& stopping) {
    std::lock_guard lock(mu);
    if (stopping) return false;
    in_flight = ctx;
    return true;
  }
  void end_call() {
    std::lock_guard lock(mu);
    in_flight = nullptr;
  }
};

LoadGenerator::LoadGenerator(LoadOptions options, HistoryWriter* sink)
    : options_(std::move(options)), sink_(sink) {}

LoadGenerator::~LoadGenerator() { stop(); }

void LoadGenerator::start() {
  auto add_group = [&](uint32_t count, uint32_t lanes, double rate, model::ClientKind kind,
                       std::chrono::milliseconds deadline) {
    const uint32_t all_lanes = count * lanes;
    auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(all_lanes / rate));
    for (uint32_t c = 0; c < count; ++c) {
      auto client = std::make_unique<Client>();
      client->index = static_cast<uint32_t>(clients_.size());
      client->kind = kind;
      client->deadline = deadline;
      client->rng = Rng(options_.seed * 7919 + client->index);
      client->tm =
          drsim::v1::TrafficManager::NewStub(operator_channel(options_.trafficmgr_address));
      for (uint32_t l = 0; l < lanes; ++l) {
        auto lane = std::make_unique<Lane>();
        lane->index = l;
        lane->interval = interval;
        // Spread the lanes' phases over one interval.
        lane->offset = interval * (c * lanes + l) / all_lanes;
        lane->seed = options_.seed * 1000003 + (uint64_t{client->index} << 8) + l;
        client->lanes.push_back(std::move(lane));
      }
      clients_.push_back(std::move(client));
    }
  };
  add_group(options_.workers, options_.in_flight, options_.rate, model::ClientKind::kTtl, options_.op_timeout);
  if (options_.stale.count > 0) {
    add_group(options_.stale.count, options_.stale.in_flight, options_.stale.rate,
              model::ClientKind::kStale, options_.stale.deadline);
  }
  for (auto& client : clients_) {
    for (auto& lane : client->lanes) {
      threads_.emplace_back([this, c = client.get(), l = lane.get()] { run_lane(*c, *l); });
    }
  }
}

void LoadGenerator::stop() {
  if (threads_.empty()) return;
  stopping_ = true;
  auto idle = [&] {
    for (auto& client : clients_) {
      for (auto& lane : client->lanes) {
        std::lock_guard lock(lane->mu);
        if (lane->in_flight) return false;
      }
    }
    return true;
  };
  // A short grace for calls about to complete, then cancel what a frozen or partitioned server
  // still holds (a stale client's deadline may be many seconds away).
  auto grace = Clock::now() + 250ms;
  while (!idle() && Clock::now() < grace) std::this_thread::sleep_for(10ms);
  for (auto& client : clients_) {
    for (auto& lane : client->lanes) {
      std::lock_guard lock(lane->mu);
      if (lane->in_flight) lane->in_flight->TryCancel();
    }
  }
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
  for (const auto& client : clients_) {
    for (const auto& lane : client->lanes) all.insert(all.end(), lane->ops.begin(), lane->ops.end());
  }
  std::sort(all.begin(), all.end(),
            [](const OpRecord& a, const OpRecord& b) { return a.invoke_ns < b.invoke_ns; });
  return all;
}

namespace {

// The channel of a plain application client: gRPC's defaults (no keepalive pings, default
// reconnect backoff) with drsim's message cap. drsim's own channels ping (net::channel_arguments), so
// a frozen server fails their calls within about a second; an application's calls to a frozen
// server wait for their deadline, and are answered if it resumes first.
std::shared_ptr<grpc::Channel> application_channel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(net::kMaxMessageBytes);
  args.SetMaxSendMessageSize(net::kMaxMessageBytes);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return operator_channel_with(address, std::move(args));
}

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

// How a call ended. gRPC reports the keepalive watchdog (pings to a silent server unanswered)
// as UNAVAILABLE with that message: the client gave up, the server said nothing.
// Only stop() cancels a call, so CANCELLED is the client's own doing.
model::CallEnd call_end(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return model::CallEnd::kDeadline;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
      s.error_message().find("keepalive watchdog timeout") != std::string::npos) {
    return model::CallEnd::kKeepalive;
  }
  if (s.error_code() == grpc::StatusCode::CANCELLED) return model::CallEnd::kCancelled;
  return model::CallEnd::kAnswered;
}

// Sends `op` (a Put of its value, or a Get) and fills in what the region answered.
grpc::Status send_op(drsim::v1::Workload::Stub& stub, grpc::ClientContext& ctx, OpRecord& op) {
  grpc::Status s;
  if (model::is_write(op.kind)) {
    drsim::v1::PutRequest req;
    req.set_workload(op.workload);
    req.set_key(op.key);
    req.set_value(op.value);
    drsim::v1::PutResponse resp;
    s = stub.Put(&ctx, req, &resp);
    if (s.ok()) {
      op.region = resp.result().region();
      op.epoch = resp.result().epoch();
      op.seq = resp.result().seq();
    }
  } else {
    drsim::v1::GetRequest req;
    req.set_workload(op.workload);
    req.set_key(op.key);
    drsim::v1::GetResponse resp;
    s = stub.Get(&ctx, req, &resp);
    if (s.ok()) {
      op.region = resp.region();
      op.epoch = resp.epoch();
      op.found = resp.found();
      op.value = resp.value();
    }
  }
  return s;
}

// How `op` ended; a failed call is recorded against `route`, the region the client called.
void settle(OpRecord& op, const grpc::Status& s, const grpc::ClientContext& ctx,
            const std::string& route) {
  // A read changes nothing, so a failed one is simply failed.
  op.outcome =
      model::is_write(op.kind) ? classify(s, ctx) : (s.ok() ? Outcome::kOk : Outcome::kFail);
  op.end = call_end(s);
  if (!s.ok()) {
    op.region = route;
    op.error = net::from_grpc(s).to_string();
  }
}

}  // namespace

std::pair<drsim::v1::Workload::Stub*, std::string> LoadGenerator::Client::stub_for(
    const std::string& address) {
  std::lock_guard lock(mu);
  auto& s = stubs[address];
  // A stale client is a plain application client: no keepalive pings, so a frozen server
  // holds its calls until their deadline (or until it resumes and answers them).
  if (!s) {
    s = drsim::v1::Workload::NewStub(kind == model::ClientKind::kStale
                                         ? application_channel(address)
                                         : operator_channel(address));
  }
  return {s.get(), route};
}

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

std::string LoadGenerator::route_for(Client& c) {
  std::lock_guard lock(c.mu);
  const auto now = Clock::now();
  bool resolve = c.route.empty();
  if (c.kind == model::ClientKind::kTtl) {
    // Resolve like a DNS client: only when the cached answer's TTL expired.
    resolve = resolve || now >= c.route_expires;
  } else if (options_.stale.reresolve_after_failures) {
    // A stale client ignores the TTL; its library re-resolves only after repeated errors.
    resolve = resolve || c.consecutive_failures >= *options_.stale.reresolve_after_failures;
  }
  if (!resolve) return c.route_address;
  auto resolved = resolve_route(*c.tm);
  if (!resolved) return c.route_address;  // keep talking to what we had ("" at first)
  c.route = resolved->region;
  c.route_address = resolved->address;
  c.consecutive_failures = 0;
  auto ttl = resolved->ttl;
  // Clients started together would otherwise expire their caches in lockstep: the first
  // answer lives a random part of the TTL, which spreads the clients' phases as in a real
  // population of resolvers.
  if (c.first_resolve) {
    ttl = std::chrono::duration_cast<std::chrono::milliseconds>(ttl * c.rng.unit());
    c.first_resolve = false;
  }
  c.route_expires = Clock::now() + ttl;
  std::lock_guard stats_lock(mu_);
  stats_.route = c.route;
  return c.route_address;
}

void LoadGenerator::run_lane(Client& c, Lane& lane) {
  Rng rng(lane.seed);
  Clock::time_point next = Clock::now() + lane.offset;
  uint64_t counter = 0;

  while (!stopping_) {
    auto now = Clock::now();
    if (now < next) {
      std::this_thread::sleep_for(std::min<Clock::duration>(next - now, 50ms));
      continue;
    }
    next += lane.interval;
    if (now - next > 1s) next = now;  // do not burst to catch up after a stall

    const std::string address = route_for(c);
    if (address.empty()) continue;  // nothing to talk to yet
    auto [stub, route] = c.stub_for(address);

    OpRecord op = next_op(c, lane, rng, counter);
    grpc::ClientContext ctx;
    net::set_deadline(ctx, c.deadline);
    if (!lane.begin_call(&ctx, stopping_)) break;
    op.invoke_ns = wall_now_unix_nanos();
    if (model::is_write(op.kind)) op.value = write_value(c, lane, counter);
    grpc::Status s = send_op(*stub, ctx, op);
    op.complete_ns = wall_now_unix_nanos();
    lane.end_call();
    settle(op, s, ctx, route);
    {
      std::lock_guard lock(c.mu);
      c.consecutive_failures = s.ok() ? 0 : c.consecutive_failures + 1;
    }
    record(lane, std::move(op));
  }
}

OpRecord LoadGenerator::next_op(const Client& c, const Lane& lane, Rng& rng,
                                uint64_t& counter) const {
  OpRecord op;
  op.id = (uint64_t{c.index} << 40) | (uint64_t{lane.index} << 32) | (counter++ & 0xffffffffu);
  op.run = options_.run;
  op.client = c.index;
  op.lane = lane.index;
  op.client_kind = c.kind;
  op.workload = options_.workloads[rng.below(options_.workloads.size())];
  op.key = "key-" + std::to_string(rng.below(options_.keys));
  op.kind = rng.unit() < options_.write_fraction ? OpKind::kPut : OpKind::kGet;
  return op;
}

std::string LoadGenerator::write_value(const Client& c, const Lane& lane, uint64_t counter) const {
  // Unique across runs too: two loads on one home never write the same value.
  std::string value = fmt::format("{}/w{}.{}-{}-", options_.run, c.index, lane.index, counter);
  value.resize(std::max<size_t>(options_.value_bytes, value.size()), 'x');
  return value;
}

void LoadGenerator::record(Lane& lane, OpRecord op) {
  {
    std::lock_guard lock(mu_);
    switch (op.outcome) {
      case Outcome::kOk:
        ++stats_.ok;
        ++stats_.ok_by_region[op.region];
        if (model::is_write(op.kind)) {
          ++stats_.writes_ok;
          ok_write_times_[op.region].push_back(op.complete_ns);
        }
        break;
      case Outcome::kFail: ++stats_.fail; break;
      case Outcome::kIndeterminate: ++stats_.indeterminate; break;
    }
    if (op.outcome != Outcome::kOk && !op.error.empty()) stats_.last_error = op.error;
  }
  if (sink_) sink_->append(op);
  lane.ops.push_back(std::move(op));
}

}  // namespace drsim::cli
