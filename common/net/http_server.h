// HttpServer: a small HTTP/1.1 server on a daemon's io_context for loopback observability
// endpoints — a region's /health and /metrics, the Traffic Manager's dashboard. GET and HEAD
// only, exact-path routes, keep-alive, capped request sizes; bad input gets a 4xx and never
// takes the daemon down. Handlers run on the loop thread and answer synchronously. Serves HTTPS
// when started with a TLS context (a daemon with mTLS, https_context.h), plain HTTP otherwise;
// one session code path for both.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/model/http/connection_admission.h"

#include "common/core/status.h"

namespace boost::asio::ssl {
class context;
}

namespace drsim::net {

class HttpsCertificate;  // https_context.h

struct HttpRequest {
  std::string method;  // "GET" or "HEAD" (others never reach a handler)
  std::string target;  // as sent: "/metrics?x=1"
  std::string path;    // "/metrics"
  std::string query;   // "x=1", without the '?'
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // added after the standard ones

  static HttpResponse text(int status, std::string body);
};

// Loop thread; must not block. An exception escaping it becomes a 500 (and is logged).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
using HttpRoutes = std::map<std::string, HttpHandler>;  // exact path → handler

struct HttpServerLimits {
  // The request line and headers together; more is answered 431 and the connection closed.
  size_t max_header_bytes = 8 * 1024;
  // GET and HEAD carry no body; a small one is read and ignored, more is answered 413.
  size_t max_body_bytes = 8 * 1024;
  // At this many open connections (TLS ones included), a new one takes the slot of the kept-alive
  // connection idle the longest (one waiting for its next request); when none is idle it is
  // closed at once, so a client that opens connections and never writes cannot exhaust
  // descriptors (model/http/connection_admission.h).
  size_t max_connections = 64;
  // The same per remote address, so one address cannot hold every slot; a new connection from
  // an address at its cap takes the slot of that address's own longest-idle one. Half the cap:
  // on loopback every local client is 127.0.0.1 (the Traffic Manager's probes, `drsim`, a
  // browser, a scraper), so the cap must leave them room together; under `placement: netns` the
  // HTTP listeners are loopback inside each namespace too (docs/security.md, "Limits").
  size_t max_connections_per_source = 32;
  // To complete the TLS handshake (HTTPS) and receive the request line and headers of a request,
  // counted from the moment the server waits for it (the connection was accepted, or the
  // previous answer sent on a kept-alive one): a client that never sends its ClientHello,
  // trickles its header (slowloris) or holds an idle connection is disconnected after it, so
  // connections free up in seconds.
  std::chrono::milliseconds header_timeout{2000};
  // To receive the rest of a request (its body) and to send one response.
  std::chrono::milliseconds io_timeout{10000};
};

struct HttpServerStats {
  uint64_t connections = 0;
  uint64_t connections_refused = 0;  // over max_connections or max_connections_per_source
  uint64_t idle_closed = 0;          // kept-alive idle connections closed to make room
  uint64_t header_timeouts = 0;      // closed: no handshake + request header in header_timeout
  uint64_t tls_handshake_failures = 0;  // closed: not TLS, or the handshake failed (HTTPS only)
  uint64_t requests = 0;             // answered, whatever the status
  uint64_t bad_requests = 0;         // answered 4xx/5xx because the request was malformed
};

// INVALID_ARGUMENT naming the flag unless `address` is IP:PORT with a loopback IP (127.0.0.0/8
// or ::1, brackets allowed) and a port in 0..65535: these endpoints are for this machine only.
Status validate_loopback_listen_address(const std::string& flag, const std::string& address);

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds `listen` (validated with validate_loopback_listen_address; `flag` names it in errors)
  // and starts accepting on `io`. UNAVAILABLE naming the address when it cannot bind. With `tls`
  // every connection is HTTPS (a plain HTTP request fails the handshake and is answered nothing),
  // presenting the certificate `tls` holds when it is accepted.
  static Result<std::shared_ptr<HttpServer>> start(boost::asio::io_context& io,
                                                   const std::string& flag,
                                                   const std::string& listen, HttpRoutes routes,
                                                   HttpServerLimits limits,
                                                   std::shared_ptr<HttpsCertificate> tls);
  // The same with one fixed TLS context (none: plain HTTP).
  static Result<std::shared_ptr<HttpServer>> start(
      boost::asio::io_context& io, const std::string& flag, const std::string& listen,
      HttpRoutes routes, HttpServerLimits limits = {},
      std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "127.0.0.1:PORT" with the bound port.
  const std::string& address() const { return address_; }
  // "https" or "http".
  const char* scheme() const { return tls_ ? "https" : "http"; }
  // "https://127.0.0.1:PORT/".
  std::string url() const { return std::string(scheme()) + "://" + address_ + "/"; }
  // Loop thread. Closes the acceptor and every connection; nothing is answered afterwards.
  void stop();
  // Loop thread.
  const HttpServerStats& stats() const { return stats_; }

 private:
  class Connection;  // what the server knows of a session, whatever its stream
  template <typename Stream>
  class Session;

  HttpServer(boost::asio::io_context& io, HttpRoutes routes, HttpServerLimits limits,
             std::shared_ptr<HttpsCertificate> tls);
  void accept();
  // Admits or refuses a just-accepted socket (connection_admission.h); false = closed.
  bool admit(boost::asio::ip::tcp::socket& socket, const std::string& source);
  void start_session(boost::asio::ip::tcp::socket socket, std::string source);
  HttpResponse dispatch(const HttpRequest& request);
  void log_request(const std::string& method, const std::string& path, int status,
                   const std::string& peer);

  const HttpRoutes routes_;
  const HttpServerLimits limits_;
  const std::shared_ptr<HttpsCertificate> tls_;  // null: plain HTTP
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<spdlog::logger> log_;
  std::string address_;
  std::list<std::weak_ptr<Connection>> sessions_;
  uint64_t next_session_id_ = 1;
  uint64_t idle_order_ = 0;  // the order in which sessions went idle (longest idle = smallest)
  HttpServerStats stats_;
  bool stopped_ = false;
};

}  // namespace drsim::net
