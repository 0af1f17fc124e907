#include "common/model/drill/expectations.h"

#include <cstdio>

namespace drsim::model {

namespace {

std::string printf_text(const char* format, double v) {
  char out[64];
  std::snprintf(out, sizeof out, format, v);
  return out;
}

std::string ms_text(std::optional<Duration> d) {
  return d ? printf_text("%.0f ms", to_ms(*d)) : "n/a";
}

// At most / at least `bound` ("<= 500 ms", ">= 0.950").
std::string at_most(double bound, const char* format) { return "<= " + printf_text(format, bound); }
std::string at_least(double bound, const char* format) {
  return ">= " + printf_text(format, bound);
}

}  // namespace

std::string rpo_text(const DrillMeasures& m) {
  return m.failed_over ? std::to_string(m.rpo_writes) : "n/a (no failover)";
}

std::vector<Expectation> judge_drill(const DrillExpectations& ex, const DrillMeasures& m) {
  std::vector<Expectation> out;
  auto count = [&](const char* name, std::optional<uint64_t> bound, uint64_t got,
                   Measure measure = Measure::kOther) {
    if (bound) {
      out.push_back(
          {name, "<= " + std::to_string(*bound), std::to_string(got), got <= *bound, measure});
    }
  };
  if (ex.max_rto_ms) {
    out.push_back({"RTO", at_most(*ex.max_rto_ms, "%g ms"), ms_text(m.rto),
                   m.rto && to_ms(*m.rto) <= *ex.max_rto_ms});
  }
  count("acknowledged writes lost", ex.max_lost_writes, m.lost_writes, Measure::kLostWrites);
  count("acknowledged sync writes lost", ex.max_lost_sync_writes, m.lost_sync_writes,
        Measure::kLostSyncWrites);
  count("stale reads", ex.max_stale_reads, m.stale_reads, Measure::kStaleReads);
  if (ex.final_routing) {
    const std::string got = m.final_route.value_or("unknown");
    out.push_back({"final routing", *ex.final_routing, got, got == *ex.final_routing,
                   Measure::kFinalRoute});
  }
  if (ex.min_availability) {
    out.push_back({"availability (ok / all operations)", at_least(*ex.min_availability, "%.3f"),
                   printf_text("%.3f", m.availability), m.availability >= *ex.min_availability});
  }
  const std::string rpo = rpo_text(m);
  if (ex.min_rpo_writes) {
    out.push_back({"RPO (writes given up)", ">= " + std::to_string(*ex.min_rpo_writes), rpo,
                   m.failed_over && m.rpo_writes >= *ex.min_rpo_writes});
  }
  if (ex.max_rpo_writes) {
    out.push_back({"RPO (writes given up)", "<= " + std::to_string(*ex.max_rpo_writes), rpo,
                   m.failed_over && m.rpo_writes <= *ex.max_rpo_writes});
  }
  const std::string moved = m.all_clients_moved ? ms_text(m.all_clients_moved) : m.moved_text;
  if (ex.max_all_clients_moved_ms) {
    out.push_back(
        {"all clients moved", at_most(*ex.max_all_clients_moved_ms, "%g ms"), moved,
         m.all_clients_moved && to_ms(*m.all_clients_moved) <= *ex.max_all_clients_moved_ms});
  }
  if (ex.min_all_clients_moved_ms) {
    out.push_back(
        {"all clients moved", at_least(*ex.min_all_clients_moved_ms, "%g ms"), moved,
         m.all_clients_moved && to_ms(*m.all_clients_moved) >= *ex.min_all_clients_moved_ms});
  }
  if (ex.max_all_clients_moved_after_routing_ms) {
    const auto& after = m.all_clients_moved_after_routing;
    out.push_back({"all clients moved after the route change",
                   at_most(*ex.max_all_clients_moved_after_routing_ms, "%g ms"),
                   after       ? ms_text(after)
                   : !m.routed ? "n/a (no route change)"
                               : moved,
                   after && to_ms(*after) <= *ex.max_all_clients_moved_after_routing_ms});
  }
  count("writes acked by a superseded region", ex.max_writes_acked_after_fencing,
        m.acked_after_fencing);
  if (ex.lost_within_rpo) {
    out.push_back({"lost writes within the RPO", "lost <= RPO",
                   std::to_string(m.lost_writes) + " <= " + rpo,
                   m.failed_over && m.lost_writes <= m.rpo_writes});
  }
  if (m.planned) {
    out.push_back({"writes lost by planned failover (drain)", "0",
                   std::to_string(m.planned_given_up), m.planned_given_up == 0});
  }
  return out;
}

std::vector<std::string> bug_problems(const std::map<std::string, uint64_t>& counted) {
  std::vector<std::string> out;
  for (const auto& [process, n] : counted) {
    if (n == 0) continue;
    out.push_back(process + " counted " + std::to_string(n) + " DRSIM_BUG report" +
                  (n == 1 ? "" : "s") + ": a drsim bug (its log names where)");
  }
  return out;
}

}  // namespace drsim::model
