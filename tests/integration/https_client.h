// A bounded HTTPS GET for tests: TLS 1.2+, the server verified against a CA's PEM text and, when
// `peer` is given, required to be that identity ("primary.drsim" in its subjectAltName) — what
// every drsim client of the HTTP endpoints does with mTLS on (common/net/https_context.h). And
// the plain-text exchange a client that does not speak TLS would have with the same port.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/net/https_context.h"

namespace drsim::webtest {

struct HttpsReply {
  int status = 0;                              // 0: no response (see error)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string error;  // the step that failed and why: "handshake: certificate verify failed"
};

// GET `path` of "127.0.0.1:PORT" over HTTPS, everything within `limit`.
inline HttpsReply https_get(const std::string& address, const std::string& path,
                            const std::string& ca_pem, std::string_view peer = {},
                            std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpsReply out;
  auto context = net::https_client_context(ca_pem);
  if (!context.is_ok()) {
    out.error = context.status().message();
    return out;
  }
  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, **context);
  const std::string host = address.substr(0, address.rfind(':'));
  if (!net::expect_https_peer(stream.native_handle(), peer, host)) {
    out.error = "cannot require the peer's name";
    return out;
  }
  const auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host), port);
  http::request<http::empty_body> request(http::verb::get, path, 11);
  request.set(http::field::host, address);
  request.set(http::field::connection, "close");
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  auto fail = [&](const char* step, const beast::error_code& ec) {
    out.error = std::string(step) + ": " + ec.message();
  };
  beast::get_lowest_layer(stream).expires_after(limit);
  beast::get_lowest_layer(stream).async_connect(endpoint, [&](beast::error_code connect_ec) {
    if (connect_ec) return fail("connect", connect_ec);
    stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code handshake_ec) {
      if (handshake_ec) return fail("handshake", handshake_ec);
      http::async_write(stream, request, [&](beast::error_code write_ec, size_t) {
        if (write_ec) return fail("write", write_ec);
        http::async_read(stream, buffer, response, [&](beast::error_code read_ec, size_t) {
          if (read_ec) return fail("read", read_ec);
          out.status = static_cast<int>(response.result_int());
          for (const auto& field : response) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            out.headers[name] = std::string(field.value());
          }
          out.body = response.body();
        });
      });
    });
  });
  io.run();
  return out;
}

// Sends `request` over plain TCP to "127.0.0.1:PORT" and returns every byte that comes back
// until the server closes or `limit` passes.
inline std::string plain_exchange(const std::string& address, const std::string& request,
                                  std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  asio::io_context io;
  beast::tcp_stream stream(io);
  const std::string host = address.substr(0, address.rfind(':'));
  const auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  std::string received;
  std::array<char, 4096> chunk{};
  std::function<void()> read_more = [&] {
    stream.async_read_some(asio::buffer(chunk), [&](beast::error_code ec, size_t n) {
      received.append(chunk.data(), n);
      if (!ec) read_more();
    });
  };
  stream.expires_after(limit);
  stream.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address(host), port),
                       [&](beast::error_code connect_ec) {
                         if (connect_ec) return;
                         asio::async_write(stream, asio::buffer(request),
                                           [&](beast::error_code write_ec, size_t) {
                                             if (!write_ec) read_more();
                                           });
                       });
  io.run();
  return received;
}

}  // namespace drsim::webtest
