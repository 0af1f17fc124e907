#include "common/net/http_server.h"

#include "common/config/listen_address.h"
#include "common/net/close_on_exec.h"
#include "common/net/http_request.h"
#include "common/net/https_context.h"

#include <array>
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>


namespace drsim::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// After a response that closes the connection, wait this long for the client's FIN while
// discarding what it still sends: closing with unread bytes makes the kernel send RST, which
// can destroy the response before the client reads it.
constexpr auto kLingerTimeout = std::chrono::milliseconds(1000);

// `address` parsed (port 0 allowed), refused unless its host is a loopback IP.
Result<std::pair<asio::ip::address, uint16_t>> parse_loopback_address(const std::string& flag,
                                                                      const std::string& address) {
  auto at = config::parse_host_port(flag, address);
  if (!at.is_ok()) return at.status();
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(at->host, ec);
  if (ec || !ip.is_loopback()) {
    return invalid_argument(flag + ": '" + address +
                            "': host must be a loopback IP address (127.0.0.0/8 or ::1)");
  }
  return std::pair{ip, at->port};
}

enum class Body { kSend, kOmit };  // kOmit: HEAD
enum class AfterAnswer { kKeepAlive, kClose };


const char* reason_or_empty(int status) {
  auto text = http::obsolete_reason(static_cast<http::status>(status));
  return text.empty() ? "" : text.data();
}

}  // namespace

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body += '\n';
  return r;
}

Status validate_loopback_listen_address(const std::string& flag, const std::string& address) {
  return parse_loopback_address(flag, address).status();
}

// What the server keeps of every session, whatever its stream: to close it, and to choose
// which one gives up its slot at the connection caps.
class HttpServer::Connection {
 public:
  Connection(uint64_t id, std::string source) : id_(id), source_(std::move(source)) {}
  virtual ~Connection() = default;
  virtual void close() = 0;

  model::HttpConnectionView view() const { return {id_, source_, state_, idle_order_}; }
  uint64_t id() const { return id_; }

 protected:
  void set_busy() { state_ = model::HttpConnectionState::kBusy; }
  void set_idle(uint64_t order) {
    state_ = model::HttpConnectionState::kIdle;
    idle_order_ = order;
  }

 private:
  const uint64_t id_;
  const std::string source_;
  model::HttpConnectionState state_ = model::HttpConnectionState::kBusy;
  uint64_t idle_order_ = 0;
};

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

beast::tcp_stream& lowest(beast::tcp_stream& s) { return s; }
beast::tcp_stream& lowest(TlsStream& s) { return s.next_layer(); }

// HTTPS: the handshake before the first request, close_notify before the close.
template <typename Handler>
void handshake(beast::tcp_stream&, Handler&& done) {
  done(beast::error_code());
}
template <typename Handler>
void handshake(TlsStream& s, Handler&& done) {
  s.async_handshake(asio::ssl::stream_base::server, std::forward<Handler>(done));
}
template <typename Handler>
void close_notify(beast::tcp_stream&, Handler&& done) {
  done(beast::error_code());
}
template <typename Handler>
void close_notify(TlsStream& s, Handler&& done) {
  s.async_shutdown(std::forward<Handler>(done));
}

}  // namespace

