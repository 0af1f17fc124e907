#include "common/net/transport.h"

#include <boost/asio/ip/address.hpp>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "common/config/listen_address.h"
#include "common/net/grpc_util.h"
#include "common/net/rpc_authorizer.h"

namespace drsim::net {

const char* transport_security_name(TransportSecurity s) {
  return s == TransportSecurity::kMutualTls ? "mtls" : "insecure";
}

Transport Transport::insecure() { return Transport(); }

Transport Transport::mutual_tls(tls::IdentityPem identity) {
  Transport t;
  t.security_ = TransportSecurity::kMutualTls;
  t.certificates_ = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      identity.ca_pem, std::vector<grpc::experimental::IdentityKeyCertPair>{
                           {identity.key_pem, identity.cert_pem}});
  t.identity_ = std::move(identity);
  return t;
}

Transport Transport::mutual_tls_watching(tls::IdentityPem identity, tls::IdentityFiles files,
                                         std::chrono::seconds refresh) {
  Transport t;
  t.security_ = TransportSecurity::kMutualTls;
  t.certificates_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key.string(), files.cert.string(), files.ca_cert.string(),
      static_cast<unsigned>(refresh.count()));
  t.identity_ = std::move(identity);
  t.files_ = std::move(files);
  return t;
}

std::shared_ptr<grpc::ServerCredentials> Transport::server_credentials(
    RpcAccessContext access) const {
  if (security_ == TransportSecurity::kInsecure) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(certificates_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  auto credentials = grpc::experimental::TlsServerCredentials(options);
  credentials->SetAuthMetadataProcessor(std::make_shared<RpcAuthorizer>(std::move(access)));
  return credentials;
}

std::shared_ptr<grpc::Channel> Transport::channel(const std::string& address,
                                                  std::string_view peer) const {
  return channel_with(address, peer, channel_arguments());
}

std::shared_ptr<grpc::Channel> Transport::channel_with(const std::string& address,
                                                       std::string_view peer,
                                                       grpc::ChannelArguments args) const {
  if (security_ == TransportSecurity::kInsecure) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(certificates_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  // Without a name the server is checked against the dialled host (every certificate holds
  // IP:127.0.0.1), i.e. any identity of the CA.
  if (!peer.empty()) args.SetSslTargetNameOverride(tls::identity_dns_name(peer));
  return grpc::CreateCustomChannel(address, grpc::experimental::TlsCredentials(options), args);
}

namespace {
bool is_loopback_host(const std::string& listen) {
  auto at = config::parse_host_port("--listen", listen);
  if (!at.is_ok()) return false;
  if (at->host == "localhost") return true;
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(at->host, ec);
  return !ec && ip.is_loopback();
}
}  // namespace

Result<Transport> make_transport(const TransportFlags& flags, std::string_view identity,
                                 const std::string& listen) {
  if (flags.insecure && !flags.tls_dir.empty()) {
    return invalid_argument("--insecure and --tls-dir: give one (mTLS with --tls-dir, or plain "
                            "TCP on loopback with --insecure)");
  }
  if (flags.insecure) {
    if (!is_loopback_host(listen)) {
      return invalid_argument("--listen " + listen +
                              ": plain TCP is allowed on loopback only; use --tls-dir");
    }
    return Transport::insecure();
  }
  if (flags.tls_dir.empty()) {
    return invalid_argument("--tls-dir: required (the directory of ca.crt, " +
                            std::string(identity) + ".crt and " + std::string(identity) +
                            ".key that `drsim up` makes), or --insecure for plain TCP on loopback");
  }
  auto loaded = tls::load_identity(flags.tls_dir, identity, std::chrono::system_clock::now());
  if (!loaded.is_ok()) {
    return Status(loaded.status().code(), "--tls-dir: " + loaded.status().message());
  }
  return Transport::mutual_tls_watching(std::move(*loaded),
                                        tls::identity_files(flags.tls_dir, identity));
}

}  // namespace drsim::net
