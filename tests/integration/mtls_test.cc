// mTLS and identities on every gRPC link (docs/security.md): a topology `drsim up` starts speaks
// mutual TLS with its own CA; a connection without a client certificate, or with one of another
// CA, is refused by every daemon; a valid certificate of the wrong identity gets
// PERMISSION_DENIED naming the RPC, the caller and who may call it; plain TCP is loopback only.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "cli/child_process.h"
#include "cli/operator_transport.h"
#include "cli/rpc_clients.h"
#include "common/core/rpc_access.h"
#include "common/net/grpc_util.h"
#include "common/net/transport.h"
#include "common/tls/certificates.h"
#include "drsim/v1/replication.grpc.pb.h"
#include "drsim/v1/siterecovery.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "tests/integration/https_client.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

grpc::Status call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::ClientContext ctx;
  return empty_unary_call(channel, method, ctx);
}

// The process of the topology that serves `method`.
std::string server_of(std::string_view method) {
  if (method.starts_with("/drsim.v1.TrafficManager/")) return "trafficmgr";
  if (method.starts_with("/drsim.v1.FaultProxy/")) return "faultproxy";
  return "primary";
}

// A read-only call of each daemon's every service.
const std::vector<std::pair<std::string, std::string>> kOnePerService = {
    {"primary", "/drsim.v1.Workload/Get"},
    {"primary", "/drsim.v1.RegionAdmin/GetStatus"},
    {"primary", "/drsim.v1.Replication/Fence"},
    {"primary", "/drsim.v1.SiteRecovery/ListItems"},
    {"primary", "/drsim.v1.Backup/ListVaults"},
    {"primary", "/grpc.health.v1.Health/Check"},
    {"secondary", "/drsim.v1.RegionAdmin/GetStatus"},
    {"trafficmgr", "/drsim.v1.TrafficManager/ListProfiles"},
    {"trafficmgr", "/grpc.health.v1.Health/Check"},
    {"faultproxy", "/drsim.v1.FaultProxy/ListLinks"},
    {"faultproxy", "/grpc.health.v1.Health/Check"},
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Starts a Traffic Manager as `trafficmgr` of `topo` (its --tls-dir) with profile `profile` and
// `args`, waits (20 s at most) until both its endpoints are Online or Degraded, and stops it:
// `primary` must be Online, `secondary` Degraded with `secondary_error` in its last probe error.
void expect_primary_online_and_secondary_degraded(const TestTopology& topo,
                                                  const std::string& profile,
                                                  const std::vector<std::string>& args,
                                                  const std::string& secondary_error) {
  std::vector<std::string> argv = {cli::bin_dir() + "/drsim-trafficmgr", "--listen",
                                   "127.0.0.1:0", "--tls-dir", cli::tls_dir_of(topo.home()),
                                   "--profile", profile, "--probe-interval-ms", "1000",
                                   "--probe-timeout-ms", "1000"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto tm = cli::start_daemon("trafficmgr", argv, topo.home() + "/tm-" + profile, "");
  ASSERT_TRUE(tm.is_ok()) << tm.status().message();
  drsim::v1::ListEndpointsResponse endpoints;
  std::string last_error;
  bool decided = wait_until(
      [&] {
        auto r = cli::tm_endpoints(tm->address, profile);
        if (!r.is_ok()) {
          last_error = r.status().message();
          return false;
        }
        endpoints = *r;
        int n = 0;
        for (const auto& e : endpoints.endpoints()) {
          n += e.status() == drsim::v1::ENDPOINT_ONLINE ||
               e.status() == drsim::v1::ENDPOINT_DEGRADED;
        }
        return n == 2;
      },
      20s);
  cli::stop_process(tm->pid, 2s);
  ASSERT_TRUE(decided) << last_error << "\n" << endpoints.DebugString();
  ASSERT_EQ(endpoints.endpoints_size(), 2);
  for (const auto& e : endpoints.endpoints()) {
    SCOPED_TRACE(e.DebugString());
    if (e.name() == "primary") {
      EXPECT_EQ(e.status(), drsim::v1::ENDPOINT_ONLINE);
    } else {
      EXPECT_EQ(e.status(), drsim::v1::ENDPOINT_DEGRADED);
      EXPECT_NE(e.last_probe_error().find(secondary_error), std::string::npos);
    }
  }
}

TEST(Mtls, EveryDaemonRefusesConnectionsWithoutAValidClientCertificate) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string ca = read_text(cli::tls_dir_of(topo.home()) + "/ca.crt");
  ASSERT_FALSE(ca.empty());
  // A certificate of another CA, for the same identity name.
  const std::string foreign_dir = make_temp_dir("drsim-foreign-ca");
  ASSERT_TRUE(tls::ensure_certificates(foreign_dir, {"operator"}, std::chrono::system_clock::now())
                  .is_ok());
  auto foreign = tls::load_identity(foreign_dir, "operator", std::chrono::system_clock::now());
  ASSERT_TRUE(foreign.is_ok()) << foreign.status().message();

  for (const auto& [process, method] : kOnePerService) {
    const std::string address = topo.address(process);
    SCOPED_TRACE(process + " " + method + " at " + address);
    // The operator's certificate connects (the call may still be refused, e.g. Fence).
    grpc::Status as_operator = call(cli::operator_channel(address), method);
    EXPECT_NE(as_operator.error_code(), grpc::StatusCode::UNAVAILABLE)
        << as_operator.error_message();
    grpc::Status plain = call(net::make_insecure_channel(address), method);
    EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();

    grpc::SslCredentialsOptions no_cert;
    no_cert.pem_root_certs = ca;  // trusts the server, presents nothing
    grpc::Status anonymous = call(
        grpc::CreateCustomChannel(address, grpc::SslCredentials(no_cert), net::channel_arguments()),
        method);
    EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAVAILABLE) << anonymous.error_message();

    grpc::SslCredentialsOptions other_ca;
    other_ca.pem_root_certs = ca;  // trusts the server, presents another CA's certificate
    other_ca.pem_private_key = foreign->key_pem;
    other_ca.pem_cert_chain = foreign->cert_pem;
    grpc::Status forged = call(
        grpc::CreateCustomChannel(address, grpc::SslCredentials(other_ca), net::channel_arguments()),
        method);
    EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAVAILABLE) << forged.error_message();
  }
  fs::remove_all(foreign_dir);
}

