// NetnsLayout: the address plan of a `placement: netns` topology, the subnet overlap check against
// the host's routes, and the `ip` commands that create and remove exactly its names.
#include "common/model/faults/netns_layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace drsim::model {
namespace {

Ipv4Net net(const std::string& text) {
  auto n = parse_ipv4_net(text, "placement.subnet");
  EXPECT_TRUE(n.is_ok()) << n.status().message();
  return n.is_ok() ? *n : Ipv4Net{};
}

TEST(Ipv4Net, ParsesAndClearsHostBits) {
  EXPECT_EQ(net("10.213.0.7/24").text(), "10.213.0.0/24");
  EXPECT_EQ(net("192.0.2.2").text(), "192.0.2.2/32");
  EXPECT_EQ(net("0.0.0.0/0").prefix, 0);
}

TEST(Ipv4Net, RejectsMalformedNamingTheField) {
  for (const char* bad : {"", "10.213.0/24", "10.213.0.0/33", "10.213.0.256/24", "a.b.c.d",
                          "10.213.0.0/", "10.213.0.0.1/24", "10.213.0.0/2x"}) {
    auto n = parse_ipv4_net(bad, "placement.subnet");
    ASSERT_FALSE(n.is_ok()) << bad;
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(n.status().message().find("placement.subnet: '"), std::string::npos);
  }
}

TEST(Ipv4Net, OverlapIsContainmentEitherWay) {
  EXPECT_TRUE(net("10.213.0.0/24").overlaps(net("10.0.0.0/8")));
  EXPECT_TRUE(net("10.0.0.0/8").overlaps(net("10.213.0.0/24")));
  EXPECT_TRUE(net("10.213.0.0/24").overlaps(net("10.213.0.9/32")));
  EXPECT_FALSE(net("10.213.0.0/24").overlaps(net("10.213.1.0/24")));
  EXPECT_FALSE(net("10.213.0.0/25").overlaps(net("10.213.0.128/25")));
}

TEST(RouteNetwork, ReadsIpRouteLinesAndIgnoresTheDefaultRoute) {
  EXPECT_FALSE(route_network("default via 192.0.2.1 dev eth0").has_value());
  EXPECT_EQ(route_network("192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2")->text(),
            "192.0.2.0/24");
  EXPECT_EQ(route_network("local 127.0.0.0/8 dev lo table local proto kernel")->text(),
            "127.0.0.0/8");
  EXPECT_EQ(route_network("broadcast 192.0.2.255 dev eth0 table local")->text(), "192.0.2.255/32");
  EXPECT_FALSE(route_network("").has_value());
}

TEST(CheckSubnetFree, NamesTheFieldAndTheHostRouteItOverlaps) {
  const std::vector<std::string> routes = {
      "default via 192.0.2.1 dev eth0",
      "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2",
      "local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1"};
  EXPECT_TRUE(check_subnet_free(net("10.213.0.0/24"), routes, "placement.subnet").is_ok());
  Status s = check_subnet_free(net("192.0.2.128/25"), routes, "t.yaml:3: placement.subnet");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "t.yaml:3: placement.subnet: 192.0.2.128/25 overlaps the host's route '192.0.2.0/24 "
            "dev eth0 proto kernel scope link src 192.0.2.2'; pick a subnet the host does not use "
            "(default 10.213.0.0/24)");
  EXPECT_FALSE(check_subnet_free(net("127.1.0.0/24"), routes, "placement.subnet").is_ok());
}

TEST(NetnsLayout, TwoHomesNeverShareANameAndInterfaceNamesFitTheKernel) {
  auto a = plan_netns_layout("/tmp/home-a", net("10.213.0.0/24"), "placement.subnet");
  auto b = plan_netns_layout("/tmp/home-b", net("10.213.0.0/24"), "placement.subnet");
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->tag, b->tag);
  EXPECT_NE(a->bridge, b->bridge);
  std::set<std::string> names = {a->bridge};
  for (const auto& m : a->members) {
    EXPECT_LE(m.host_veth.size(), 15u) << m.host_veth;
    EXPECT_TRUE(names.insert(m.host_veth).second);
    EXPECT_TRUE(names.insert(m.netns).second);
    EXPECT_EQ(m.netns.rfind("drsim-" + a->tag + "-", 0), 0u);
  }
  EXPECT_LE(a->bridge.size(), 15u);
  EXPECT_EQ(plan_netns_layout("/tmp/home-a", net("10.9.0.0/16"), "f")->tag, a->tag);
}

