// Client load through the Traffic Manager, as an application would drive it:
// resolve the profile (cached for the TTL, as a DNS client does — or, for stale clients, kept
// past a failover), send Put / Get to the answered region with a deadline, and record every
// operation (invoke, completion, outcome, how the call ended, region, epoch) into a history.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/history_file.h"
#include "cli/stale_clients.h"
#include "common/core/status.h"
#include "common/model/drill/history.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"

namespace drsim {
class Rng;
}  // namespace drsim

namespace drsim::cli {

// How a worker finds its region: the Traffic Manager's Resolve RPC, or a real DNS query to its
// DNS server (UDP), cached for the answer's TTL as a stub resolver does.
enum class ResolveMode { kGrpc, kDns };

// A DNS answer carries an IP only: the region it stands for and that region's client address.
struct DnsTarget {
  std::string region;
  std::string address;  // host:port
};

struct LoadOptions {
  std::string trafficmgr_address;
  std::string profile = "drsim";
  ResolveMode resolve = ResolveMode::kGrpc;
  std::string dns_address;                     // kDns: the DNS server, 127.0.0.1:PORT
  std::string dns_name;                        // kDns: the name resolved
  std::map<std::string, DnsTarget> dns_targets;  // kDns: answered IP → region
  std::vector<std::string> workloads;
  double rate = 500;                 // operations per second, all TTL-honouring clients together
  uint32_t workers = 8;              // TTL-honouring clients, each with its own resolver cache
  uint64_t keys = 1000;              // key space per workload
  uint32_t value_bytes = 100;
  double write_fraction = 0.9;       // the rest are reads
  std::chrono::milliseconds op_timeout{1000};  // TTL-honouring clients' deadline per call
  uint32_t in_flight = 1;  // calls each TTL-honouring client keeps in flight (one lane each)
  StaleClientOptions stale;
  uint64_t seed = 1;
  // Names the run in every record and in every value it writes, so that the histories of two
  // runs on one home can be checked together.
  std::string run = "run";

  Status validate() const;
};

struct LoadStats {
  uint64_t ok = 0, fail = 0, indeterminate = 0;
  uint64_t resolves = 0;  // lookups made (gRPC calls or DNS queries); the rest hit the cache
  uint64_t writes_ok = 0;
  std::map<std::string, uint64_t> ok_by_region;
  std::string route;              // region the latest resolve answered
  std::string last_error;         // why the latest failed or indeterminate operation did not succeed
  int64_t first_ok_by_route_ns = 0;
};

class LoadGenerator {
 public:
  // `sink`, when given, receives every completed operation as it completes (it must outlive
  // the generator).
  explicit LoadGenerator(LoadOptions options, HistoryWriter* sink = nullptr);
  ~LoadGenerator();

  void start();
  // Lets calls in flight finish for a short grace, cancels the rest (recorded as cancelled:
  // indeterminate writes, failed reads) and joins the clients.
  void stop();
  LoadStats stats() const;
  // Completion time of the first acknowledged write by `region` that completed
  // at or after `after_ns` (0 = none yet).
  int64_t first_ok_write_by(const std::string& region, int64_t after_ns) const;
  // The recorded history, ordered by invocation (after stop()).
  std::vector<model::OpRecord> history() const;

 private:
  struct Client;
  struct Lane;
  struct ResolvedRoute {
    std::string region;
    std::string address;
    std::chrono::milliseconds ttl;
  };
  void run_lane(Client& client, Lane& lane);
  // The lane's next operation: its id, workload, key and kind (Put or Get), drawn from `rng`.
  model::OpRecord next_op(const Client& client, const Lane& lane, Rng& rng,
                          uint64_t& counter) const;
  // The value of the lane's write number `counter`, value_bytes long.
  std::string write_value(const Client& client, const Lane& lane, uint64_t counter) const;
  // One lookup of the route (gRPC Resolve or DNS); nullopt when none was answered.
  std::optional<ResolvedRoute> resolve_route(drsim::v1::TrafficManager::Stub& tm);
  // The address `client` should call now, resolving when its policy says so; "" when none.
  std::string route_for(Client& client);
  void record(Lane& lane, model::OpRecord op);

  LoadOptions options_;
  HistoryWriter* sink_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Client>> clients_;
  mutable std::mutex mu_;
  LoadStats stats_;
  std::map<std::string, std::vector<int64_t>> ok_write_times_;  // by region, in completion order
};

}  // namespace drsim::cli