TEST(Mtls, AValidCertificateOfTheWrongIdentityIsPermissionDeniedNamingRpcCallerAndAllowed) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  // Every operator-only and peer-only RPC, from an identity that is neither: the secondary is
  // the primary's peer, so the operator-only ones are asked of the primary as `secondary`, and
  // the peer-only ones as `trafficmgr`. Refused before any handler runs (the requests are empty).
  int tried = 0;
  for (const RpcRule& rule : rpc_rules()) {
    const std::string method(rule.method);
    std::string caller;
    std::string allowed;
    if (rule.callers == RpcCallers::kOperator) {
      caller = server_of(method) == "primary" ? "secondary" : "primary";
      allowed = "operator";
    } else if (rule.callers == RpcCallers::kPeerRegion) {
      caller = "trafficmgr";
      allowed = "secondary (the peer region)";
    } else if (rule.callers == RpcCallers::kRegion) {
      caller = "operator";
      allowed = "primary, secondary (the regions)";
    } else {
      continue;
    }
    if (method == "/drsim.v1.Replication/Stream") continue;  // a stream: below
    SCOPED_TRACE(method + " as " + caller);
    grpc::Status s = call(topo.channel_as(caller, topo.address(server_of(method))), method);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_EQ(s.error_message(),
              method + ": caller '" + caller + "' may not call it (allowed: " + allowed + ")");
    ++tried;
  }
  EXPECT_GE(tried, 40);

  // The cases by name: the secondary cannot fail the primary over...
  grpc::Status failover =
      call(topo.channel_as("secondary", topo.address("primary")), "/drsim.v1.RegionAdmin/Failover");
  EXPECT_EQ(failover.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(topo.status("primary").role(), drsim::v1::ROLE_ACTIVE);
  // ...and a Hello claiming `primary` from the Traffic Manager's certificate opens no stream.
  HelloAnswer forged = forge_hello(topo, "trafficmgr", "secondary", "primary", UINT64_MAX);
  EXPECT_FALSE(forged.reply);
  const grpc::Status& hs = forged.status;
  EXPECT_EQ(hs.error_code(), grpc::StatusCode::PERMISSION_DENIED) << hs.error_message();
  EXPECT_EQ(hs.error_message(),
            "/drsim.v1.Replication/Stream: caller 'trafficmgr' may not call it (allowed: primary "
            "(the peer region))");
  EXPECT_EQ(topo.status("secondary").epoch(), 1u);
  // The operator's read-only calls and the regions' own links still work.
  auto st = cli::region_status(topo.address("secondary"));
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  EXPECT_TRUE(st->replication_connected() ||
              wait_until([&] { return topo.status("secondary").replication_connected() ||
                                      topo.status("primary").replication_connected(); },
                         10s));
}

