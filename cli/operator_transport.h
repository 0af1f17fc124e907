// How the `drsim` CLI dials the daemons of the topology it works on: as the `operator` identity
// over mTLS (<home>/tls/operator.crt), or plain TCP when the topology says
// `security: { transport: insecure }`. The CLI is one operator process acting on one topology at
// a time, so this is set once where the topology becomes known (topology_up, load_state) instead
// of being threaded through every one of its RPC helpers.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/core/status.h"
#include "common/net/transport.h"

namespace drsim::cli {

// The transport of the last topology loaded or started in this process (insecure before any).
net::Transport operator_transport();
void use_operator_transport(net::Transport transport);

// <home>/tls
std::string tls_dir_of(const std::string& home);
// Makes <home>'s operator the CLI's transport: with mTLS its certificate is loaded from
// <home>/tls by the first call that dials (a command that only signals processes, `drsim down`,
// needs no certificate); when it does not load, the error is printed once and the calls fail.
Status use_topology_transport(const std::string& home, net::TransportSecurity security);

// A channel to `address` as the operator.
std::shared_ptr<grpc::Channel> operator_channel(const std::string& address);

}  // namespace drsim::cli
