// `drsim drill export --chaos-mesh`: every fault kind drsim has maps to Chaos Mesh objects or is
// listed as having no equivalent (a kind added without a mapping fails here), with selectors
// for deploy/k8s's pods and windows taken from the drill's steps.
#include "cli/chaos_mesh.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace drsim::cli {
namespace {

struct Expected {
  std::map<std::string, std::string> params;  // besides the fault name
  std::vector<std::string> kinds;             // Chaos Mesh kinds, in order
  std::string action;                         // spec.action of the first object ("" = none)
  bool unsupported = false;
  bool ends_earlier = false;
};

// What each drsim fault becomes. A fault added to cli/faults.cc must be added here (and mapped
// in cli/chaos_mesh.cc, or listed with the reason it has no equivalent).
const std::map<std::string, Expected>& expected_mappings() {
  static const std::map<std::string, Expected> m = {
      {"kill", {{{"region", "primary"}}, {"PodChaos"}, "pod-failure"}},
      {"pause", {{{"region", "primary"}}, {}, "", true}},
      {"resume", {{{"region", "primary"}}, {}, "", false, true}},
      {"restart", {{{"region", "primary"}}, {}, "", false, true}},
      {"outage", {{{"region", "secondary"}}, {"PodChaos"}, "pod-failure"}},
      {"partition", {{{"link", "replication"}}, {"NetworkChaos"}, "partition"}},
      {"latency",
       {{{"link", "repl.primary-secondary"}, {"latency_ms", "200"}, {"jitter_ms", "20"}},
        {"NetworkChaos"},
        "delay"}},
      {"bandwidth",
       {{{"link", "probe.primary"}, {"bytes_per_second", "1000000"}},
        {"NetworkChaos"},
        "bandwidth"}},
      {"loss",
       {{{"link", "repl.primary-secondary"}, {"percent", "5"}, {"mechanism", "kernel"}},
        {"NetworkChaos"},
        "loss"}},
      {"reset", {{{"link", "replication"}}, {}, "", true}},
      {"stall", {{{"link", "replication"}, {"stall_ms", "200"}}, {}, "", true}},
      {"clock-skew", {{{"region", "primary"}, {"offset_ms", "-1500"}}, {"TimeChaos"}, ""}},
      {"clock-drift", {{{"region", "primary"}, {"drift_ppm", "1000"}}, {}, "", true}},
  };
  return m;
}

FaultSpec fault(const std::string& name, const std::map<std::string, std::string>& params) {
  std::map<std::string, FaultParam> p;
  for (const auto& [k, v] : params) p[k] = {v, "test." + k};
  auto f = make_fault(name, p, "test", ParamStyle::kDrillKey);
  EXPECT_TRUE(f.is_ok()) << f.status().message();
  return f.is_ok() ? *f : FaultSpec{};
}

const ChaosMeshWindow kWindow{2.0, 10.0, false};

std::map<std::string, std::string> labels(const YAML::Node& selector) {
  std::map<std::string, std::string> out;
  for (const auto& kv : selector["labelSelectors"]) {
    out[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  return out;
}

std::map<std::string, std::string> pod(const std::string& component) {
  return {{kK8sNameLabel, kK8sNameValue}, {kK8sComponentLabel, component}};
}

TEST(ChaosMesh, EveryFaultKindHasAnExpectedMapping) {
  ASSERT_FALSE(fault_names().empty());
  for (const auto& name : fault_names()) {
    SCOPED_TRACE(name);
    auto it = expected_mappings().find(name);
    ASSERT_NE(it, expected_mappings().end())
        << "fault '" << name << "' has no Chaos Mesh mapping in this test: map it in "
        << "cli/chaos_mesh.cc (or list why it has no equivalent) and add it here";
    const Expected& want = it->second;
    ChaosMeshFault got = chaos_mesh_fault(fault(name, want.params), kWindow, "d-1-" + name, {});
    std::vector<std::string> kinds;
    for (const auto& o : got.objects) kinds.push_back(o["kind"].as<std::string>());
    EXPECT_EQ(kinds, want.kinds);
    EXPECT_EQ(!got.unsupported.empty(), want.unsupported);
    EXPECT_EQ(got.ends_earlier_fault, want.ends_earlier);
    for (const auto& u : got.unsupported) {
      EXPECT_NE(u.find("no Chaos Mesh equivalent"), std::string::npos) << u;
    }
    if (!want.action.empty()) {
      ASSERT_FALSE(got.objects.empty());
      EXPECT_EQ(got.objects[0]["spec"]["action"].as<std::string>(), want.action);
    }
    for (const auto& o : got.objects) {
      EXPECT_EQ(o["apiVersion"].as<std::string>(), kChaosMeshApiVersion);
      EXPECT_EQ(o["spec"]["duration"].as<std::string>(), "10s");
      EXPECT_EQ(o["spec"]["mode"].as<std::string>(), "all");
      EXPECT_EQ(o["metadata"]["annotations"]["drsim.io/start-after"].as<std::string>(), "2s");
    }
  }
  // No stale entries either: every expected mapping names a fault drsim has.
  std::set<std::string> names(fault_names().begin(), fault_names().end());
  for (const auto& [name, want] : expected_mappings()) EXPECT_TRUE(names.count(name)) << name;
}

TEST(ChaosMesh, KillNeverRestartedIsAPodKillWithoutDuration) {
  ChaosMeshFault got = chaos_mesh_fault(fault("kill", {{"region", "secondary"}}),
                                        {5.0, std::nullopt, false}, "k", {});
  ASSERT_EQ(got.objects.size(), 1u);
  EXPECT_EQ(got.objects[0]["spec"]["action"].as<std::string>(), "pod-kill");
  EXPECT_FALSE(got.objects[0]["spec"]["duration"]);
  EXPECT_EQ(labels(got.objects[0]["spec"]["selector"]), pod("secondary"));
}

TEST(ChaosMesh, PodSelectorsUseTheDeployLabelsAndNamespaces) {
  ChaosMeshPlacement placement;
  placement.namespace_of["secondary"] = "drsim-secondary";
  ChaosMeshFault got =
      chaos_mesh_fault(fault("partition", {{"link", "replication"}}), kWindow, "p", placement);
  // Both replication links join the same two pods: one object, both directions.
  ASSERT_EQ(got.objects.size(), 1u);
  const YAML::Node& o = got.objects[0];
  EXPECT_EQ(o["metadata"]["namespace"].as<std::string>(), "drsim");
  EXPECT_EQ(o["spec"]["direction"].as<std::string>(), "both");
  EXPECT_EQ(labels(o["spec"]["selector"]), pod("primary"));
  EXPECT_EQ(o["spec"]["selector"]["namespaces"][0].as<std::string>(), "drsim");
  EXPECT_EQ(labels(o["spec"]["target"]["selector"]), pod("secondary"));
  EXPECT_EQ(o["spec"]["target"]["selector"]["namespaces"][0].as<std::string>(), "drsim-secondary");
}

TEST(ChaosMesh, LinkDirectionsBecomeSourceAndTargetPods) {
  // up: from the link's dialler to its server; down: the answers only.
  auto up = chaos_mesh_fault(fault("latency", {{"link", "repl.primary-secondary"},
                                               {"direction", "up"},
                                               {"latency_ms", "200"},
                                               {"jitter_ms", "20"}}),
                             kWindow, "l", {});
  ASSERT_EQ(up.objects.size(), 1u);
  EXPECT_EQ(up.objects[0]["spec"]["direction"].as<std::string>(), "to");
  EXPECT_EQ(labels(up.objects[0]["spec"]["selector"]), pod("primary"));
  EXPECT_EQ(labels(up.objects[0]["spec"]["target"]["selector"]), pod("secondary"));
  EXPECT_EQ(up.objects[0]["spec"]["delay"]["latency"].as<std::string>(), "200ms");
  EXPECT_EQ(up.objects[0]["spec"]["delay"]["jitter"].as<std::string>(), "20ms");

  auto down = chaos_mesh_fault(
      fault("bandwidth",
            {{"link", "witness.secondary"}, {"direction", "down"}, {"bytes_per_second", "5000"}}),
      kWindow, "b", {});
  ASSERT_EQ(down.objects.size(), 1u);
  EXPECT_EQ(down.objects[0]["spec"]["direction"].as<std::string>(), "to");
  EXPECT_EQ(labels(down.objects[0]["spec"]["selector"]), pod("trafficmgr"));
  EXPECT_EQ(labels(down.objects[0]["spec"]["target"]["selector"]), pod("secondary"));
  EXPECT_EQ(down.objects[0]["spec"]["bandwidth"]["rate"].as<std::string>(), "5000bps");
  // 5000 B/s gets drsim's 20 ms burst (100 bytes), raised to one Ethernet frame for tc.
  EXPECT_EQ(down.objects[0]["spec"]["bandwidth"]["buffer"].as<uint64_t>(), 1600u);
  EXPECT_GE(down.objects[0]["spec"]["bandwidth"]["limit"].as<uint64_t>(),
            down.objects[0]["spec"]["bandwidth"]["buffer"].as<uint64_t>());
}

TEST(ChaosMesh, ClientLinksHaveNoPodAndAreListed) {
  auto clients = chaos_mesh_fault(fault("partition", {{"link", "clients"}}), kWindow, "c", {});
  EXPECT_TRUE(clients.objects.empty());
  ASSERT_EQ(clients.unsupported.size(), 2u);
  EXPECT_NE(clients.unsupported[0].find("client.primary"), std::string::npos);

  // A region's links: replication (to the secondary), probes and witness (the Traffic Manager)
  // map; its client link is listed.
  auto region = chaos_mesh_fault(fault("partition", {{"link", "primary"}}), kWindow, "r", {});
  std::set<std::set<std::string>> pairs;
  for (const auto& o : region.objects) {
    EXPECT_EQ(o["spec"]["direction"].as<std::string>(), "both");
    pairs.insert({labels(o["spec"]["selector"])[kK8sComponentLabel],
                  labels(o["spec"]["target"]["selector"])[kK8sComponentLabel]});
  }
  EXPECT_EQ(pairs,
            (std::set<std::set<std::string>>{{"primary", "secondary"}, {"primary", "trafficmgr"}}));
  ASSERT_EQ(region.unsupported.size(), 1u);
  EXPECT_NE(region.unsupported[0].find("client.primary"), std::string::npos);
}

TEST(ChaosMesh, ClockSkewIsAWallClockTimeOffsetOfTheRegionContainer) {
  auto got = chaos_mesh_fault(fault("clock-skew", {{"region", "secondary"}, {"offset_ms", "2500"}}),
                              kWindow, "s", {});
  ASSERT_EQ(got.objects.size(), 1u);
  const YAML::Node& spec = got.objects[0]["spec"];
  EXPECT_EQ(spec["timeOffset"].as<std::string>(), "2500ms");
  EXPECT_EQ(spec["clockIds"][0].as<std::string>(), "CLOCK_REALTIME");
  EXPECT_EQ(spec["containerNames"][0].as<std::string>(), "secondary");
}

constexpr const char* kDrill = R"(name: Export_Timeline
topology:
  workloads: [{ name: vm-web, mode: sync }]
steps:
  - wait: 2s
  - inject: { fault: partition, link: replication }
  - wait: 3s
  - heal: { link: replication }
  - inject: { fault: kill, region: primary }
  - wait: 1500ms
  - inject: { fault: restart, region: primary }
  - inject: { fault: pause, region: secondary }
  - inject: { fault: clock-skew, region: secondary, offset_ms: 700 }
  - wait_until: { condition: routed_to, target: primary, timeout: 4s }
  - heal: all
  - inject: { fault: outage, region: secondary }
  - wait: 1s
expect:
  max_lost_writes: 0
)";

TEST(ChaosMesh, ExportTakesWindowsFromTheDrillSteps) {
  auto drill = parse_drill(kDrill, "timeline.yaml");
  ASSERT_TRUE(drill.is_ok()) << drill.status().message();
  ChaosMeshExport exported = chaos_mesh_export(*drill, {});
  EXPECT_EQ(exported.faults, 5);  // partition, kill, pause, clock-skew, outage
  ASSERT_EQ(exported.objects.size(), 4u);
  struct Want {
    std::string kind, name, start, duration;
    bool approximate;
  };
  const std::vector<Want> want = {
      {"NetworkChaos", "export-timeline-2-partition-primary-secondary", "2s", "3s", false},
      {"PodChaos", "export-timeline-5-kill", "5s", "1500ms", false},
      // Ends at `heal: all` after a wait_until counted at its 4 s timeout.
      {"TimeChaos", "export-timeline-9-clock-skew", "6500ms", "4s", true},
      // Never healed: lasts to the drill's end.
      {"PodChaos", "export-timeline-12-outage", "10500ms", "1s", true},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    const YAML::Node& o = exported.objects[i];
    EXPECT_EQ(o["kind"].as<std::string>(), want[i].kind);
    EXPECT_EQ(o["metadata"]["name"].as<std::string>(), want[i].name);
    EXPECT_EQ(o["metadata"]["annotations"]["drsim.io/start-after"].as<std::string>(),
              want[i].start);
    EXPECT_EQ(o["spec"]["duration"].as<std::string>(), want[i].duration);
    EXPECT_EQ(bool(o["metadata"]["annotations"]["drsim.io/timing"]), want[i].approximate);
  }
  ASSERT_EQ(exported.unsupported.size(), 1u);
  EXPECT_EQ(exported.unsupported[0].rfind("step 8: pause on secondary", 0), 0u)
      << exported.unsupported[0];

  // The YAML stream: a header naming what was not exported, then one document per object.
  std::string text = chaos_mesh_yaml(*drill, exported);
  EXPECT_NE(text.find("#   step 8: pause on secondary"), std::string::npos) << text;
  auto docs = YAML::LoadAll(text);
  ASSERT_EQ(docs.size(), exported.objects.size());
  EXPECT_EQ(docs[1]["spec"]["action"].as<std::string>(), "pod-failure");
  EXPECT_EQ(docs[1]["metadata"]["annotations"]["drsim.io/fault"].as<std::string>(),
            "step 5: kill on primary");
  // Kubernetes takes only strings as annotations: none may read back as a number or a bool.
  for (const auto& d : docs) {
    for (const auto& kv : d["metadata"]["annotations"]) {
      const std::string v = kv.second.Scalar();
      EXPECT_FALSE(v.empty() || v.find_first_not_of("0123456789.-+") == std::string::npos ||
                   v == "true" || v == "false")
          << kv.first.Scalar() << ": " << v;
    }
  }
}

TEST(ChaosMesh, KernelLossBecomesNetworkChaosLossWithItsPercentAsAString) {
  auto exported = chaos_mesh_fault(fault("loss", {{"link", "repl.primary-secondary"},
                                                  {"percent", "5"},
                                                  {"mechanism", "kernel"}}),
                                   kWindow, "d-1-loss", ChaosMeshPlacement{});
  ASSERT_EQ(exported.objects.size(), 1u);
  YAML::Emitter e;
  e << exported.objects[0];
  auto back = YAML::Load(e.c_str());
  EXPECT_EQ(back["spec"]["action"].as<std::string>(), "loss");
  // Chaos Mesh's LossSpec.loss is a string: the emitted 5 carries the str tag.
  EXPECT_EQ(back["spec"]["loss"]["loss"].as<std::string>(), "5");
  EXPECT_EQ(back["spec"]["loss"]["loss"].Tag(), "tag:yaml.org,2002:str") << e.c_str();
  EXPECT_EQ(back["spec"]["loss"]["correlation"].Tag(), "tag:yaml.org,2002:str");
}

TEST(ChaosMesh, LongDrillNamesLeaveRoomForTheStepAndPods) {
  auto drill = parse_drill(kDrill, "timeline.yaml");
  ASSERT_TRUE(drill.is_ok()) << drill.status().message();
  drill->name = std::string(70, 'x');
  ChaosMeshExport exported = chaos_mesh_export(*drill, {});
  std::set<std::string> names;
  for (const auto& o : exported.objects) {
    const std::string name = o["metadata"]["name"].as<std::string>();
    EXPECT_LE(name.size(), 63u) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), exported.objects.size());  // unique
  EXPECT_TRUE(names.count(std::string(63 - 21 - 12, 'x') + "-2-partition-primary-secondary"))
      << *names.begin();
}

TEST(ChaosMesh, DnsLabels) {
  EXPECT_EQ(dns_label("Region_Outage kill"), "region-outage-kill");
  EXPECT_EQ(dns_label("--x--"), "x");
  EXPECT_EQ(dns_label("***"), "drsim");
  EXPECT_EQ(dns_label(std::string(80, 'a')).size(), 63u);
}

TEST(ChaosMesh, LinkSelectorsMatchTheTopologyGroups) {
  EXPECT_EQ(links_of_selector("replication"),
            (std::vector<std::string>{"repl.primary-secondary", "repl.secondary-primary"}));
  EXPECT_EQ(links_of_selector("probes").size(), 4u);  // probe.* and witness.*
  EXPECT_EQ(links_of_selector("all").size(), topology_links().size());
  EXPECT_TRUE(links_of_selector("nonsense").empty());
}

}  // namespace
}  // namespace drsim::cli