// A request body that names its sender's region must name the caller's certificate: the peer's
// certificate may open a replication stream, but not claim to be someone else in it; a region
// may renew and fence only its own lease at the witness.
TEST(Mtls, ARegionNamedInARequestMustBeTheCallersCertificate) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  auto expect_denied = [](const grpc::Status& s, const std::string& field,
                          const std::string& claimed, const std::string& caller) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_EQ(s.error_message(), field + ": claims region '" + claimed +
                                     "' but the caller's certificate is '" + caller + "'");
  };
  // The primary (the secondary's configured peer) claiming to be another region in its Hello.
  HelloAnswer forged = forge_hello(topo, "primary", "secondary", "secondary", 2);
  EXPECT_FALSE(forged.reply) << forged.reply->DebugString();
  expect_denied(forged.status, "hello.region", "secondary", "primary");
  {
    auto stub =
        drsim::v1::Replication::NewStub(topo.channel_as("primary", topo.address("secondary")));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::FenceRequest req;
    req.set_region("trafficmgr");
    req.set_epoch(2);
    drsim::v1::FenceReply reply;
    expect_denied(stub->Fence(&ctx, req, &reply), "region", "trafficmgr", "primary");
  }
  {
    auto stub =
        drsim::v1::SiteRecovery::NewStub(topo.channel_as("primary", topo.address("secondary")));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::AdoptItemsRequest req;
    req.set_from_region("trafficmgr");
    drsim::v1::AdoptItemsResponse resp;
    expect_denied(stub->AdoptItems(&ctx, req, &resp), "from_region", "trafficmgr", "primary");
  }
  // At the witness: the primary renewing, then fencing, the secondary's lease.
  auto tm = drsim::v1::TrafficManager::NewStub(
      topo.channel_as("primary", topo.address("trafficmgr")));
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::RenewLeaseRequest req;
    req.set_region("secondary");
    req.set_peer("primary");
    req.set_epoch(1);
    req.set_lease_ms(1000);
    drsim::v1::RenewLeaseResponse resp;
    expect_denied(tm->RenewLease(&ctx, req, &resp), "region", "secondary", "primary");
  }
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::FenceLeaseRequest req;
    req.set_region("secondary");
    req.set_peer("primary");
    req.set_new_epoch(2);
    req.set_lease_ms(1000);
    drsim::v1::FenceLeaseResponse resp;
    expect_denied(tm->FenceLease(&ctx, req, &resp), "region", "secondary", "primary");
  }
  // Nothing moved: the primary is active at epoch 1 and still renews its lease and replicates.
  auto primary = topo.status("primary");
  EXPECT_EQ(primary.role(), drsim::v1::ROLE_ACTIVE);
  EXPECT_EQ(primary.epoch(), 1u);
  EXPECT_EQ(topo.status("secondary").epoch(), 1u);
  auto workload = topo.workload_stub("primary");
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 5s);
  drsim::v1::PutRequest put;
  put.set_workload("vm-web");
  put.set_key("after-forged-claims");
  put.set_value("v");
  drsim::v1::PutResponse put_resp;
  grpc::Status put_status = workload->Put(&ctx, put, &put_resp);
  EXPECT_TRUE(put_status.ok()) << put_status.error_message();
}

