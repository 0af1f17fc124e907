// Certificate rotation without a restart (docs/security.md): a daemon's transport re-reads its
// certificate files (net::Transport::mutual_tls_watching), so new connections — to it and from
// it, gRPC and HTTPS — carry a re-issued certificate within about a second, while a half-written
// pair is never served; `drsim certs rotate` re-issues a running topology's certificates and
// checks every daemon presents them, with the same PIDs and replication going on.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <gtest/gtest.h>

#include "cli/child_process.h"
#include "cli/operator_transport.h"
#include "common/net/grpc_util.h"
#include "common/net/http_server.h"
#include "common/net/https_context.h"
#include "common/net/transport.h"
#include "common/tls/certificates.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

// The serial of the certificate in `pem` ("" when it is none).
std::string serial_of(const std::string& pem) {
  auto info = tls::describe_certificate(pem, "test");
  return info.is_ok() ? info->serial : "";
}

// The serial of identity `id`'s certificate file in `dir`.
std::string file_serial(const fs::path& dir, const std::string& id) {
  auto loaded = tls::load_identity(dir, id, Clock::now());
  return loaded.is_ok() ? serial_of(loaded->cert_pem) : "";
}

// A channel of its own connection: no subchannel shared with an earlier channel of the same
// target, so each call below makes a new TLS handshake.
grpc::ChannelArguments fresh_connection_args() {
  grpc::ChannelArguments args = net::channel_arguments();
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

// One call over a new connection through `transport` to `address` (any method: the TLS
// handshake is what is looked at). The status, and the serial the server presented.
std::pair<grpc::Status, std::string> call_over_new_connection(const net::Transport& transport,
                                                              const std::string& address,
                                                              const std::string& peer) {
  grpc::ClientContext ctx;
  grpc::Status status = empty_unary_call(
      transport.channel_with(address, peer, fresh_connection_args()),
      "/drsim.v1.RegionAdmin/GetStatus", ctx);
  std::string serial;
  if (auto auth = ctx.auth_context()) {
    auto pems = auth->FindPropertyValues("x509_pem_cert");
    if (!pems.empty()) serial = serial_of(std::string(pems.front().data(), pems.front().size()));
  }
  return {status, serial};
}

// Records the serial of each caller's client certificate; lets every call through.
class CallerSerials final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    auto pems = context->FindPropertyValues("x509_pem_cert");
    std::lock_guard lock(mu_);
    last_ = pems.empty() ? "" : serial_of(std::string(pems.front().data(), pems.front().size()));
    return grpc::Status::OK;
  }
  std::string last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  std::string last_;
};

class CertRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(make_temp_dir("drsim-rotation")) / "tls";
    ASSERT_TRUE(tls::ensure_certificates(dir_, {"primary", "secondary", "operator"}, Clock::now())
                    .is_ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(Clock::now());
    remove_test_dir(dir_.parent_path());
  }

  net::Transport watching(const std::string& id) {
    auto loaded = tls::load_identity(dir_, id, Clock::now());
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().message();
    return net::Transport::mutual_tls_watching(*loaded, tls::identity_files(dir_, id), 1s);
  }
  net::Transport fixed(const std::string& id) {
    auto loaded = tls::load_identity(dir_, id, Clock::now());
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().message();
    return net::Transport::mutual_tls(*loaded);
  }
  // A gRPC server on 127.0.0.1 with `credentials` that answers every call UNIMPLEMENTED (the
  // handshake and the auth processor are what is looked at); its address.
  std::string serve(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port);
    builder.RegisterCallbackGenericService(&unimplemented_);
    server_ = builder.BuildAndStart();
    EXPECT_TRUE(server_ && port > 0);
    return "127.0.0.1:" + std::to_string(port);
  }
  void rotate(const std::string& id) {
    auto rotated = tls::rotate_certificates(dir_, {id}, Clock::now());
    ASSERT_TRUE(rotated.is_ok()) << rotated.status().message();
    ASSERT_EQ(rotated->front().after.serial, file_serial(dir_, id));
  }

  fs::path dir_;
  grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CertRotation, AServerPresentsItsRotatedCertificateToNewConnectionsWithoutARestart) {
  net::Transport server = watching("primary");
  const std::string address = serve(server.server_credentials({}));
  const net::Transport client = fixed("operator");
  const std::string before = file_serial(dir_, "primary");
  auto [status, served] = call_over_new_connection(client, address, "primary");
  EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(served, before);

  ASSERT_NO_FATAL_FAILURE(rotate("primary"));
  const std::string after = file_serial(dir_, "primary");
  ASSERT_NE(after, before);
  std::string last;
  EXPECT_TRUE(wait_until(
      [&] {
        auto [s, serial] = call_over_new_connection(client, address, "primary");
        last = serial + " " + s.error_message();
        return s.error_code() != grpc::StatusCode::UNAVAILABLE && serial == after;
      },
      5s))
      << "still served: " << last << "; want " << after;
}

