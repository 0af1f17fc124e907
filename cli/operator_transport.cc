#include "cli/operator_transport.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>

namespace drsim::cli {

namespace {
std::mutex mu;
net::Transport current = net::Transport::insecure();
// The topology whose operator certificate is loaded on the first call that needs it: a command
// that only signals processes (`drsim down`) works without <home>/tls.
struct Pending {
  std::string home;
};
std::optional<Pending> pending;
std::map<std::string, std::string> identity_at;  // address -> who answers there
}  // namespace

net::Transport operator_transport() {
  std::lock_guard lock(mu);
  if (pending) {
    auto identity = tls::load_identity(tls_dir_of(pending->home), "operator",
                                       std::chrono::system_clock::now());
    if (identity.is_ok()) {
      current = net::Transport::mutual_tls(std::move(*identity));
    } else {
      // Calls then fail their TLS handshake (UNAVAILABLE); this says why, once.
      std::fprintf(stderr, "drsim: %s\n", identity.status().message().c_str());
      current = net::Transport::insecure();
    }
    pending.reset();
  }
  return current;
}

void use_operator_transport(net::Transport transport) {
  std::lock_guard lock(mu);
  pending.reset();
  current = std::move(transport);
}

std::string tls_dir_of(const std::string& home) { return home + "/tls"; }

Status use_topology_transport(const std::string& home, net::TransportSecurity security) {
  if (security == net::TransportSecurity::kInsecure) {
    use_operator_transport(net::Transport::insecure());
    return Status::ok();
  }
  std::lock_guard lock(mu);
  pending = Pending{home};
  return Status::ok();
}

void expect_identity_at(const std::string& address, const std::string& identity) {
  std::lock_guard lock(mu);
  identity_at[address] = identity;
}

std::string expected_identity_at(const std::string& address) {
  std::lock_guard lock(mu);
  auto it = identity_at.find(address);
  return it == identity_at.end() ? std::string(net::kAnyPeer) : it->second;
}

std::string expected_server_note(const std::string& address) {
  std::string identity = expected_identity_at(address);
  if (identity.empty() || operator_transport().security() != net::TransportSecurity::kMutualTls) {
    return "";
  }
  return " (the server must present the certificate of '" + identity + "')";
}

std::shared_ptr<grpc::Channel> operator_channel(const std::string& address) {
  return operator_transport().channel(address, expected_identity_at(address));
}

std::shared_ptr<grpc::Channel> operator_channel_with(const std::string& address,
                                                     grpc::ChannelArguments args) {
  return operator_transport().channel_with(address, expected_identity_at(address),
                                           std::move(args));
}

}  // namespace drsim::cli
