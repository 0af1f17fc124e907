// `drsim attach` (cli/attach.h): a second home drives the daemons of a topology it did not start
// — here one a TestTopology started, standing for daemons systemd or Kubernetes run — over RPC
// only: status, load, failover, inject outage and heal work; what needs a local process is
// refused naming why; `drsim down` detaches and stops nothing; bad attach files and unreachable
// daemons are exit 2 naming the field, with nothing left behind.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// An attach file for the daemons of `topo`, with `primary` as the primary's address.
std::string attach_file(TestTopology& topo, const std::string& primary) {
  const auto& s = topo.state();
  const std::string path = topo.home() + "/attach-" + std::to_string(std::hash<std::string>{}(primary)) + ".yaml";
  std::ofstream out(path);
  out << "attach:\n"
      << "  primary: { address: " << primary << " }\n"
      << "  secondary: { address: " << s.at("secondary").address
      << ", http: " << s.at("secondary").more("http_address") << " }\n"
      << "  trafficmgr: { address: " << s.at("trafficmgr").address
      << ", dns: " << s.at("trafficmgr").more("dns_address")
      << ", dashboard: " << s.at("trafficmgr").more("dashboard_address") << " }\n"
      << "  tls_dir: " << topo.home() << "/tls\n"
      << "  timeout_ms: 2000\n";
  return path;
}

TEST(Attach, ASecondHomeDrivesRunningDaemonsOverRpcAndDetachesWithoutStoppingThem) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string home = make_temp_dir("drsim-attach") + "/attached";
  const std::string file = attach_file(topo, topo.state().at("primary").address);

  auto attach = run_binary("drsim", {"attach", "--config", file, "--home", home}, 30s);
  ASSERT_EQ(attach.exit_code, 0) << attach.output;
  EXPECT_NE(attach.output.find("primary answers at " + topo.state().at("primary").address +
                               ": active at epoch 1"),
            std::string::npos)
      << attach.output;

  auto status = run_binary("drsim", {"status", "--json", "--home", home}, 30s);
  ASSERT_EQ(status.exit_code, 0) << status.output;
  auto j = nlohmann::json::parse(status.output);
  EXPECT_EQ(j["routing"], "primary") << status.output;
  ASSERT_EQ(j["regions"].size(), 2u);
  EXPECT_EQ(j["regions"][0]["role"], "active") << status.output;
  EXPECT_EQ(j["regions"][0]["alive"], true) << status.output;
  EXPECT_NE(j["placement"][0].get<std::string>().find("attached ("), std::string::npos);

  auto load = run_binary("drsim", {"load", "--duration", "1", "--home", home}, 60s);
  EXPECT_EQ(load.exit_code, 0) << load.output;
  EXPECT_NE(load.output.find("fail 0"), std::string::npos) << load.output;

  // No local process to signal: refused, naming why; the daemon is untouched.
  auto kill = run_binary("drsim", {"inject", "kill", "--region", "primary", "--home", home}, 30s);
  EXPECT_EQ(kill.exit_code, 1) << kill.output;
  EXPECT_NE(kill.output.find("run elsewhere (attached by "), std::string::npos) << kill.output;
  EXPECT_TRUE(cli::process_alive(topo.pid("primary")));

  auto outage = run_binary("drsim", {"inject", "outage", "--region", "primary", "--home", home}, 30s);
  EXPECT_EQ(outage.exit_code, 0) << outage.output;
  EXPECT_TRUE(topo.status("primary").outage());
  auto heal = run_binary("drsim", {"heal", "--home", home}, 30s);
  EXPECT_EQ(heal.exit_code, 0) << heal.output;
  EXPECT_FALSE(topo.status("primary").outage());

  auto failover = run_binary("drsim", {"failover", "--force", "--home", home}, 60s);
  ASSERT_EQ(failover.exit_code, 0) << failover.output;
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_ACTIVE);

  // `up` on an attached home would start a second topology over its state: refused.
  auto up = run_binary("drsim", {"up", "--home", home}, 30s);
  EXPECT_EQ(up.exit_code, 1) << up.output;
  EXPECT_NE(up.output.find("is attached to daemons that run elsewhere"), std::string::npos)
      << up.output;

  auto down = run_binary("drsim", {"down", "--home", home}, 30s);
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_NE(down.output.find("they keep running"), std::string::npos) << down.output;
  EXPECT_FALSE(fs::exists(home + "/topology.json"));
  for (const char* name : {"primary", "secondary", "trafficmgr"}) {
    EXPECT_TRUE(cli::process_alive(topo.pid(name))) << name << " was stopped by a detach";
  }
}

