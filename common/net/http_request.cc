#include "common/net/http_request.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace drsim::net {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

HttpReadOutcome reject(int status, std::string why) {
  HttpReadOutcome out;
  out.kind = HttpReadOutcome::Kind::kReject;
  out.status = status;
  out.why = std::move(why);
  return out;
}

}  // namespace

HttpReadOutcome interpret_http_read(const beast::error_code& ec,
                                    const http::request<http::string_body>& req,
                                    const HttpServerLimits& limits) {
  if (ec) {
    // Beast reports an over-long header as header_limit, or as buffer_overflow when the
    // connection's buffer filled first.
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return reject(431, "request header fields too large (limit " +
                             std::to_string(limits.max_header_bytes) + " bytes)");
    }
    if (ec == http::error::body_limit) {
      return reject(413, "request body too large (limit " + std::to_string(limits.max_body_bytes) +
                             " bytes)");
    }
    // The client closed (cleanly or mid-request), reset, or went silent: nobody to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        !is_http_parse_error(ec)) {
      return {};
    }
    return reject(400, "malformed request: " + ec.message());
  }
  HttpReadOutcome out;
  out.kind = HttpReadOutcome::Kind::kRequest;
  HttpRequest& request = out.request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  auto q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  for (const auto& field : req) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  // Beast's parser refuses every version but 1.0 and 1.1 (bad_version: 400 above).
  out.version = req.version();
  // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
  if (out.version == 11 && req.find(http::field::host) == req.end()) {
    return reject(400, "malformed request: HTTP/1.1 request without a Host header");
  }
  // Origin form only: this is not a proxy (absolute form) and has no OPTIONS * (asterisk).
  if (request.target.empty() || request.target.front() != '/') {
    return reject(400, "malformed request: target '" + request.target.substr(0, 64) +
                           "' is not a path starting with '/'");
  }
  return out;
}

HttpReadOutcome read_http_request(std::string_view bytes, const HttpServerLimits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  beast::error_code ec;
  size_t used = 0;
  while (!ec && !parser.is_done() && used < bytes.size()) {
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      // Beast's parser wants the unconsumed bytes again only with more after them (it remembers
      // how far it scanned), as http::read does: all bytes are here, so the client has closed.
      ec = {};
      break;
    }
  }
  if (!ec && !parser.is_done()) {
    // The client closed: Beast's read gives end_of_stream before any byte, else what put_eof
    // says (partial_message mid-message).
    if (bytes.empty()) {
      ec = http::error::end_of_stream;
    } else {
      parser.put_eof(ec);
      if (!ec && !parser.is_done()) ec = http::error::partial_message;
    }
  }
  return interpret_http_read(ec, parser.get(), limits);
}

}  // namespace drsim::net