// Every client names the daemon it dials: the CLI the one topology.json says listens at the
// address (through a fault-proxy link, the daemon behind it), the Traffic Manager's probes the
// region an endpoint is named for. A daemon answering with another identity of the same CA fails
// the call (UNAVAILABLE) instead of being believed.
TEST(Mtls, ClientsRequireTheIdentityTheyDialAndAnotherOneFailsNamingIt) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string primary = topo.address("primary");
  const std::string secondary = topo.address("secondary");
  // Healthy through the fault proxy's links: the identities behind them are the daemons'.
  EXPECT_FALSE(topo.state().links.empty());

  // topology.json with the two regions' addresses swapped, as the CLI loads it.
  const std::string state_file = topo.state().state_file();
  const std::string original = read_text(state_file);
  {
    auto replace_all = [](std::string text, const std::string& from, const std::string& to) {
      for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
        text.replace(at, from.size(), to);
      }
      return text;
    };
    const std::string a = "\"" + primary + "\"", b = "\"" + secondary + "\"";
    std::string swapped =
        replace_all(replace_all(replace_all(original, a, "\"@@\""), b, a), "\"@@\"", b);
    std::ofstream(state_file, std::ios::trunc) << swapped;
  }
  auto loaded = cli::load_state(topo.home());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  ASSERT_EQ(loaded->at("primary").address, secondary);
  for (const char* region : {"primary", "secondary"}) {
    SCOPED_TRACE(region);
    auto st = cli::region_status(loaded->at(region).address);
    ASSERT_FALSE(st.is_ok()) << "the " << st->region() << " daemon answered as " << region;
    EXPECT_EQ(st.status().code(), StatusCode::kUnavailable) << st.status().message();
    EXPECT_NE(st.status().message().find(std::string("(the server must present the certificate "
                                                     "of '") +
                                         region + "')"),
              std::string::npos)
        << st.status().message();
  }
  std::ofstream(state_file, std::ios::trunc) << original;
  loaded = cli::load_state(topo.home());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  auto st = cli::region_status(loaded->at("primary").address);
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  EXPECT_EQ(st->region(), "primary");

  // A Traffic Manager whose endpoint `secondary` is, by mistake, the primary's address: that
  // probe fails (the primary's certificate is not the secondary's), the `primary` one passes.
  // (Started as `trafficmgr`: the CLI expects the identity a process is named for.)
  expect_primary_online_and_secondary_degraded(
      topo, "wrong", {"--endpoint", "primary=" + primary, "--endpoint", "secondary=" + primary},
      "UNAVAILABLE");
}

TEST(Mtls, PlainTcpIsLoopbackOnlyAndADaemonNeedsTlsDirOrInsecure) {
  const std::string dir = make_temp_dir("drsim-insecure") + "/data";
  // What each daemon needs besides the transport (the transport is checked after its flags).
  auto add_required = [&](const std::string& binary, std::vector<std::string>& args) {
    if (binary == "drsim-primary") args.insert(args.end(), {"--data-dir", dir});
    if (binary == "drsim-trafficmgr") args.insert(args.end(), {"--endpoint", "primary=127.0.0.1:1"});
  };
  for (const std::string binary : {"drsim-primary", "drsim-trafficmgr", "drsim-faultproxy"}) {
    std::vector<std::string> args = {"--listen", "0.0.0.0:0", "--insecure"};
    add_required(binary, args);
    auto r = run_binary(binary, args, 20s);
    EXPECT_EQ(r.exit_code, 2) << binary << ": " << r.output;
    EXPECT_NE(r.output.find("--listen 0.0.0.0:0: plain TCP is allowed on loopback only; use "
                            "--tls-dir"),
              std::string::npos)
        << binary << ": " << r.output;
    args = {"--listen", "127.0.0.1:0"};
    add_required(binary, args);
    r = run_binary(binary, args, 20s);
    EXPECT_EQ(r.exit_code, 2) << binary << ": " << r.output;
    EXPECT_NE(r.output.find("--tls-dir: required"), std::string::npos) << binary << ": " << r.output;
    args = {"--listen", "127.0.0.1:0", "--tls-dir", dir + "/no-such-dir"};
    add_required(binary, args);
    r = run_binary(binary, args, 20s);
    EXPECT_EQ(r.exit_code, 2) << binary << ": " << r.output;
    EXPECT_NE(r.output.find("cannot read " + dir + "/no-such-dir/ca.crt"), std::string::npos)
        << binary << ": " << r.output;
  }
  fs::remove_all(fs::path(dir).parent_path());
}

