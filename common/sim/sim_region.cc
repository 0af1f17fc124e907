#include "common/sim/sim_region.h"

#include <map>
#include <optional>

namespace drsim::sim {

std::string SimRegion::log_problem(const std::string& workload) {
  auto cursor = store->load_cursor(workload);
  DRSIM_CHECK(cursor.is_ok());
  uint64_t next = 1;
  std::string problem;
  // Each key's newest logged change: what the data must show (a put's value, a delete's absence).
  std::map<std::string, v1::Change> newest;
  Status st = store->scan_log(workload, Seq(1), Seq(~uint64_t{0}), [&](const v1::Change& c) {
    if (c.seq() != next) {
      problem = "a seq gap: " + std::to_string(c.seq()) + " follows " + std::to_string(next - 1);
      return false;
    }
    newest[c.key()] = c;
    ++next;
    return true;
  });
  DRSIM_CHECK(st.is_ok());
  for (const auto& [key, c] : newest) {
    if (!problem.empty()) break;
    const std::optional<std::string> want =
        c.op() == v1::OP_DELETE ? std::nullopt : std::optional<std::string>(c.value());
    if (value_of(workload, key) != want) {
      problem = "seq " + std::to_string(c.seq()) + " (" + (want ? "put " : "delete of ") + key +
                ") is logged but not in the data (half-applied)";
    }
  }
  const uint64_t last = next - 1;
  if (problem.empty() && last != cursor->seq.value()) {
    problem = "the log ends at seq " + std::to_string(last) + " but the cursor is at " +
              std::to_string(cursor->seq.value()) +
              (last > cursor->seq.value() ? " (changes from the future)" : "");
  }
  return problem;
}

std::map<std::string, std::string> SimRegion::contents(const std::string& workload) {
  std::map<std::string, std::string> out;
  std::string start;
  for (;;) {
    auto page = store->scan(workload, start, 10000);
    DRSIM_CHECK(page.is_ok());
    for (auto& [k, v] : page->items) out.emplace(std::move(k), std::move(v));
    if (page->next_key.empty()) return out;
    start = page->next_key;
  }
}

}  // namespace drsim::sim