TEST(NetnsLayout, AddressPlanBridgeFirstThenDaemons) {
  auto l = plan_netns_layout("/h", net("10.213.4.0/24"), "placement.subnet");
  ASSERT_TRUE(l.is_ok());
  EXPECT_EQ(l->host_address, "10.213.4.1");
  ASSERT_EQ(l->members.size(), 4u);
  EXPECT_EQ(l->find("primary")->address, "10.213.4.2");
  EXPECT_EQ(l->find("secondary")->address, "10.213.4.3");
  EXPECT_EQ(l->find("trafficmgr")->address, "10.213.4.4");
  EXPECT_EQ(l->find("faultproxy")->address, "10.213.4.5");
  EXPECT_EQ(l->find("clients"), nullptr);
}

TEST(NetnsLayout, RefusesSubnetsTooSmallOrTooLarge) {
  for (const char* s : {"10.213.0.0/30", "10.213.0.0/32", "10.0.0.0/7"}) {
    auto l = plan_netns_layout("/h", net(s), "placement.subnet");
    ASSERT_FALSE(l.is_ok()) << s;
    EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(l.status().message().rfind("placement.subnet: ", 0), 0u);
  }
  EXPECT_TRUE(plan_netns_layout("/h", net("10.213.0.0/29"), "f").is_ok());
}

TEST(NetnsLayout, SetupTouchesOnlyItsOwnNamesAndTeardownRemovesEachByName) {
  auto l = plan_netns_layout("/h", net("10.213.0.0/24"), "placement.subnet");
  ASSERT_TRUE(l.is_ok());
  auto setup = netns_setup_commands(*l);
  ASSERT_FALSE(setup.empty());
  EXPECT_EQ(setup[0], (Command{"ip", "link", "add", l->bridge, "type", "bridge"}));
  EXPECT_EQ(setup[1], (Command{"ip", "addr", "add", "10.213.0.1/24", "dev", l->bridge}));
  const auto& p = *l->find("primary");
  auto has = [&](const Command& c) {
    return std::find(setup.begin(), setup.end(), c) != setup.end();
  };
  EXPECT_TRUE(has({"ip", "netns", "add", p.netns}));
  EXPECT_TRUE(has({"ip", "link", "add", p.host_veth, "type", "veth", "peer", "name", "eth0",
                   "netns", p.netns}));
  EXPECT_TRUE(has({"ip", "-n", p.netns, "addr", "add", "10.213.0.2/24", "dev", "eth0"}));
  EXPECT_TRUE(has({"ip", "-n", p.netns, "link", "set", "lo", "up"}));
  // Every device a command names is the layout's (or eth0/lo inside its namespaces).
  std::set<std::string> ours = {l->bridge, "eth0", "lo"};
  for (const auto& m : l->members) ours.insert(m.host_veth);
  for (const auto& c : setup) {
    for (size_t i = 0; i + 1 < c.size(); ++i) {
      if (c[i] == "dev" || c[i] == "master" || (c[i] == "set" && c[0] == "ip")) {
        EXPECT_TRUE(ours.count(c[i + 1])) << c[i + 1];
      }
    }
  }
  auto down = netns_teardown_commands(*l);
  std::set<std::string> removed;
  for (const auto& c : down) {
    ASSERT_EQ(c[0], "ip");
    ASSERT_EQ(c[2], "del");
    removed.insert(c[3]);
  }
  EXPECT_TRUE(removed.count(l->bridge));
  for (const auto& m : l->members) {
    EXPECT_TRUE(removed.count(m.netns));
    EXPECT_TRUE(removed.count(m.host_veth));
  }
}

}  // namespace
}  // namespace drsim::model
