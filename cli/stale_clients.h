// Stale clients: the load generator's clients that keep their cached address past a failover.
// Their options, and how progress lines and the drill report describe them; apart from
// cli/load_generator.h so that the drill report and its parser need no gRPC header.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace drsim::cli {

// Clients that keep their cached address past a failover, as real applications do (a
// connection pool, a cached DNS answer, a client library that re-resolves only on errors), each
// with several requests in flight and a long deadline. They are what sees a superseded region's
// acknowledgements: a frozen primary holds their requests and answers them when it resumes.
struct StaleClientOptions {
  uint32_t count = 0;      // stale clients (0: none)
  uint32_t in_flight = 4;  // requests each keeps in flight (one call lane each)
  std::chrono::milliseconds deadline{10000};
  double rate = 100;  // operations per second, all stale clients together
  // Re-resolve after this many consecutive failed calls; nullopt: never (keep the address).
  std::optional<uint32_t> reresolve_after_failures = 3;
};

// "4 stale clients, 8 calls in flight each, deadline 10000 ms, 100 ops/s, re-resolving after 3
// consecutive failures" — for progress lines.
std::string describe_stale_clients(const StaleClientOptions& stale);
// The same facts for the JSON report ({} when there are none).
nlohmann::json stale_clients_json(const StaleClientOptions& stale);

}  // namespace drsim::cli
