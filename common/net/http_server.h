// HttpServer: a small HTTP/1.1 server on a daemon's io_context for loopback observability
// endpoints — a region's /health and /metrics, the Traffic Manager's dashboard. GET and HEAD
// only, exact-path routes, keep-alive, capped request sizes; bad input gets a 4xx and never
// takes the daemon down. Handlers run on the loop thread and answer synchronously.
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

#include "common/core/status.h"

namespace drsim::net {

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
  // Beyond this, new connections are closed at once, so a client that opens connections and
  // never writes cannot exhaust descriptors.
  size_t max_connections = 64;
  // To receive the request line and headers of a request, counted from the moment the server
  // waits for it (the connection was accepted, or the previous answer sent on a kept-alive
  // one): a client that trickles its header (slowloris) or holds an idle connection is
  // disconnected after it, so connections free up in seconds.
  std::chrono::milliseconds header_timeout{2000};
  // To receive the rest of a request (its body) and to send one response.
  std::chrono::milliseconds io_timeout{10000};
};

struct HttpServerStats {
  uint64_t connections = 0;
  uint64_t connections_refused = 0;  // over max_connections
  uint64_t header_timeouts = 0;      // closed: no whole request header within header_timeout
  uint64_t requests = 0;             // answered, whatever the status
  uint64_t bad_requests = 0;         // answered 4xx/5xx because the request was malformed
};

// INVALID_ARGUMENT naming the flag unless `address` is IP:PORT with a loopback IP (127.0.0.0/8
// or ::1, brackets allowed) and a port in 0..65535: these endpoints are for this machine only.
Status validate_loopback_listen_address(const std::string& flag, const std::string& address);

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds `listen` (validated with validate_loopback_listen_address; `flag` names it in errors)
  // and starts accepting on `io`. UNAVAILABLE naming the address when it cannot bind.
  static Result<std::shared_ptr<HttpServer>> start(boost::asio::io_context& io,
                                                   const std::string& flag,
                                                   const std::string& listen, HttpRoutes routes,
                                                   HttpServerLimits limits = {});

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "127.0.0.1:PORT" with the bound port.
  const std::string& address() const { return address_; }
  // Loop thread. Closes the acceptor and every connection; nothing is answered afterwards.
  void stop();
  // Loop thread.
  const HttpServerStats& stats() const { return stats_; }

 private:
  class Session;

  HttpServer(boost::asio::io_context& io, HttpRoutes routes, HttpServerLimits limits);
  void accept();
  HttpResponse dispatch(const HttpRequest& request);
  void log_request(const std::string& method, const std::string& path, int status,
                   const std::string& peer);

  boost::asio::io_context& io_;
  const HttpRoutes routes_;
  const HttpServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<spdlog::logger> log_;
  std::string address_;
  std::list<std::weak_ptr<Session>> sessions_;
  HttpServerStats stats_;
  bool stopped_ = false;
};

}  // namespace drsim::net