// With mTLS the HTTP endpoints serve HTTPS with each daemon's certificate: `drsim status` prints
// the dashboard's https URL, which answers a client that verifies it against the topology's CA
// and requires the Traffic Manager's identity; the regions' /health and /metrics the same with
// theirs; a plain HTTP request to any of them is answered nothing.
TEST(Mtls, StatusPrintsHttpsUrlsAndEveryHttpEndpointServesHttpsVerifiedByTheTopologyCa) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string ca = read_text(cli::tls_dir_of(topo.home()) + "/ca.crt");
  auto r = run_binary("drsim", {"status", "--home", topo.home()}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string dashboard = topo.state().at("trafficmgr").more("dashboard_address");
  ASSERT_FALSE(dashboard.empty());
  EXPECT_NE(r.output.find("dashboard https://" + dashboard + "/"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("http://"), std::string::npos) << r.output;
  r = run_binary("drsim", {"status", "--home", topo.home(), "--json"}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"dashboard_url\": \"https://" + dashboard + "/\""), std::string::npos)
      << r.output;

  // The dashboard page, its state and its metrics, as a browser given the CA would fetch them.
  webtest::HttpsReply page = webtest::https_get(dashboard, "/", ca, "trafficmgr");
  EXPECT_EQ(page.status, 200) << page.error;
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  webtest::HttpsReply state = webtest::https_get(dashboard, "/api/state", ca, "trafficmgr");
  EXPECT_EQ(state.status, 200) << state.error;
  EXPECT_NE(state.body.find("\"primary\""), std::string::npos) << state.body;
  EXPECT_EQ(webtest::https_get(dashboard, "/metrics", ca, "trafficmgr").status, 200);
  // The primary is active: its /health is 200; the standby's is 503 (not serving writes).
  const std::string primary_http = topo.state().at("primary").more("http_address");
  const std::string secondary_http = topo.state().at("secondary").more("http_address");
  webtest::HttpsReply health = webtest::https_get(primary_http, "/health", ca, "primary");
  EXPECT_EQ(health.status, 200) << health.error << health.body;
  EXPECT_EQ(webtest::https_get(secondary_http, "/health", ca, "secondary").status, 503);
  webtest::HttpsReply metrics = webtest::https_get(secondary_http, "/metrics", ca, "secondary");
  EXPECT_EQ(metrics.status, 200) << metrics.error;
  EXPECT_NE(metrics.body.find("drsim_"), std::string::npos);
  // Whom the client dialled matters: the primary's listener is not the secondary.
  webtest::HttpsReply swapped = webtest::https_get(primary_http, "/health", ca, "secondary");
  EXPECT_EQ(swapped.status, 0);
  EXPECT_NE(swapped.error.find("certificate verify failed"), std::string::npos) << swapped.error;

  for (const std::string& address : {dashboard, primary_http, secondary_http}) {
    SCOPED_TRACE(address);
    std::string data = webtest::plain_exchange(
        address, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(data.find("HTTP/1."), std::string::npos) << "answered over plain HTTP: " << data;
  }
}

// A Traffic Manager with mTLS and HTTP probes of the topology's regions probes their HTTPS
// /health requiring each region's certificate: the primary's passes, the same address probed
// as `secondary` fails the handshake (the primary's certificate is not the secondary's).
TEST(Mtls, HttpProbesOfTheRegionsSpeakHttpsAndRequireTheRegionsCertificate) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string primary_http = topo.state().at("primary").more("http_address");
  expect_primary_online_and_secondary_degraded(
      topo, "web",
      {"--probe-protocol", "http", "--endpoint", "primary=" + topo.address("primary"),
       "--probe-address", "primary=" + primary_http, "--endpoint",
       "secondary=" + topo.address("secondary"), "--probe-address", "secondary=" + primary_http},
      "UNAVAILABLE: TLS handshake: certificate verify failed");
}

TEST(Mtls, StatusShowsTheTransportAndUpReusesTheCa) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string tls_dir = cli::tls_dir_of(topo.home());
  auto r = run_binary("drsim", {"status", "--home", topo.home()}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("transport: mTLS (CA " + tls_dir + "/ca.crt)"), std::string::npos)
      << r.output;
  struct stat st {};
  ASSERT_EQ(::stat(tls_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (std::string_view id : tls::kTopologyIdentities) {
    ASSERT_EQ(::stat((tls_dir + "/" + std::string(id) + ".key").c_str(), &st), 0) << id;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << id;
  }
  // A second `up` of the same home (after `down`) keeps the CA.
  const std::string ca = read_text(tls_dir + "/ca.crt");
  ASSERT_EQ(run_binary("drsim", {"down", "--home", topo.home()}, 30s).exit_code, 0);
  r = run_binary("drsim", {"up", "--home", topo.home()}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_text(tls_dir + "/ca.crt"), ca);
  EXPECT_EQ(run_binary("drsim", {"down", "--home", topo.home()}, 30s).exit_code, 0);
}

TEST(Mtls, AnInsecureTopologySaysSo) {
  TestTopology topo("security: { transport: insecure }\n");
  ASSERT_TRUE(topo.ok());
  EXPECT_FALSE(fs::exists(cli::tls_dir_of(topo.home())));
  auto r = run_binary("drsim", {"status", "--home", topo.home()}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("transport: plain TCP (--insecure)"), std::string::npos) << r.output;
  // Plain TCP: the regions' stream works, nobody is judged.
  EXPECT_TRUE(call(net::make_insecure_channel(topo.address("primary")),
                   "/drsim.v1.RegionAdmin/GetStatus")
                  .ok());
}

}  // namespace
}  // namespace drsim::testing

