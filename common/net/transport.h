// How a process speaks gRPC: mutual TLS as one identity of the topology's CA (the default), or
// plain TCP on loopback only (--insecure, for tests). Made once in main from the flags and handed
// to every server and every driver that dials (no process global), so one object decides both
// the server credentials and the channel credentials.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include "common/core/rpc_access.h"
#include "common/core/status.h"
#include "common/tls/certificates.h"

namespace drsim::net {

enum class TransportSecurity { kMutualTls, kInsecure };
const char* transport_security_name(TransportSecurity s);  // "mtls" / "insecure"

// Any identity the CA signed (the callee checks who may call what, common/core/rpc_access.h); only
// where the caller cannot know who listens (an endpoint not named for a region, unknown addresses).
inline constexpr std::string_view kAnyPeer{};

// How often a daemon re-reads its certificate files (Transport::mutual_tls_watching).
inline constexpr std::chrono::seconds kCertificateRefresh{1};

class Transport {
 public:
  static Transport insecure();
  // mTLS with these PEMs for the process's whole life (the CLI, tests).
  static Transport mutual_tls(tls::IdentityPem identity);
  // mTLS that re-reads the CA, the certificate and the key from `files` every `refresh` (gRPC's
  // file watcher): new connections, both ways, present a re-issued certificate
  // (`drsim certs rotate`) without a restart; connections already open keep theirs. `identity`
  // is what the files held when loaded and checked (load_identity) at start.
  static Transport mutual_tls_watching(tls::IdentityPem identity, tls::IdentityFiles files,
                                       std::chrono::seconds refresh = kCertificateRefresh);

  TransportSecurity security() const { return security_; }
  // The identity this process presents ("" when insecure).
  const std::string& identity() const { return identity_.identity; }
  // Its CA, certificate and key (empty when insecure): the HTTPS listeners present the same
  // certificate (https_context.h).
  const tls::IdentityPem& identity_pem() const { return identity_; }
  // The files re-read (mutual_tls_watching), so that the HTTPS listeners follow them too.
  const std::optional<tls::IdentityFiles>& watched_files() const { return files_; }

  // Server credentials: with mTLS the client must present a certificate of the CA, and each call
  // is judged by rpc_authorizer.h against `access` before its handler runs. Plain TCP judges
  // nobody (loopback tests only).
  std::shared_ptr<grpc::ServerCredentials> server_credentials(RpcAccessContext access) const;
  // A channel to `address` with drsim's options (grpc_util.h). With mTLS it presents this
  // process's certificate and, when `peer` is not kAnyPeer, accepts only a server whose
  // certificate names `peer` ("<peer>.drsim") — whatever address it dialled (a fault proxy link
  // forwards the TLS bytes end to end).
  std::shared_ptr<grpc::Channel> channel(const std::string& address,
                                         std::string_view peer = kAnyPeer) const;
  // The same with other channel arguments than drsim's (an application client's defaults).
  std::shared_ptr<grpc::Channel> channel_with(const std::string& address, std::string_view peer,
                                              grpc::ChannelArguments args) const;

 private:
  TransportSecurity security_ = TransportSecurity::kInsecure;
  tls::IdentityPem identity_;
  std::optional<tls::IdentityFiles> files_;
  // Where gRPC's TLS credentials take the CA and the identity from; null when insecure.
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> certificates_;
};

// A daemon's transport flags: exactly one of --tls-dir DIR and --insecure.
struct TransportFlags {
  std::string tls_dir;
  bool insecure = false;
};

// The transport of a daemon that is `identity` and serves gRPC on `listen` (flag "--listen").
// Neither flag, or both → INVALID_ARGUMENT; --insecure with a non-loopback --listen →
// INVALID_ARGUMENT "--listen 0.0.0.0:0: plain TCP is allowed on loopback only; use --tls-dir";
// --tls-dir whose files do not load → the file and why.
Result<Transport> make_transport(const TransportFlags& flags, std::string_view identity,
                                 const std::string& listen);

}  // namespace drsim::net