TEST(Attach, UnreachableOrMisplacedDaemonsAndBadFilesAreExitTwoNamingTheFieldLeavingNothing) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string base = make_temp_dir("drsim-attach-bad");
  struct Case {
    std::string name, file, want;
  };
  const std::string other = base + "/other.yaml";
  std::ofstream(other) << "attach:\n  primary: { address: 127.0.0.1:1 }\nregions: {}\n";
  const Case cases[] = {
      {"unreachable", attach_file(topo, "127.0.0.1:1"),
       "attach.primary.address: 127.0.0.1:1 did not answer as region 'primary' within 2000 ms"},
      {"misplaced", attach_file(topo, topo.state().at("secondary").address),
       "attach.primary.address: " + topo.state().at("secondary").address},
      {"regions key", other, "other.yaml:3: regions: not used when attaching"},
  };
  for (const auto& c : cases) {
    const std::string home = base + "/" + std::to_string(&c - cases);
    auto r = run_binary("drsim", {"attach", "--config", c.file, "--home", home}, 30s);
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos) << c.name << ": " << r.output;
    EXPECT_FALSE(fs::exists(home)) << c.name << ": a failed attach left " << home;
  }
}

// inject, heal, attach and down with --json: one document each on stdout, schema_version first,
// "ok" saying whether it worked, and on a refusal the error's code and message in it.
TEST(AttachJson, InjectHealAttachAndDownEachPrintOneJsonDocument) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string home = make_temp_dir("drsim-attach-json") + "/attached";
  auto doc = [](const RunResult& r) {
    auto j = nlohmann::ordered_json::parse(r.output, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not one JSON document: " << r.output;
    if (!j.is_discarded()) {
      EXPECT_EQ(j.begin().key(), "schema_version") << r.output;
    }
    return j;
  };
  const std::string file = attach_file(topo, topo.state().at("primary").address);
  auto attach = run_binary("drsim", {"attach", "--json", "--config", file, "--home", home}, 30s);
  ASSERT_EQ(attach.exit_code, 0) << attach.output;
  auto a = doc(attach);
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(a["daemons"]["primary"], topo.state().at("primary").address);
  EXPECT_EQ(a["checked"].size(), 3u) << attach.output;

  auto outage = run_binary(
      "drsim", {"inject", "outage", "--region", "secondary", "--json", "--home", home}, 30s);
  EXPECT_EQ(outage.exit_code, 0) << outage.output;
  auto o = doc(outage);
  EXPECT_EQ(o["ok"], true);
  EXPECT_EQ(o["fault"], "outage");
  EXPECT_EQ(o["target"], "secondary");
  EXPECT_TRUE(o["at_unix_seconds"].is_number_integer()) << outage.output;

  auto refused =
      run_binary("drsim", {"inject", "pause", "--region", "primary", "--json", "--home", home}, 30s);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  auto r = doc(refused);
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"]["code"], "FAILED_PRECONDITION") << refused.output;

  auto heal = run_binary("drsim", {"heal", "--json", "--home", home}, 30s);
  EXPECT_EQ(heal.exit_code, 0) << heal.output;
  auto h = doc(heal);
  EXPECT_EQ(h["ok"], true);
  EXPECT_EQ(h["target"], "all");
  EXPECT_EQ(h["healed"].size(), 2u) << heal.output;  // the two regions
  EXPECT_FALSE(topo.status("secondary").outage());

  auto down = run_binary("drsim", {"down", "--json", "--home", home}, 30s);
  EXPECT_EQ(down.exit_code, 0) << down.output;
  auto d = doc(down);
  EXPECT_EQ(d["detached"], true);
  auto again = run_binary("drsim", {"down", "--json", "--home", home}, 30s);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(doc(again)["nothing_up"], true);
}

}  // namespace
}  // namespace drsim::testing
