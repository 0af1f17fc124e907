#include "common/net/https_context.h"

#include <sys/stat.h>

#include <cstdlib>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include "common/config/listen_address.h"

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

std::shared_ptr<HttpsCertificate> HttpsCertificate::fixed(std::shared_ptr<SslContext> context) {
  std::shared_ptr<HttpsCertificate> out(new HttpsCertificate());
  out->current_ = std::move(context);
  return out;
}

std::shared_ptr<HttpsCertificate> HttpsCertificate::watching(std::shared_ptr<SslContext> context,
                                                             tls::IdentityFiles files,
                                                             std::string identity,
                                                             std::chrono::seconds refresh) {
  auto out = fixed(std::move(context));
  out->files_ = std::move(files);
  out->identity_ = std::move(identity);
  out->refresh_ = refresh;
  out->loaded_ = out->stamp();
  out->next_check_ = std::chrono::steady_clock::now() + refresh;
  return out;
}

CertificateFilesStamp HttpsCertificate::stamp() const {
  CertificateFilesStamp out;
  struct stat st {};
  if (::stat(files_->cert.c_str(), &st) == 0) {
    out.cert_mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    out.cert_size = static_cast<long long>(st.st_size);
    out.cert_inode = static_cast<long long>(st.st_ino);
  }
  if (::stat(files_->key.c_str(), &st) == 0) {
    out.key_mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    out.key_size = static_cast<long long>(st.st_size);
    out.key_inode = static_cast<long long>(st.st_ino);
  }
  return out;
}

std::shared_ptr<SslContext> HttpsCertificate::for_new_connection() {
  if (!files_) return current_;
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return current_;
  next_check_ = now + refresh_;
  if (auto seen = stamp(); seen != loaded_) reload(seen);
  return current_;
}

void HttpsCertificate::reload(const CertificateFilesStamp& seen) {
  auto loaded = tls::load_identity(files_->cert.parent_path(), identity_,
                                   std::chrono::system_clock::now());
  auto context = loaded.is_ok() ? https_server_context(*loaded)
                                : Result<std::shared_ptr<SslContext>>(loaded.status());
  if (!context.is_ok()) {
    if (seen != refused_) {
      spdlog::warn("https: keeping the certificate served so far: {}", context.status().message());
    }
    refused_ = seen;
    return;
  }
  current_ = std::move(context).value();
  loaded_ = seen;
  auto info = tls::describe_certificate(loaded->cert_pem, files_->cert.string());
  spdlog::info("https: serving the certificate of '{}' re-read from {} (serial {})", identity_,
               files_->cert.string(), info.is_ok() ? info->serial : "?");
}

Result<std::shared_ptr<HttpsCertificate>> https_server_context_for(const Transport& transport) {
  if (transport.security() == TransportSecurity::kInsecure) {
    return std::shared_ptr<HttpsCertificate>();
  }
  auto context = https_server_context(transport.identity_pem());
  if (!context.is_ok()) return context.status();
  if (!transport.watched_files()) return HttpsCertificate::fixed(std::move(context).value());
  return HttpsCertificate::watching(std::move(context).value(), *transport.watched_files(),
                                    transport.identity(), kCertificateRefresh);
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

Result<std::string> served_certificate_pem(const std::string& address, SslContext& client,
                                           std::chrono::milliseconds timeout) {
  namespace beast = boost::beast;
  auto at = config::parse_host_port("address", address, config::PortZero::kRefused);
  if (!at.is_ok()) return unavailable("cannot connect to " + at.status().message());
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(at->host, ec);
  if (ec) return unavailable(address + ": cannot connect: host is not an IP address");
  // The connect and the handshake share one deadline, as the HTTPS probers' do.
  boost::asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, client);
  beast::get_lowest_layer(stream).expires_after(timeout);
  std::string why;
  beast::get_lowest_layer(stream).async_connect(
      boost::asio::ip::tcp::endpoint(ip, at->port), [&](beast::error_code connect_ec) {
        if (connect_ec) {
          why = "cannot connect: " + connect_ec.message();
          return;
        }
        stream.async_handshake(boost::asio::ssl::stream_base::client,
                               [&](beast::error_code handshake_ec) {
                                 if (handshake_ec) why = "TLS handshake: " + handshake_ec.message();
                               });
      });
  io.run();
  // The server's certificate arrives before a handshake can fail on this side's (TLS 1.2).
  X509* peer = SSL_get1_peer_certificate(stream.native_handle());
  ERR_clear_error();
  if (peer == nullptr) {
    return unavailable(address + ": " + (why.empty() ? "TLS handshake: no certificate" : why));
  }
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, peer);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  X509_free(peer);
  return pem;
}

}  // namespace drsim::net