// One connection: requests read and answered one at a time, in order (pipelined requests wait
// in the buffer). Owned by its pending operation's handler; the server keeps a weak pointer.
// `Stream` is beast::tcp_stream (HTTP) or an SSL stream over one (HTTPS); only the handshake and
// the close differ.
template <typename Stream>
class HttpServer::Session : public HttpServer::Connection,
                            public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... TlsContext>
  Session(std::shared_ptr<HttpServer> server, uint64_t id, std::string source, tcp::socket socket,
          TlsContext&... tls)
      : Connection(id, std::move(source)),
        server_(std::move(server)),
        stream_(std::move(socket), tls...),
        buffer_(server_->limits_.max_header_bytes + server_->limits_.max_body_bytes) {
    beast::error_code ec;
    auto remote = lowest(stream_).socket().remote_endpoint(ec);
    peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  // The handshake and the first request header share one header_timeout from the accept.
  void start() {
    lowest(stream_).expires_after(limits().header_timeout);
    handshake(stream_, [self = this->shared_from_this()](beast::error_code ec) {
      if (self->server_->stopped_) return self->close();
      if (ec == beast::error::timeout) return self->on_header_timeout();
      if (ec) return self->on_handshake_failed(ec);
      self->read_request(Deadline::kArmed);
    });
  }

  void close() override {
    beast::error_code ignored;
    lowest(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest(stream_).close();
  }

 private:
  enum class Deadline { kArmed, kFromNow };

  const HttpServerLimits& limits() const { return server_->limits_; }

  void on_handshake_failed(const beast::error_code& ec) {
    ++server_->stats_.tls_handshake_failures;
    server_->log_->warn("closing the connection from {}: TLS handshake failed: {}", peer_,
                        ec.message());
    close();
  }

  // The header first, within header_timeout; then the body, if any, within io_timeout.
  void read_request(Deadline deadline) {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(limits().max_header_bytes));
    parser_->body_limit(limits().max_body_bytes);
    if (deadline == Deadline::kFromNow) lowest(stream_).expires_after(limits().header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          self->set_busy();
          if (ec == beast::error::timeout) return self->on_header_timeout();
          if (ec || self->parser_->is_done()) return self->on_read(ec);
          lowest(self->stream_).expires_after(self->limits().io_timeout);
          http::async_read(self->stream_, self->buffer_, *self->parser_,
                           [self](beast::error_code read_ec, size_t) { self->on_read(read_ec); });
        });
  }

  void on_header_timeout() {
    if (server_->stopped_) return close();
    ++server_->stats_.header_timeouts;
    server_->log_->warn("closing the connection from {}: no whole request header within {} ms",
                        peer_, limits().header_timeout.count());
    close();
  }

  void on_read(const beast::error_code& ec) {
    if (server_->stopped_) return close();
    const auto& req = parser_->get();
    HttpReadOutcome read = interpret_http_read(ec, req, limits());
    if (read.kind == HttpReadOutcome::Kind::kClose) return close();
    if (read.kind == HttpReadOutcome::Kind::kReject) return reject(read.status, read.why);
    const HttpRequest& request = read.request;
    version_ = read.version;
    Body body = req.method() == http::verb::head ? Body::kOmit : Body::kSend;
    HttpResponse response;
    if (req.method() != http::verb::get && body == Body::kSend) {
      response = HttpResponse::text(
          405, "method " + request.method.substr(0, 32) + " not allowed; use GET or HEAD");
      response.headers.emplace_back("Allow", "GET, HEAD");
    } else {
      response = server_->dispatch(request);
    }
    server_->log_request(request.method, request.path, response.status, peer_);
    send(std::move(response), body,
         req.keep_alive() ? AfterAnswer::kKeepAlive : AfterAnswer::kClose);
  }

  // Answers a request that could not be handled and closes the connection: after a framing
  // error there is no telling where the next request would start.
  void reject(int status, const std::string& why) {
    ++server_->stats_.bad_requests;
    server_->log_->warn("refusing a request from {}: {} {}", peer_, status, why);
    send(HttpResponse::text(status, why), Body::kSend, AfterAnswer::kClose);
  }

  void send(HttpResponse r, Body body, AfterAnswer after) {
    ++server_->stats_.requests;
    // Beast throws on a status outside 100..999 and on a body with 1xx, 204 or 304, and a 1xx
    // is never a final answer: a handler's mistake must not take the loop down.
    if (r.status < 200 || r.status > 999) {
      server_->log_->error("handler answered status {}; sending 500", r.status);
      r = HttpResponse::text(500, "internal error: handler answered an invalid status");
    }
    if (r.status == 204 || r.status == 304) r.body.clear();
    keep_alive_ = after == AfterAnswer::kKeepAlive;
    response_ = {};
    response_.version(version_ == 10 ? 10 : 11);
    response_.result(static_cast<unsigned>(r.status));
    // Beast would send its placeholder "<unknown-status>" as the reason phrase.
    if (http::obsolete_reason(response_.result()) == "<unknown-status>")
      response_.reason("Unknown");
    response_.set(http::field::server, "drsim");
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::cache_control, "no-store");
    response_.set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : r.headers) response_.set(name, value);
    response_.keep_alive(keep_alive_);
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    // HEAD: the length a GET would have, no body.
    if (body == Body::kOmit) response_.body().clear();
    lowest(stream_).expires_after(limits().io_timeout);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || self->server_->stopped_) return self->close();
                        if (!self->keep_alive_) return self->linger();
                        // Waiting for the next request: idle, the first to give up its slot
                        // at the cap, unless a pipelined request is already in the buffer.
                        if (self->buffer_.size() == 0) {
                          self->set_idle(++self->server_->idle_order_);
                        }
                        self->read_request(Deadline::kFromNow);
                      });
  }

  // HTTPS says close_notify first; then the TCP half-close and the drain, bounded together.
  void linger() {
    lowest(stream_).expires_after(kLingerTimeout);
    close_notify(stream_, [self = this->shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      lowest(self->stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->drain();
    });
  }

  void drain() {
    lowest(stream_).async_read_some(asio::buffer(scratch_),
                                    [self = this->shared_from_this()](beast::error_code ec,
                                                                      size_t) {
                                      if (ec || self->server_->stopped_) return self->close();
                                      self->drain();
                                    });
  }

  std::shared_ptr<HttpServer> server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // the write in flight borrows it
  std::array<char, 4096> scratch_{};
  std::string peer_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
};

HttpServer::HttpServer(asio::io_context& io, HttpRoutes routes, HttpServerLimits limits,
                       std::shared_ptr<HttpsCertificate> tls)
    : routes_(std::move(routes)),
      limits_(limits),
      tls_(std::move(tls)),
      acceptor_(io),
      log_(spdlog::default_logger()->clone("http")) {}

