// The TLS contexts of drsim's HTTP endpoints (dashboard, /metrics, /health) and of their
// clients, from the per-topology CA's PEM files (common/tls/certificates.h). A daemon that
// speaks mTLS on gRPC serves HTTPS with the same certificate; a client verifies the server
// against the CA and, when it knows whom it dialled, the identity's name ("primary.drsim").
// Server-auth only: the HTTP servers ask no client certificate (a browser has none).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
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

// What identifies a certificate file's content without reading it: mtime, size and inode (a
// rotation renames a new file over it).
struct CertificateFilesStamp {
  long long cert_mtime_ns = 0, cert_size = 0, cert_inode = 0;
  long long key_mtime_ns = 0, key_size = 0, key_inode = 0;
  bool operator==(const CertificateFilesStamp&) const = default;
};

// The certificate an HTTPS listener presents to each new connection: fixed, or re-read from the
// identity's files when they change (checked at an accept at most once per `refresh`), so that
// `drsim certs rotate` reaches the dashboard, /metrics and /health without a restart as it
// reaches gRPC (Transport::mutual_tls_watching). Loop thread only.
class HttpsCertificate {
 public:
  static std::shared_ptr<HttpsCertificate> fixed(std::shared_ptr<SslContext> context);
  static std::shared_ptr<HttpsCertificate> watching(std::shared_ptr<SslContext> context,
                                                    tls::IdentityFiles files,
                                                    std::string identity,
                                                    std::chrono::seconds refresh);
  // The context for a connection accepted now. Files that do not load (a rotation caught
  // between its two renames, a broken file) keep the current certificate and are tried again
  // at the next check; the log says why once per change.
  std::shared_ptr<SslContext> for_new_connection();

 private:
  HttpsCertificate() = default;
  CertificateFilesStamp stamp() const;
  void reload(const CertificateFilesStamp& seen);

  std::shared_ptr<SslContext> current_;
  std::optional<tls::IdentityFiles> files_;
  std::string identity_;
  std::chrono::seconds refresh_{0};
  std::chrono::steady_clock::time_point next_check_{};
  CertificateFilesStamp loaded_;   // the files current_ came from
  CertificateFilesStamp refused_;  // the last files that did not load (logged once)
};

// The HTTP listeners' certificate of a daemon with `transport`: its identity with mTLS (followed
// in its files when the transport watches them), nullptr (plain HTTP) with --insecure.
Result<std::shared_ptr<HttpsCertificate>> https_server_context_for(const Transport& transport);

// A TLS 1.2+ client context that trusts only `ca_pem` and fails the handshake on any other
// server certificate. Presents `identity`'s certificate when one is given (the servers do not
// ask for it today).
Result<std::shared_ptr<SslContext>> https_client_context(
    const std::string& ca_pem, const tls::IdentityPem* identity = nullptr);

// The certificate (PEM) the TLS server at `address` (IP:PORT) presents to a new connection:
// a client handshake with `client` (https_client_context: it must trust the server's CA), then
// the connection is closed. Works for gRPC's listeners as for HTTPS ones (nothing is sent after
// the handshake). UNAVAILABLE naming the address when nothing answers within `timeout` or the
// handshake fails before the server's certificate arrives.
Result<std::string> served_certificate_pem(const std::string& address, SslContext& client,
                                           std::chrono::milliseconds timeout);

// Before a client handshake on `ssl`: the server certificate must name `peer` ("<peer>.drsim")
// in its subjectAltName; with kAnyPeer any certificate of the context's CA is accepted.
// `host` (not an IP literal) goes out as SNI. False when OpenSSL refuses the settings.
bool expect_https_peer(SSL* ssl, std::string_view peer, const std::string& host);

}  // namespace drsim::net
