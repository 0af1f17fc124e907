#include "cli/certs_rotate.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <thread>

#include "cli/child_process.h"
#include "cli/operator_transport.h"
#include "cli/topology.h"
#include "common/net/https_context.h"
#include "common/tls/certificates.h"

namespace drsim::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;
using std::chrono::milliseconds;

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "drsim: certs rotate: %s\n", message.c_str());
  return code;
}

std::string date_of(Clock::time_point t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
  return out;
}

// The identities a directory holds: each <id>.crt but the CA's, in name order.
std::vector<std::string> identities_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".crt" && e.path().stem() != "ca") out.push_back(e.path().stem());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void print_rotations(const fs::path& dir, const std::vector<tls::Rotation>& rotated) {
  std::printf("rotated %zu certificate(s) in %s: same CA, new keys, valid until %s\n",
              rotated.size(), dir.c_str(), date_of(rotated.front().after.not_after).c_str());
  std::printf("  %-14s %-34s %s\n", "identity", "serial before", "serial after");
  for (const auto& r : rotated) {
    std::printf("  %-14s %-34s %s\n", r.identity.c_str(), r.before.serial.c_str(),
                r.after.serial.c_str());
  }
}

// One TLS listener of a running daemon and the serial it must come to present.
struct Endpoint {
  std::string process, identity, kind, address, want;
};

std::vector<Endpoint> running_endpoints(const TopologyState& state,
                                        const std::map<std::string, std::string>& serials) {
  std::vector<Endpoint> out;
  for (const auto& [name, p] : state.processes) {
    if (!recorded_alive(p.identity())) continue;
    std::string id = process_identity(name, p.argv);
    auto want = serials.find(id);
    if (want == serials.end()) continue;
    out.push_back({name, id, "grpc", p.address, want->second});
    for (const char* key : {"http_address", "dashboard_address"}) {
      if (!p.more(key).empty()) out.push_back({name, id, "https", p.more(key), want->second});
    }
  }
  return out;
}

// Polls each endpoint until it presents its new serial or `wait` has passed; prints one line
// each. False when one did not.
bool check_served(std::vector<Endpoint> endpoints, net::SslContext& client, milliseconds wait) {
  std::printf("checking that the running daemons present them to new connections (up to %llds):\n",
              static_cast<long long>((wait.count() + 999) / 1000));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + wait;
  bool all = true;
  for (const Endpoint& e : endpoints) {
    std::string last;
    for (;;) {
      auto pem = net::served_certificate_pem(e.address, client, milliseconds(2000));
      auto info = pem.is_ok() ? tls::describe_certificate(*pem, e.address)
                              : Result<tls::CertificateInfo>(pem.status());
      last = info.is_ok() ? "serial " + info->serial : info.status().message();
      if (info.is_ok() && info->serial == e.want) break;
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(milliseconds(100));
    }
    double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool ok = last == "serial " + e.want;
    all = all && ok;
    char took[32];
    std::snprintf(took, sizeof took, "%.2f", after);
    std::string result =
        ok ? "new certificate, " + std::string(took) + " s after the rotation"
           : "STILL " + last + " (restart it: drsim inject restart " + e.process + ")";
    std::printf("  %-11s %-5s %-21s %s\n", e.process.c_str(), e.kind.c_str(), e.address.c_str(),
                result.c_str());
  }
  return all;
}

int rotate_in_dir(const CertsRotateCommand& cmd) {
  std::vector<std::string> ids = cmd.names.empty() ? identities_in(cmd.dir) : cmd.names;
  if (ids.empty()) return fail(cmd.dir + ": no <identity>.crt to rotate", 1);
  auto rotated = tls::rotate_certificates(cmd.dir, ids, Clock::now());
  if (!rotated.is_ok()) return fail(rotated.status().message(), 1);
  print_rotations(cmd.dir, *rotated);
  std::printf("each host gets its two new files (<identity>.crt and .key); a daemon started "
              "with --tls-dir re-reads them within %llds\n",
              static_cast<long long>(net::kCertificateRefresh.count()));
  return 0;
}

}  // namespace

int cmd_certs_rotate(const CertsRotateCommand& cmd) {
  if (!cmd.dir.empty()) return rotate_in_dir(cmd);
  auto state = load_state(cmd.home);
  if (!state.is_ok()) return fail(state.status().message(), 1);
  if (!state->attached_from.empty()) {
    return fail("the topology at " + cmd.home + " is attached (" + state->attached_from +
                    "): its daemons read certificates made elsewhere; rotate them there with "
                    "`drsim certs rotate --dir DIR` and give each host its new files",
                1);
  }
  const fs::path dir = tls_dir_of(cmd.home);
  std::vector<std::string> ids = cmd.names.empty() ? identities_in(dir) : cmd.names;
  if (ids.empty()) return fail(dir.string() + ": no <identity>.crt to rotate", 1);
  auto rotated = tls::rotate_certificates(dir, ids, Clock::now());
  if (!rotated.is_ok()) return fail(rotated.status().message(), 1);
  print_rotations(dir, *rotated);
  if (state->config.transport != net::TransportSecurity::kMutualTls) {
    std::printf("the topology runs plain TCP (insecure): no daemon presents these\n");
    return 0;
  }
  std::map<std::string, std::string> serials;
  for (const auto& r : *rotated) serials[r.identity] = r.after.serial;
  auto op = tls::load_identity(dir, "operator", Clock::now());
  auto client = op.is_ok() ? net::https_client_context(op->ca_pem, &*op)
                           : Result<std::shared_ptr<net::SslContext>>(op.status());
  if (!client.is_ok()) return fail(client.status().message(), 1);
  auto endpoints = running_endpoints(*state, serials);
  if (endpoints.empty()) {
    std::printf("no daemon of the topology is running; they start with the new certificates\n");
    return 0;
  }
  if (!check_served(endpoints, **client, cmd.wait)) {
    return fail("a daemon still presents its old certificate (above)", 1);
  }
  std::printf("every running daemon presents its new certificate; connections already open keep "
              "theirs until they reconnect (the old certificates stay valid until they expire)\n");
  return 0;
}

}  // namespace drsim::cli
