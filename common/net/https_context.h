// The TLS contexts of drsim's HTTP endpoints (dashboard, /metrics, /health) and of their
// clients, from the per-topology CA's PEM files (common/tls/certificates.h). A daemon that
// speaks mTLS on gRPC serves HTTPS with the same certificate; a client verifies the server
// against the CA and, when it knows whom it dialled, the identity's name ("primary.drsim").
// Server-auth only: the HTTP servers ask no client certificate (a browser has none).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "common/core/status.h"
#include "common/net/transport.h"
#include "common/tls/certificates.h"

namespace drsim::net {

using SslContext = boost::asio::ssl::context;

// A TLS 1.2+ server context presenting `identity`'s certificate; asks for no client certificate.
// INVALID_ARGUMENT naming what OpenSSL refused.
Result<std::shared_ptr<SslContext>> https_server_context(const tls::IdentityPem& identity);

// The HTTP listeners' context of a daemon with `transport`: its certificate with mTLS, nullptr
// (plain HTTP) with --insecure.
Result<std::shared_ptr<SslContext>> https_server_context_for(const Transport& transport);

// A TLS 1.2+ client context that trusts only `ca_pem` and fails the handshake on any other
// server certificate. Presents `identity`'s certificate when one is given (the servers do not
// ask for it today).
Result<std::shared_ptr<SslContext>> https_client_context(
    const std::string& ca_pem, const tls::IdentityPem* identity = nullptr);

// Before a client handshake on `ssl`: the server certificate must name `peer` ("<peer>.drsim")
// in its subjectAltName; with kAnyPeer any certificate of the context's CA is accepted.
// `host` (not an IP literal) goes out as SNI. False when OpenSSL refuses the settings.
bool expect_https_peer(SSL* ssl, std::string_view peer, const std::string& host);

}  // namespace drsim::net
