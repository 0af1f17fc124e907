#include "common/net/https_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>

namespace drsim::net {

namespace ssl = boost::asio::ssl;

namespace {

Result<std::shared_ptr<SslContext>> tls12_context(ssl::context::method method) {
  auto context = std::make_shared<SslContext>(method);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return invalid_argument("https: OpenSSL refused TLS 1.2 as the minimum version");
  }
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  return context;
}

}  // namespace

Result<std::shared_ptr<SslContext>> https_server_context(const tls::IdentityPem& identity) {
  auto made = tls12_context(ssl::context::tls_server);
  if (!made.is_ok()) return made.status();
  auto context = std::move(made).value();
  boost::system::error_code ec;
  context->use_certificate_chain(boost::asio::buffer(identity.cert_pem), ec);
  if (ec) {
    return invalid_argument("https: the certificate of '" + identity.identity +
                            "': " + ec.message());
  }
  context->use_private_key(boost::asio::buffer(identity.key_pem), ssl::context::pem, ec);
  if (ec) {
    return invalid_argument("https: the key of '" + identity.identity + "': " + ec.message());
  }
  context->set_verify_mode(ssl::verify_none);  // server-auth only (see the header)
  return context;
}

Result<std::shared_ptr<SslContext>> https_server_context_for(const Transport& transport) {
  if (transport.security() == TransportSecurity::kInsecure) {
    return std::shared_ptr<SslContext>();
  }
  return https_server_context(transport.identity_pem());
}

Result<std::shared_ptr<SslContext>> https_client_context(const std::string& ca_pem,
                                                         const tls::IdentityPem* identity) {
  auto made = tls12_context(ssl::context::tls_client);
  if (!made.is_ok()) return made.status();
  auto context = std::move(made).value();
  boost::system::error_code ec;
  context->add_certificate_authority(boost::asio::buffer(ca_pem), ec);
  if (ec) return invalid_argument("https: the CA certificate: " + ec.message());
  if (identity != nullptr) {
    context->use_certificate_chain(boost::asio::buffer(identity->cert_pem), ec);
    if (!ec)
      context->use_private_key(boost::asio::buffer(identity->key_pem), ssl::context::pem, ec);
    if (ec) {
      return invalid_argument("https: the certificate of '" + identity->identity +
                              "': " + ec.message());
    }
  }
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return context;
}

bool expect_https_peer(SSL* ssl, std::string_view peer, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  // SNI names the host unless it is an IP literal (RFC 6066 3).
  if (ec) {
    // SSL_set_tlsext_host_name is OpenSSL's macro around SSL_ctrl, and casts the name to void*
    // C-style inside it: nothing to fix on this side of the call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
#pragma GCC diagnostic pop
  }
  if (peer.empty()) return true;  // kAnyPeer: the chain to the CA is what is checked
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, tls::identity_dns_name(peer).c_str()) == 1;
}

}  // namespace drsim::net
