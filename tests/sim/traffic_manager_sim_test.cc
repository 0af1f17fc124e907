// The Traffic Manager driver on virtual time: the TrafficManager the daemon runs, on a
// SimScheduler with in-memory probers, so Azure's 30-second probe policy is judged in
// microseconds. Fails if the driver reads any clock but the one it was given: its probe
// schedule would run on real time and its event stamps would carry the real date.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/core/scheduler.h"
#include "trafficmgr/traffic_manager.h"

namespace drsim::trafficmgr {
namespace {

using namespace std::chrono_literals;

constexpr Duration kProbeLatency = 20ms;

// What the simulated regions answer, and every probe result the Traffic Manager was given.
struct SimRegions {
  std::vector<bool> healthy;
  struct Answer {
    size_t endpoint;
    model::ProbeOutcome outcome;
    Time at;
  };
  std::vector<Answer> answers;
};

// A prober without sockets: each probe answers after kProbeLatency of virtual time.
class SimProber final : public Prober {
 public:
  SimProber(SimScheduler& scheduler, SimRegions& regions, ResultHandler on_result)
      : scheduler_(scheduler), regions_(regions), on_result_(std::move(on_result)) {}
  ~SimProber() override { cancel_all(); }

  void probe(size_t endpoint) override {
    pending_.push_back(scheduler_.schedule_after(kProbeLatency, [this, endpoint] {
      const bool ok = regions_.healthy.at(endpoint);
      const auto outcome = ok ? model::ProbeOutcome::kSuccess : model::ProbeOutcome::kFailure;
      regions_.answers.push_back({endpoint, outcome, scheduler_.now()});
      on_result_(ProbeResult{endpoint, outcome, ok ? "" : "UNAVAILABLE: region down (simulated)",
                             kProbeLatency, ok ? "SERVING" : "", std::nullopt});
    }));
  }
  void cancel_all() override {
    for (TimerId id : pending_) scheduler_.cancel(id);
    pending_.clear();
  }

 private:
  SimScheduler& scheduler_;
  SimRegions& regions_;
  ResultHandler on_result_;
  std::vector<TimerId> pending_;
};

// One priority profile "drsim": primary (priority 1), secondary (2), Azure's default probe
// policy (every 30 s, 10 s timeout, 3 tolerated failures).
TrafficManagerConfig azure_default_profile() {
  FlagProfileConfig flags;
  flags.endpoints = {{"primary", "127.0.0.1:7001", 1, ""}, {"secondary", "127.0.0.1:7002", 2, ""}};
  flags.monitor.probe_interval = 30s;
  flags.monitor.probe_timeout = 10s;
  flags.monitor.tolerated_failures = 3;
  EXPECT_TRUE(flags.validate().is_ok());
  TrafficManagerConfig config;
  config.profiles.push_back(flags.to_profile_spec());
  return config;
}

std::string answered(TrafficManager& tm) {
  Resolved r = tm.state().resolve("drsim", "", std::nullopt);
  if (r.resolution.answers.empty()) return "(none)";
  return r.resolution.answers.front().endpoint;
}

size_t failures_of(const SimRegions& regions, size_t endpoint) {
  size_t n = 0;
  for (const auto& a : regions.answers) {
    if (a.endpoint == endpoint && a.outcome == model::ProbeOutcome::kFailure) ++n;
  }
  return n;
}

TEST(TrafficManagerSim, DegradedAfterToleratedPlusOneFailuresThenTheRouteFlips) {
  SimScheduler scheduler;
  SimRegions regions{{true, true}, {}};
  TrafficManager tm(azure_default_profile(), scheduler, scheduler,
                    [&](const ProberConfig& config, Prober::ResultHandler on_result) {
                      EXPECT_EQ(config.targets.size(), 2u);
                      return std::make_unique<SimProber>(scheduler, regions, std::move(on_result));
                    });
  tm.start();

  // Ten minutes of healthy regions: the primary answers, probed every 30 s.
  scheduler.run_for(10min);
  ASSERT_EQ(answered(tm), "primary");
  ASSERT_EQ(failures_of(regions, 0), 0u);
  const size_t probes_before = regions.answers.size();
  EXPECT_GE(probes_before, 2u * 20);  // two endpoints, one probe each per 30 s
  EXPECT_LE(probes_before, 2u * 21);

  // The primary goes down. Three failed probes are tolerated: 90 s later it still answers.
  regions.healthy[0] = false;
  const Time down_at = scheduler.now();
  ASSERT_TRUE(scheduler.run_until([&] { return failures_of(regions, 0) == 3; }, down_at + 2min));
  EXPECT_LE(scheduler.now() - down_at, 90s + kProbeLatency);
  EXPECT_EQ(answered(tm), "primary");

  // Failure number four degrades it and the route flips at that very probe's answer.
  ASSERT_TRUE(scheduler.run_until([&] { return answered(tm) == "secondary"; }, down_at + 3min));
  EXPECT_EQ(failures_of(regions, 0), 4u);
  const Time flipped_at = scheduler.now();
  EXPECT_EQ(flipped_at, regions.answers.back().at);
  EXPECT_GT(flipped_at - down_at, 90s);
  EXPECT_LE(flipped_at - down_at, 120s + kProbeLatency);

  // The route-change event is stamped with the injected clock's wall time, not the host's.
  bool seen = false;
  for (const auto& e : tm.state().events()) {
    if (e.kind() != v1::RoutingEvent::ROUTE_CHANGED) continue;
    seen = true;
    EXPECT_EQ(e.old_route(), "primary");
    EXPECT_EQ(e.new_route(), "secondary");
    EXPECT_EQ(e.unix_nanos(), scheduler.wall_unix_nanos());
    EXPECT_EQ(e.unix_nanos(), kSimWallStartUnixNanos + (flipped_at - kTimeZero).count());
  }
  EXPECT_TRUE(seen);
  tm.stop();
}

}  // namespace
}  // namespace drsim::trafficmgr
