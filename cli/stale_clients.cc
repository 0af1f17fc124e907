#include "cli/stale_clients.h"

#include <fmt/format.h>

namespace drsim::cli {

std::string describe_stale_clients(const StaleClientOptions& stale) {
  return fmt::format(
      "{} stale clients keeping their cached address, {} calls in flight each, deadline {} ms, "
      "{:g} ops/s, {}",
      stale.count, stale.in_flight, stale.deadline.count(), stale.rate,
      stale.reresolve_after_failures ? fmt::format("re-resolving after {} consecutive failures",
                                                   *stale.reresolve_after_failures)
                                     : std::string("never re-resolving"));
}

nlohmann::json stale_clients_json(const StaleClientOptions& stale) {
  if (stale.count == 0) return nlohmann::json::object();
  nlohmann::json j = {{"count", stale.count},
                      {"in_flight", stale.in_flight},
                      {"deadline_ms", stale.deadline.count()},
                      {"rate", stale.rate}};
  if (stale.reresolve_after_failures) {
    j["reresolve_after_failures"] = *stale.reresolve_after_failures;
  } else {
    j["reresolve_after_failures"] = "never";
  }
  return j;
}

}  // namespace drsim::cli