TEST_F(CertRotation, AClientPresentsItsRotatedCertificateOnNewConnections) {
  auto credentials = fixed("primary").server_credentials({});
  auto callers = std::make_shared<CallerSerials>();
  credentials->SetAuthMetadataProcessor(callers);
  const std::string address = serve(credentials);
  net::Transport client = watching("operator");
  const std::string before = file_serial(dir_, "operator");
  call_over_new_connection(client, address, "primary");
  EXPECT_EQ(callers->last(), before);

  ASSERT_NO_FATAL_FAILURE(rotate("operator"));
  const std::string after = file_serial(dir_, "operator");
  EXPECT_TRUE(wait_until(
      [&] {
        call_over_new_connection(client, address, "primary");
        return callers->last() == after;
      },
      5s))
      << "the server still saw " << callers->last() << "; want " << after;
}

// HTTPS follows the files too; a pair that does not match (a rotation caught between its two
// renames, a wrong file) is not served: the last good certificate stays.
TEST_F(CertRotation, HttpsPresentsTheRotatedCertificateAndNeverAMismatchedPair) {
  net::Transport transport = watching("primary");
  auto certificate = net::https_server_context_for(transport);
  ASSERT_TRUE(certificate.is_ok()) << certificate.status().message();
  boost::asio::io_context io;
  net::HttpRoutes routes;
  routes["/x"] = [](const net::HttpRequest&) { return net::HttpResponse::text(200, "x"); };
  auto http = net::HttpServer::start(io, "--test-listen", "127.0.0.1:0", routes, {}, *certificate);
  ASSERT_TRUE(http.is_ok()) << http.status().message();
  std::thread loop([&] {
    auto guard = boost::asio::make_work_guard(io);
    io.run();
  });
  auto op = tls::load_identity(dir_, "operator", Clock::now());
  ASSERT_TRUE(op.is_ok());
  auto client = net::https_client_context(op->ca_pem, &*op);
  ASSERT_TRUE(client.is_ok());
  auto served = [&] {
    auto pem = net::served_certificate_pem((*http)->address(), **client, 2000ms);
    return pem.is_ok() ? serial_of(*pem) : pem.status().message();
  };
  const std::string before = file_serial(dir_, "primary");
  EXPECT_EQ(served(), before);

  rotate("primary");
  const std::string after = file_serial(dir_, "primary");
  EXPECT_TRUE(wait_until([&] { return served() == after; }, 5s)) << served();

  // The secondary's key beside the primary's certificate: not a pair.
  fs::copy_file(dir_ / "secondary.key", dir_ / "primary.key", fs::copy_options::overwrite_existing);
  std::this_thread::sleep_for(2500ms);  // two checks at least
  EXPECT_EQ(served(), after);

  io.stop();
  loop.join();
}