Result<std::shared_ptr<HttpServer>> HttpServer::start(asio::io_context& io, const std::string& flag,
                                                      const std::string& listen, HttpRoutes routes,
                                                      HttpServerLimits limits,
                                                      std::shared_ptr<asio::ssl::context> tls) {
  return start(io, flag, listen, std::move(routes), limits,
               tls ? HttpsCertificate::fixed(std::move(tls)) : nullptr);
}

Result<std::shared_ptr<HttpServer>> HttpServer::start(asio::io_context& io, const std::string& flag,
                                                      const std::string& listen, HttpRoutes routes,
                                                      HttpServerLimits limits,
                                                      std::shared_ptr<HttpsCertificate> tls) {
  auto at = parse_loopback_address(flag, listen);
  if (!at.is_ok()) return at.status();
  std::shared_ptr<HttpServer> server(new HttpServer(io, std::move(routes), limits, std::move(tls)));
  tcp::endpoint endpoint(at->first, at->second);
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    return unavailable(flag + ": cannot " + what + " " + listen + ": " + ec.message());
  };
  server->acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  set_close_on_exec(server->acceptor_.native_handle());
  server->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  server->acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  auto bound = server->acceptor_.local_endpoint(ec);
  if (ec) return fail("read the port of");
  server->address_ = config::join_host_port(at->first.to_string(), bound.port());
  server->accept();
  return server;
}

void HttpServer::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->close();
  }
  sessions_.clear();
}

void HttpServer::accept() {
  acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec,
                                                     tcp::socket socket) {
    if (self->stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // E.g. EMFILE: keep serving the connections there are; a later accept may succeed.
      self->log_->debug("accept: {}", ec.message());
    } else {
      boost::system::error_code peer_ec;
      auto peer = socket.remote_endpoint(peer_ec);
      std::string source = peer_ec ? "?" : peer.address().to_string();
      if (self->admit(socket, source)) self->start_session(std::move(socket), std::move(source));
    }
    self->accept();
  });
}

bool HttpServer::admit(tcp::socket& socket, const std::string& source) {
  sessions_.remove_if([](const auto& weak) { return weak.expired(); });
  std::vector<model::HttpConnectionView> open;
  for (const auto& weak : sessions_) {
    if (auto session = weak.lock()) open.push_back(session->view());
  }
  model::HttpAdmission admission = model::admit_http_connection(
      open, source, {limits_.max_connections, limits_.max_connections_per_source});
  switch (admission.kind) {
    case model::HttpAdmission::Kind::kAdmit:
      return true;
    case model::HttpAdmission::Kind::kAdmitAfterClosing:
      ++stats_.idle_closed;
      log_->info("a new connection from {}: {}", source, admission.why);
      sessions_.remove_if([&](const auto& weak) {
        auto session = weak.lock();
        if (!session || session->id() != admission.close_id) return false;
        session->close();
        return true;
      });
      return true;
    case model::HttpAdmission::Kind::kRefuse:
      break;
  }
  ++stats_.connections_refused;
  log_->warn("refusing a connection from {}: {}", source, admission.why);
  boost::system::error_code ignored;
  socket.close(ignored);
  return false;
}

void HttpServer::start_session(tcp::socket socket, std::string source) {
  ++stats_.connections;
  set_close_on_exec(socket.native_handle());
  const uint64_t id = next_session_id_++;
  auto launch = [this](auto session) {
    sessions_.push_back(session);
    session->start();
  };
  if (tls_) {
    // The session's SSL object holds its own reference to the context's SSL_CTX, so a later
    // re-read certificate (https_context.h) can replace this context while the session lives.
    std::shared_ptr<asio::ssl::context> context = tls_->for_new_connection();
    launch(std::make_shared<Session<TlsStream>>(shared_from_this(), id, std::move(source),
                                                std::move(socket), *context));
  } else {
    launch(std::make_shared<Session<beast::tcp_stream>>(shared_from_this(), id, std::move(source),
                                                        std::move(socket)));
  }
}

HttpResponse HttpServer::dispatch(const HttpRequest& request) {
  auto it = routes_.find(request.path);
  if (it == routes_.end()) {
    std::string known;
    for (const auto& [path, handler] : routes_) known += (known.empty() ? "" : ", ") + path;
    return HttpResponse::text(
        404, "no such path: " + request.path.substr(0, 256) + " (this server has " + known + ")");
  }
  try {
    return it->second(request);
  } catch (const std::exception& e) {
    log_->error("GET {}: handler failed: {}", request.path, e.what());
    return HttpResponse::text(500, std::string("internal error: ") + e.what());
  }
}

void HttpServer::log_request(const std::string& method, const std::string& path, int status,
                             const std::string& peer) {
  if (!log_->should_log(spdlog::level::debug)) return;
  log_->debug("{} {} {} {} from {}", method, path.substr(0, 256), status, reason_or_empty(status),
              peer);
}

}  // namespace drsim::net
