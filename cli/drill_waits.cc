// A drill's waits: the wait, pause and at steps, and wait_until's conditions (routing events,
// acknowledged writes, protected items, replication lag) with their timeouts.
#include "cli/drill_run.h"

namespace drsim::cli::drill_run {

// wait and pause (the operator acts meanwhile) for a time; at, until a time since the load began.
void DrillRun::wait_step(const DrillStep& step, const std::string& label) {
  if (step.kind == DrillStep::Kind::kAt) {
    say(label);
    int64_t target_ns = load_start_ns_ + static_cast<int64_t>(step.seconds * 1e9);
    int64_t wait_ns = std::max<int64_t>(0, target_ns - wall_now_unix_nanos());
    wait_until(std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns), nullptr);
    return;
  }
  say(label + (step.kind == DrillStep::Kind::kPause ? " — the drill waits; do it now" : ""));
  wait_until(std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(step.seconds * 1000)),
             nullptr);
}

void DrillRun::wait_condition(const DrillStep& step, const std::string& label, int64_t started,
                              std::string* outcome) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(step.timeout_s * 1000));
  // What the system did in answer to the latest step that changed something (a fault, a heal, a
  // failover...), even while that step itself was still running.
  int64_t since = last_action_ns_ ? last_action_ns_ : started;
  int64_t at = 0;
  const std::string& c = step.condition;
  std::function<bool()> done = condition_met(step, started, since, at);
  if (wait_until(deadline, done) && at) {
    if (c == "degraded" && step.target == faulted_ && !marks_.detected_ns) marks_.detected_ns = at;
    say(fmt::format("  {} {} after {:.0f} ms", c, step.target, (at - since) / 1e6));
  } else if (aborted_.empty()) {
    *outcome = "timed out";
    problems_.push_back(fmt::format("{}: timed out after {:g} s", label, step.timeout_s));
  }
}

std::function<bool()> DrillRun::condition_met(const DrillStep& step, int64_t started,
                                              int64_t& since, int64_t& at) {
  const std::string& c = step.condition;
  auto events_since = [&](auto match) {
    return [&, match] {
      for (const auto& e : watcher_->events()) {
        if (e.unix_nanos() >= since && match(e)) {
          at = e.unix_nanos();
          return true;
        }
      }
      return false;
    };
  };
  if (c == "degraded" || c == "online") {
    auto want = c == "degraded" ? drsim::v1::ENDPOINT_DEGRADED : drsim::v1::ENDPOINT_ONLINE;
    return events_since([&, want](const drsim::v1::RoutingEvent& e) {
      return e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS && e.endpoint() == step.target &&
             e.new_status() == want;
    });
  }
  if (c == "routed_to") {
    return events_since([&](const drsim::v1::RoutingEvent& e) {
      return e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED && e.new_route() == step.target;
    });
  }
  if (c == "acked_by") {
    return [&] { return (at = load_->first_ok_write_by(step.target, since)) != 0; };
  }
  if (c == "items_protected") {
    // Site Recovery: the vault in the target (the replication target) holds every protected
    // item Protected with at least one recovery point of its own.
    return [&] {
      auto items = sr_items(state_.at(step.target).address);
      if (!items.is_ok() || items->items_size() == 0) return false;
      for (const auto& i : items->items()) {
        if (i.state() != "Protected" || i.points() == 0) return false;
      }
      at = wall_now_unix_nanos();
      return true;
    };
  }
  // lag_above / lag_below: the lag from the step's own start.
  since = started;
  return [&] {
    auto lag = sampler_->lag_writes(step.target);
    bool hit = lag && (step.condition == "lag_above" ? *lag > step.writes : *lag < step.writes);
    if (hit) at = wall_now_unix_nanos();
    return hit;
  };
}

}  // namespace drsim::cli::drill_run
