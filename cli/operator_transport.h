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

// Which daemon answers at `address`: the identity its certificate must name. The topology says
// which daemon listens where (topology.json: each process's --listen, and each fault-proxy
// link's address stands for the daemon behind it, since the proxy forwards the TLS bytes end to
// end); set as the topology becomes known (load_state, start_daemon, each link `up` adds).
void expect_identity_at(const std::string& address, const std::string& identity);
// The identity expected at `address`; "" (net::kAnyPeer) for an address the topology does not
// name.
std::string expected_identity_at(const std::string& address);

// " (the server must present the certificate of 'primary')" when the operator's transport is
// mTLS and the topology names who answers at `address`; else "". Appended to a call's
// UNAVAILABLE: a daemon of the wrong identity fails the TLS handshake like an absent one.
std::string expected_server_note(const std::string& address);

// A channel to `address` as the operator, accepting only the server expected there.
std::shared_ptr<grpc::Channel> operator_channel(const std::string& address);
// The same with other channel arguments (an application client's).
std::shared_ptr<grpc::Channel> operator_channel_with(const std::string& address,
                                                     grpc::ChannelArguments args);

}  // namespace drsim::cli
