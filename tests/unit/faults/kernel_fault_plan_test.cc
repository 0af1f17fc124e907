// KernelFaultPlan: the nftables ruleset and tc commands for kernel link faults, always inside the
// topology's namespaces, told apart by each link's port on the fault proxy.
#include "common/model/faults/kernel_fault_plan.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

KernelLinkPlace repl() {
  return {"repl.primary-secondary", 3, 40003, "10.213.0.5", "drsim-abc123-faultproxy",
          "drsim-abc123-primary"};
}
KernelLinkPlace client() {
  return {"client.primary", 1, 40001, "10.213.0.5", "drsim-abc123-faultproxy", ""};
}

std::string joined(const Command& c) {
  std::string out;
  for (const auto& a : c) out += (out.empty() ? "" : " ") + a;
  return out;
}

TEST(NftRuleset, EmptyWithoutNftablesFaults) {
  KernelLink l{repl(), {}};
  l.faults.down.rate = BandwidthFault{1000, 0};
  EXPECT_EQ(nft_ruleset({l}), "");
  EXPECT_EQ(nft_ruleset({}), "");
}

TEST(NftRuleset, LossAndPartitionPerDirectionByTheLinksProxyPort) {
  KernelLink a{repl(), {}};
  a.faults.up.loss_percent = 5;
  a.faults.down.loss_percent = 5;
  KernelLink b{client(), {}};
  b.faults.up.partition = PartitionMode::kDrop;
  KernelLink c{{"probe.primary", 2, 40002, "10.213.0.5", "drsim-abc123-faultproxy",
                "drsim-abc123-trafficmgr"},
               {}};
  c.faults.down.partition = PartitionMode::kBlackhole;
  EXPECT_EQ(nft_ruleset({a, b, c}),
            "table inet drsim\n"
            "delete table inet drsim\n"
            "table inet drsim {\n"
            "  chain up {\n"
            "    type filter hook input priority 0; policy accept;\n"
            "    tcp dport 40003 numgen random mod 100 < 5 drop\n"
            "    tcp dport 40001 reject with tcp reset\n"
            "  }\n"
            "  chain down {\n"
            "    type filter hook output priority 0; policy accept;\n"
            "    tcp sport 40003 numgen random mod 100 < 5 drop\n"
            "    tcp sport 40002 drop\n"
            "  }\n"
            "}\n");
}

TEST(TcCommands, DownRateShapesTheProxysAnswersOnTheLinksSourcePort) {
  KernelLink l{repl(), {}};
  l.faults.down.rate = BandwidthFault{125000, 0};
  auto cmds = tc_commands("drsim-abc123-faultproxy", {l}, false);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(joined(cmds[0]),
            "ip netns exec drsim-abc123-faultproxy tc qdisc add dev eth0 root handle 1: htb");
  EXPECT_EQ(joined(cmds[1]),
            "ip netns exec drsim-abc123-faultproxy tc class add dev eth0 parent 1: classid 1:13 "
            "htb rate 125000bps ceil 125000bps burst 3000b");
  EXPECT_EQ(joined(cmds[2]),
            "ip netns exec drsim-abc123-faultproxy tc filter add dev eth0 parent 1: protocol ip "
            "prio 13 u32 match ip sport 40003 0xffff flowid 1:13");
  // Nothing of it in the sender's namespace.
  EXPECT_TRUE(tc_commands("drsim-abc123-primary", {l}, false).empty());
}

TEST(TcCommands, UpDelayShapesTheSenderTowardsTheProxyPort) {
  KernelLink l{repl(), {}};
  l.faults.up.delay = LatencyFault{50ms, 10ms};
  auto cmds = tc_commands("drsim-abc123-primary", {l}, true);
  ASSERT_EQ(cmds.size(), 5u);
  EXPECT_EQ(joined(cmds[0]), "ip netns exec drsim-abc123-primary tc qdisc del dev eth0 root");
  EXPECT_EQ(joined(cmds[2]),
            "ip netns exec drsim-abc123-primary tc class add dev eth0 parent 1: classid 1:13 htb "
            "rate 10gbit ceil 10gbit burst 64kb");
  EXPECT_EQ(joined(cmds[3]),
            "ip netns exec drsim-abc123-primary tc qdisc add dev eth0 parent 1:13 handle 13: "
            "netem delay 50ms 10ms");
  EXPECT_EQ(joined(cmds[4]),
            "ip netns exec drsim-abc123-primary tc filter add dev eth0 parent 1: protocol ip "
            "prio 13 u32 match ip dst 10.213.0.5/32 match ip dport 40003 0xffff flowid 1:13");
}

TEST(TcCommands, HealingTheLastShapedLinkOnlyRemovesTheRoot) {
  KernelLink l{repl(), {}};
  auto cmds = tc_commands("drsim-abc123-faultproxy", {l}, true);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(joined(cmds[0]), "ip netns exec drsim-abc123-faultproxy tc qdisc del dev eth0 root");
  EXPECT_TRUE(tc_commands("drsim-abc123-faultproxy", {l}, false).empty());
}

TEST(TcCommands, EveryCommandRunsInsideADrsimNamespace) {
  KernelLink a{repl(), {}};
  a.faults.up.rate = BandwidthFault{1'000'000, 50'000};
  a.faults.down.delay = LatencyFault{20ms, 0ms};
  for (const char* ns : {"drsim-abc123-faultproxy", "drsim-abc123-primary"}) {
    auto cmds = tc_commands(ns, {a}, true);
    EXPECT_GE(cmds.size(), 4u);
    for (const auto& c : cmds) {
      EXPECT_EQ((Command{c.begin(), c.begin() + 4}), (Command{"ip", "netns", "exec", ns}));
    }
  }
}

TEST(CheckKernelFault, RefusesShapingTheHostsOwnInterface) {
  KernelLinkFaults up_rate;
  up_rate.up.rate = BandwidthFault{1000, 0};
  Status s = check_kernel_fault(client(), up_rate, "inject");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("inject: link client.primary starts in the host's namespace"),
            std::string::npos);
  KernelLinkFaults down_rate;
  down_rate.down.rate = BandwidthFault{1000, 0};
  EXPECT_TRUE(check_kernel_fault(client(), down_rate, "inject").is_ok());
  KernelLinkFaults loss;
  loss.up.loss_percent = 5;  // nftables in the proxy's namespace: fine for the clients' links
  EXPECT_TRUE(check_kernel_fault(client(), loss, "inject").is_ok());
  EXPECT_TRUE(check_kernel_fault(repl(), up_rate, "inject").is_ok());
}

TEST(NetemUnavailable, NamesTheFaultAndTheKernel) {
  Status s = netem_unavailable("drill.yaml:12: steps[1].inject.mechanism");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("drill.yaml:12: steps[1].inject.mechanism: tc netem is not "
                              "available on this kernel",
                              0),
            0u);
  EXPECT_EQ(joined(netem_probe_command("drsim-x-faultproxy")),
            "ip netns exec drsim-x-faultproxy tc qdisc add dev lo root netem delay 1ms");
}

}  // namespace
}  // namespace drsim::model
