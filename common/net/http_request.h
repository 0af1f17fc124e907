// What HttpServer makes of the bytes of one request: Beast parses them (with the server's
// header and body limits), then drsim's rules turn the result into a request for a route, a
// 4xx answer, or a silent close. Shared by every server session and by the fuzz target
// tests/fuzz/http_request_fuzz.cc, which feeds it arbitrary bytes without a socket.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/net/http_server.h"

namespace drsim::net {

struct HttpReadOutcome {
  enum class Kind {
    kRequest,  // `request` is for a route (its method may still be one the server refuses)
    kReject,   // answer `status` with `why` and close: the framing is broken or the rules say no
    kClose,    // nobody to answer (client closed, reset, went silent)
  };
  Kind kind = Kind::kClose;
  HttpRequest request;
  unsigned version = 11;  // 10 or 11 for kRequest
  int status = 0;
  std::string why;
};

// `ec` and `parsed` are what one read gave (parsed is looked at only when ec is clear).
HttpReadOutcome interpret_http_read(
    const boost::beast::error_code& ec,
    const boost::beast::http::request<boost::beast::http::string_body>& parsed,
    const HttpServerLimits& limits);

// The same from a whole buffer, as if the client sent `bytes` and then closed its side.
HttpReadOutcome read_http_request(std::string_view bytes, const HttpServerLimits& limits);

}  // namespace drsim::net