// The whole topology: `drsim certs rotate` re-issues every certificate; each running daemon
// presents its new one on new gRPC and HTTPS connections, the PIDs are the same, and a write
// still replicates afterwards.
TEST(CertsRotate, EveryRunningDaemonPresentsItsNewCertificateWithoutARestart) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const fs::path dir = cli::tls_dir_of(topo.home());
  std::map<std::string, pid_t> pids;
  for (const auto& [name, p] : topo.state().processes) pids[name] = p.pid;
  std::map<std::string, std::string> before;
  for (std::string_view id : tls::kTopologyIdentities) {
    before[std::string(id)] = file_serial(dir, std::string(id));
  }

  auto r = run_binary("drsim", {"certs", "rotate", "--home", topo.home()}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rotated 6 certificate(s) in " + dir.string()), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("every running daemon presents its new certificate"), std::string::npos)
      << r.output;

  // Checked here again, not through the CLI's own check: gRPC's view of the server's
  // certificate on a new connection, and a TLS handshake with each HTTPS listener.
  auto op = tls::load_identity(dir, "operator", Clock::now());
  ASSERT_TRUE(op.is_ok()) << op.status().message();
  const net::Transport operator_transport = net::Transport::mutual_tls(*op);
  auto https_client = net::https_client_context(op->ca_pem, &*op);
  ASSERT_TRUE(https_client.is_ok());
  for (const auto& [name, p] : topo.state().processes) {
    SCOPED_TRACE(name);
    const std::string id = cli::process_identity(name, p.argv);
    const std::string now_serial = file_serial(dir, id);
    EXPECT_NE(now_serial, before[id]);
    auto [status, served] = call_over_new_connection(operator_transport, p.address, id);
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_EQ(served, now_serial);
    for (const char* key : {"http_address", "dashboard_address"}) {
      if (p.more(key).empty()) continue;
      auto pem = net::served_certificate_pem(p.more(key), **https_client, 2000ms);
      ASSERT_TRUE(pem.is_ok()) << pem.status().message();
      EXPECT_EQ(serial_of(*pem), now_serial) << key;
    }
    EXPECT_EQ(p.pid, pids[name]);
    EXPECT_TRUE(cli::recorded_alive(p.identity()));
  }

  // Replication goes on: a sync write is acknowledged and the standby applies it.
  const uint64_t applied = topo.applied_seq("secondary", "vm-web");
  auto stub = topo.workload_stub("primary");
  drsim::v1::PutResponse put;
  grpc::Status s = put_key(*stub, "after-rotation", &put, 10s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") > applied; }, 10s));
}

TEST(CertsRotate, BadFlagsAndBadNamesAreRefusedAndNothingChanges) {
  const std::string home = make_temp_dir("drsim-rotate-flags");
  const fs::path dir = fs::path(home) / "certs";
  auto r = run_binary("drsim", {"certs", "make", "--out", dir.string()}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string before = file_serial(dir, "primary");

  r = run_binary("drsim", {"certs", "rotate", "--dir", dir.string(), "--names", "../primary"},
                 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("identity"), std::string::npos) << r.output;
  r = run_binary("drsim", {"certs", "rotate", "--dir", dir.string(), "--home", home}, 30s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--home and --dir: give one"), std::string::npos) << r.output;
  r = run_binary("drsim", {"certs", "rotate", "--dir", dir.string(), "--wait", "soon"}, 30s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--wait"), std::string::npos) << r.output;
  r = run_binary("drsim", {"certs", "rotate", "--home", home + "/none"}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(file_serial(dir, "primary"), before);

  // A `certs make` directory: every identity in it, nothing to check.
  r = run_binary("drsim", {"certs", "rotate", "--dir", dir.string()}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rotated 6 certificate(s)"), std::string::npos) << r.output;
  EXPECT_NE(file_serial(dir, "primary"), before);
  remove_test_dir(home);
}

}  // namespace
}  // namespace drsim::testing
