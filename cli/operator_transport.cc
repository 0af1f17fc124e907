#include "cli/operator_transport.h"

#include <chrono>
#include <mutex>

namespace drsim::cli {

namespace {
std::mutex mu;
net::Transport& current() {
  static net::Transport transport = net::Transport::insecure();
  return transport;
}
}  // namespace

net::Transport operator_transport() {
  std::lock_guard lock(mu);
  return current();
}

void use_operator_transport(net::Transport transport) {
  std::lock_guard lock(mu);
  current() = std::move(transport);
}

std::string tls_dir_of(const std::string& home) { return home + "/tls"; }

Status use_topology_transport(const std::string& home, net::TransportSecurity security) {
  if (security == net::TransportSecurity::kInsecure) {
    use_operator_transport(net::Transport::insecure());
    return Status::ok();
  }
  auto identity =
      tls::load_identity(tls_dir_of(home), "operator", std::chrono::system_clock::now());
  if (!identity.is_ok()) return identity.status();
  use_operator_transport(net::Transport::mutual_tls(std::move(*identity)));
  return Status::ok();
}

std::shared_ptr<grpc::Channel> operator_channel(const std::string& address) {
  return operator_transport().channel(address);
}

}  // namespace drsim::cli