namespace drsim::testing {
namespace {

TEST(Mtls, TopologyFileTransportMustBeMtlsOrInsecure) {
  auto parsed = cli::parse_topology_config("security: { transport: plain }\n", "t.yaml");
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("security.transport: 'plain' must be mtls or insecure"),
            std::string::npos)
      << parsed.status().message();
  auto fallback = cli::parse_topology_config("", "t.yaml");
  ASSERT_TRUE(fallback.is_ok());
  EXPECT_EQ(fallback->transport, net::TransportSecurity::kMutualTls);
  auto embedded = cli::parse_topology_config(cli::default_topology_yaml(), "default");
  ASSERT_TRUE(embedded.is_ok()) << embedded.status().message();
  EXPECT_EQ(embedded->transport, net::TransportSecurity::kMutualTls);
}

// placement: netns listens on a bridge, so it needs mTLS; the file and the drill flags say so
// naming the field (docs/deploy.md). Creating namespaces needs root: tests/multihost.
TEST(Mtls, NetnsPlacementRefusesPlainTcp) {
  auto parsed = cli::parse_topology_config(
      "placement: netns\nsecurity: { transport: insecure }\n", "t.yaml");
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message().rfind(
                "t.yaml:2: security.transport: insecure (plain TCP) is loopback only", 0),
            0u)
      << parsed.status().message();
  auto drill_topology = cli::parse_topology_config("security: { transport: insecure }\n", "d");
  ASSERT_TRUE(drill_topology.is_ok());
  Status s = cli::override_placement(*drill_topology, "netns", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("--placement: insecure (plain TCP) is loopback only", 0), 0u);
}

TEST(TopologyPlacement, ScalarOrMapWithSubnetDefaultLoopback) {
  auto plain = cli::parse_topology_config("", "t.yaml");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->placement, cli::Placement::kLoopback);
  auto scalar = cli::parse_topology_config("placement: netns\n", "t.yaml");
  ASSERT_TRUE(scalar.is_ok()) << scalar.status().message();
  EXPECT_EQ(scalar->placement, cli::Placement::kNetns);
  EXPECT_EQ(scalar->netns_subnet, "10.213.0.0/24");
  EXPECT_EQ(scalar->placement_where, "t.yaml:1: placement");
  auto map = cli::parse_topology_config(
      "workloads: [{name: vm-a}]\nplacement: { kind: netns, subnet: 10.9.8.7/16 }\n", "t.yaml");
  ASSERT_TRUE(map.is_ok()) << map.status().message();
  EXPECT_EQ(map->placement, cli::Placement::kNetns);
  EXPECT_EQ(map->netns_subnet, "10.9.0.0/16");
  EXPECT_EQ(map->subnet_where, "t.yaml:2: placement.subnet");
}

TEST(TopologyPlacement, BadPlacementNamesTheFieldAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"placement: vm\n", "t.yaml:1: placement: must be loopback or netns"},
      {"placement: { kind: pod }\n", "t.yaml:1: placement.kind: must be loopback or netns"},
      {"placement: { kind: netns, subnet: 10.213.0/24 }\n",
       "t.yaml:1: placement.subnet: '10.213.0/24' is not an IPv4 network like 10.213.0.0/24"},
      {"placement: { kind: netns, hosts: 2 }\n", "t.yaml:1: placement"},
  };
  for (const auto& [text, want] : cases) {
    auto parsed = cli::parse_topology_config(text, "t.yaml");
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().rfind(want, 0), 0u) << parsed.status().message();
  }
  auto loopback = cli::parse_topology_config("", "t.yaml");
  ASSERT_TRUE(loopback.is_ok());
  Status s = cli::override_placement(*loopback, "", "10.1.2.0/24");
  EXPECT_EQ(s.message(), "--subnet: applies to --placement netns only");
  EXPECT_TRUE(cli::override_placement(*loopback, "netns", "10.1.2.0/24").is_ok());
  EXPECT_EQ(loopback->netns_subnet, "10.1.2.0/24");
  EXPECT_EQ(loopback->subnet_where, "--subnet");
}

}  // namespace
}  // namespace drsim::testing
