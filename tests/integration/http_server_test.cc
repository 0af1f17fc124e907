// net::HttpServer over real loopback sockets: routing, keep-alive and pipelining, HEAD, and
// what it does with bad input — malformed request lines and headers, smuggling attempts,
// oversized headers and bodies, slow and silent clients, too many connections, random bytes.
// After every bad input the server must still answer a good request.
#include <gtest/gtest.h>

#include <future>
#include <random>
#include <stdexcept>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "common/net/http_request.h"
#include "common/net/http_server.h"
#include "common/net/https_context.h"
#include "common/tls/certificates.h"
#include "tests/integration/https_client.h"
#include "tests/integration/web_fixture.h"

namespace drsim {
namespace {

using namespace webtest;
using namespace std::string_literals;
namespace asio = boost::asio;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override {
    shutdown();
    for (const auto& dir : tls_dirs_) remove_test_dir(dir);
  }

  // A CA of its own and the certificate of `identity` (as `drsim up` makes them).
  tls::IdentityPem make_identity(const std::string& identity) {
    fs::path dir = make_temp_dir("drsim-http-tls");
    tls_dirs_.push_back(dir);
    auto now = std::chrono::system_clock::now();
    EXPECT_TRUE(tls::ensure_certificates(dir / "tls", {identity}, now).is_ok());
    auto loaded = tls::load_identity(dir / "tls", identity, now);
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().message();
    return loaded.is_ok() ? *loaded : tls::IdentityPem{};
  }

  // Restarts the server as HTTPS with `identity`'s certificate.
  void start_tls(const tls::IdentityPem& identity, net::HttpServerLimits limits = {}) {
    shutdown();
    auto context = net::https_server_context(identity);
    ASSERT_TRUE(context.is_ok()) << context.status().message();
    start(limits, *context);
  }

  void start(net::HttpServerLimits limits,
             std::shared_ptr<asio::ssl::context> tls = nullptr) {
    net::HttpRoutes routes;
    routes["/hello"] = [](const net::HttpRequest& r) {
      return net::HttpResponse::text(200, "hello" + (r.query.empty() ? "" : " " + r.query));
    };
    routes["/headers"] = [](const net::HttpRequest& r) {
      std::string body;
      for (const auto& [name, value] : r.headers) body += name + "=" + value + ";";
      return net::HttpResponse::text(200, body);
    };
    routes["/status"] = [](const net::HttpRequest& r) {
      return net::HttpResponse::text(std::atoi(r.query.c_str()), "a body");
    };
    routes["/throw"] = [](const net::HttpRequest&) -> net::HttpResponse {
      throw std::runtime_error("boom");
    };
    auto started =
        net::HttpServer::start(io_, "--test-listen", "127.0.0.1:0", routes, limits, tls);
    ASSERT_TRUE(started.is_ok()) << started.status().message();
    server_ = *started;
    address_ = server_->address();
    io_.restart();
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  void shutdown() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      server_->stop();
      guard_.reset();
    });
    thread_.join();
  }

  // Reads the server's stats on its loop thread.
  net::HttpServerStats stats() {
    std::promise<net::HttpServerStats> p;
    asio::post(io_, [&] { p.set_value(server_->stats()); });
    return p.get_future().get();
  }

  // The server still answers a good request: what every bad-input test ends with.
  void expect_still_serving() {
    HttpReply r = http_get(address_, "/hello");
    EXPECT_EQ(r.status, 200) << "server stopped answering";
    EXPECT_EQ(r.body, "hello\n");
  }

  std::vector<fs::path> tls_dirs_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::shared_ptr<net::HttpServer> server_;
  std::string address_;
  std::thread thread_;
};

TEST_F(HttpServerTest, AnswersGetOnARouteWithTheHandlersBody) {
  HttpReply r = http_get(address_, "/hello?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello x=1\n");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], "10");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
}

TEST_F(HttpServerTest, HeadAnswersTheLengthWithoutABody) {
  RawConnection c(address_);
  ASSERT_TRUE(c.connected());
  c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string data = c.read_until_close();
  EXPECT_TRUE(c.closed());
  ASSERT_EQ(data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << data;
  EXPECT_NE(data.find("Content-Length: 6\r\n"), std::string::npos) << data;
  EXPECT_EQ(data.substr(data.size() - 4), "\r\n\r\n") << "HEAD answer carries a body: " << data;
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  RawConnection c(address_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string data =
        c.read_while([](const std::string& got) { return parse_reply(got).status == 0; }, 5s);
    HttpReply r = parse_reply(data);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << data;
    EXPECT_FALSE(c.closed());
  }
  EXPECT_EQ(stats().connections, 1u);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  RawConnection c(address_);
  ASSERT_TRUE(c.connected());
  c.send(
      "GET /hello?a HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /hello?c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto replies = parse_replies(c.read_until_close());
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].body, "hello a\n");
  EXPECT_EQ(replies[1].status, 404);
  EXPECT_EQ(replies[2].body, "hello c\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(HttpServerTest, Http10ClosesAfterTheAnswerUnlessAskedToKeepAlive) {
  RawConnection c(address_);
  c.send("GET /hello HTTP/1.0\r\n\r\n");  // HTTP/1.0 needs no Host
  std::string data = c.read_until_close(3s);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(data.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << data;
}

TEST_F(HttpServerTest, UnknownPathIs404AndOtherMethodsAre405WithAllow) {
  HttpReply missing = http_get(address_, "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/hello"), std::string::npos) << "404 lists the paths";

  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "BREW"}) {
    RawConnection c(address_);
    c.send(std::string(method) +
           " /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    HttpReply r = parse_reply(c.read_until_close());
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.headers["allow"], "GET, HEAD") << method;
  }
  expect_still_serving();
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndTheServerGoesOn) {
  HttpReply r = http_get(address_, "/throw");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("boom"), std::string::npos);
  expect_still_serving();
}

TEST_F(HttpServerTest, HandlerStatusesWithoutBodyOrOutOfRangeAreSentSafely) {
  // 204 and 304 never carry a body; 1xx is not a final answer and 0 / 1000 are no status: 500.
  const std::vector<std::pair<int, int>> cases{{204, 204}, {304, 304},  {418, 418}, {100, 500},
                                               {0, 500},   {1000, 500}, {-1, 500}};
  for (const auto& [asked, sent] : cases) {
    RawConnection c(address_);
    c.send("GET /status?" + std::to_string(asked) +
           " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    std::string data = c.read_until_close();
    HttpReply r = parse_reply(data);
    EXPECT_EQ(r.status, sent) << asked << ": " << data;
    if (sent == 204 || sent == 304) {
      EXPECT_EQ(data.find("a body"), std::string::npos) << data;
    }
  }
  expect_still_serving();
}

TEST_F(HttpServerTest, HandlersSeeTheRequestHeaders) {
  RawConnection c(address_);
  c.send("GET /headers HTTP/1.1\r\nHost: t\r\nX-Probe: yes\r\nConnection: close\r\n\r\n");
  HttpReply r = parse_reply(c.read_until_close());
  EXPECT_NE(r.body.find("X-Probe=yes;"), std::string::npos) << r.body;
}

struct BadRequest {
  const char* name;
  std::string bytes;
  int status;
};

std::vector<BadRequest> malformed_requests() {
  return {
      {"garbage line", "hello there\r\n\r\n", 400},
      {"empty method", " /hello HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"no version", "GET /hello\r\nHost: t\r\n\r\n", 400},
      {"bad version", "GET /hello HTTP/x.y\r\nHost: t\r\n\r\n", 400},
      {"HTTP/1.2", "GET /hello HTTP/1.2\r\nHost: t\r\n\r\n", 400},
      {"HTTP/2 version", "GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
      {"absolute-form target", "GET http://example.com/hello HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"control char in target", std::string("GET /he\x01llo HTTP/1.1\r\nHost: t\r\n\r\n"), 400},
      {"header without colon", "GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400},
      {"space before colon", "GET /hello HTTP/1.1\r\nHost : t\r\n\r\n", 400},
      {"NUL in header value", "GET /hello HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n"s, 400},
      {"non-numeric Content-Length", "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
       400},
      {"two Content-Lengths",
       "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"Content-Length and chunked",
       "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"bad chunk size",
       "GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
  };
}

TEST_F(HttpServerTest, MalformedRequestsAreAnsweredWithAnErrorAndTheConnectionCloses) {
  const std::vector<BadRequest> cases = malformed_requests();
  for (const auto& c : cases) {
    RawConnection conn(address_);
    ASSERT_TRUE(conn.connected()) << c.name;
    conn.send(c.bytes);
    std::string data = conn.read_until_close(5s);
    HttpReply r = parse_reply(data);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << data;
    EXPECT_EQ(r.headers["connection"], "close") << c.name;
    EXPECT_TRUE(conn.closed()) << c.name << ": connection left open after a malformed request";
  }
  EXPECT_GE(stats().bad_requests, cases.size());
  expect_still_serving();
}

TEST_F(HttpServerTest, OversizedHeaderIs431AndOversizedBodyIs413) {
  shutdown();
  net::HttpServerLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 1024;
  start(limits);

  RawConnection big_header(address_);
  big_header.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'a') +
                  "\r\n\r\n");
  EXPECT_EQ(parse_reply(big_header.read_until_close()).status, 431);

  // Many small headers add up the same way.
  std::string many = "GET /hello HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  RawConnection many_headers(address_);
  many_headers.send(many + "\r\n");
  EXPECT_EQ(parse_reply(many_headers.read_until_close()).status, 431);

  // The announced length alone is refused: the body is never waited for.
  RawConnection big_body(address_);
  big_body.send("GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n");
  EXPECT_EQ(parse_reply(big_body.read_until_close()).status, 413);

  RawConnection big_chunks(address_);
  big_chunks.send("GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                  std::string(2048, 'b') + "\r\n0\r\n\r\n");
  EXPECT_EQ(parse_reply(big_chunks.read_until_close()).status, 413);
  expect_still_serving();
}

TEST_F(HttpServerTest, SlowOrSilentClientsAreDisconnectedAfterTheHeaderTimeout) {
  shutdown();
  net::HttpServerLimits limits;
  limits.header_timeout = std::chrono::milliseconds(300);
  start(limits);

  RawConnection silent(address_);
  RawConnection partial(address_);
  partial.send("GET /hel");
  auto begin = std::chrono::steady_clock::now();
  silent.read_until_close(5s);
  partial.read_until_close(5s);
  EXPECT_TRUE(silent.closed());
  EXPECT_TRUE(partial.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
  expect_still_serving();
}

// Slowloris with the daemons' limits (the defaults): a client that sends its header one byte a
// second is cut off once the header timeout (2 s) passes, while other clients are served all
// along; and a kept-alive connection left idle is closed after the same time.
TEST_F(HttpServerTest, ASlowlorisClientIsCutOffAtTheHeaderTimeoutWhileOthersAreServed) {
  const auto timeout = net::HttpServerLimits{}.header_timeout;
  ASSERT_LE(timeout, 2s);
  RawConnection slow(address_);
  ASSERT_TRUE(slow.connected());
  const std::string header = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: 0123456789\r\n\r\n";
  const auto begin = std::chrono::steady_clock::now();
  bool cut_off = false;
  int served_meanwhile = 0;
  // One byte a second for at most 10 s (the old 10 s I/O timeout would let it go on that long).
  for (size_t i = 0; i < 10 && !cut_off; ++i) {
    slow.send(header.substr(i, 1));
    HttpReply other = http_get(address_, "/hello");
    if (other.status == 200) ++served_meanwhile;
    slow.read_until_close(1s);  // the server answers nothing to half a header: closes or waits
    cut_off = slow.closed();
  }
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_TRUE(cut_off) << "a client trickling its header was still connected after 10 s";
  EXPECT_LT(took, timeout + 3s) << "cut off only after "
                                << std::chrono::duration_cast<std::chrono::milliseconds>(took)
                                       .count()
                                << " ms";
  EXPECT_GE(served_meanwhile, 1);
  EXPECT_TRUE(wait_until([&] { return stats().header_timeouts >= 1; }));

  // An idle kept-alive connection: answered once, then closed when no next request comes.
  RawConnection idle(address_);
  ASSERT_TRUE(idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  idle.read_until_close(timeout + 3s);
  EXPECT_TRUE(idle.closed()) << "an idle kept-alive connection outlived the header timeout";
  expect_still_serving();
}

TEST_F(HttpServerTest, ClientsThatHangUpMidRequestDoNotHurtTheServer) {
  for (const char* bytes : {"GET /hello HTTP/1.1\r\nHost:", "GET", "GET /hello HTTP/1.1\r\n"}) {
    RawConnection c(address_);
    c.send(bytes);
    c.shutdown_send();
    c.read_until_close(3s);
    EXPECT_TRUE(c.closed()) << bytes;
  }
  {
    RawConnection abrupt(address_);
    abrupt.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  }  // closed before reading the answer
  expect_still_serving();
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
  shutdown();
  net::HttpServerLimits limits;
  limits.max_connections = 4;
  start(limits);

  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<RawConnection>(address_));
  ASSERT_TRUE(wait_until([&] { return stats().connections == 4; }));
  RawConnection extra(address_);
  std::string data = extra.read_until_close(3s);
  EXPECT_TRUE(extra.closed());
  EXPECT_TRUE(data.empty());
  EXPECT_TRUE(wait_until([&] { return stats().connections_refused == 1; }));

  idle.pop_back();  // a slot frees once the server sees the close
  EXPECT_TRUE(wait_until([&] { return http_get(address_, "/hello").status == 200; }));
}

// At the cap, a new connection takes the slot of the kept-alive connection idle the longest
// (answered once, waiting for its next request) instead of being refused.
TEST_F(HttpServerTest, AtTheCapTheLongestIdleKeptAliveConnectionGivesUpItsSlot) {
  shutdown();
  net::HttpServerLimits limits;
  limits.max_connections = 4;
  limits.header_timeout = 20s;  // nothing here is cut by the timeout
  start(limits);

  std::vector<std::unique_ptr<RawConnection>> kept;
  for (int i = 0; i < 4; ++i) {
    kept.push_back(std::make_unique<RawConnection>(address_));
    ASSERT_TRUE(kept.back()->send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string got = kept.back()->read_while(
        [](const std::string& data) { return parse_reply(data).status == 0; }, 5s);
    ASSERT_EQ(parse_reply(got).status, 200) << "connection " << i;
  }
  // All four idle, the first the longest: the new one is served, the first is closed.
  HttpReply fresh = http_get(address_, "/hello");
  EXPECT_EQ(fresh.status, 200) << "a new connection was refused while idle ones held the slots";
  kept[0]->read_until_close(3s);
  EXPECT_TRUE(kept[0]->closed()) << "the longest-idle connection was not closed";
  for (int i = 1; i < 4; ++i) {
    ASSERT_TRUE(kept[i]->send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")) << i;
    std::string got = kept[i]->read_while(
        [](const std::string& data) { return parse_reply(data).status == 0; }, 5s);
    EXPECT_EQ(parse_reply(got).status, 200) << "connection " << i << " lost its slot";
  }
  auto s = stats();
  EXPECT_EQ(s.idle_closed, 1u);
  EXPECT_EQ(s.connections_refused, 0u);
}

// One address cannot hold every slot: at its cap its own longest-idle connection makes room, or
// the new one is refused when none of its connections is idle; another address still gets in.
TEST_F(HttpServerTest, OneSourceAddressCannotHoldEverySlot) {
  shutdown();
  net::HttpServerLimits limits;
  limits.max_connections = 8;
  limits.max_connections_per_source = 3;
  limits.header_timeout = 20s;
  start(limits);

  std::vector<std::unique_ptr<RawConnection>> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(std::make_unique<RawConnection>(address_, "127.0.0.1"));
  }
  ASSERT_TRUE(wait_until([&] { return stats().connections == 3; }));
  RawConnection fourth(address_, "127.0.0.1");
  ASSERT_TRUE(fourth.connected());
  EXPECT_TRUE(fourth.read_until_close(3s).empty());
  EXPECT_TRUE(fourth.closed()) << "a fourth connection from 127.0.0.1 was let in";
  EXPECT_TRUE(wait_until([&] { return stats().connections_refused == 1; }));
  // Another address is served meanwhile (5 of the 8 slots are free).
  EXPECT_EQ(http_get(address_, "/hello", 5s, "127.0.0.2").status, 200);

  // One of 127.0.0.1's connections answered and kept alive: it gives up its slot.
  ASSERT_TRUE(silent[1]->send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(parse_reply(silent[1]->read_while(
                            [](const std::string& d) { return parse_reply(d).status == 0; }, 5s))
                .status,
            200);
  EXPECT_EQ(http_get(address_, "/hello", 5s, "127.0.0.1").status, 200);
  silent[1]->read_until_close(3s);
  EXPECT_TRUE(silent[1]->closed());
  EXPECT_EQ(stats().idle_closed, 1u);
}

// With a certificate the server speaks HTTPS only: a plain HTTP request fails the handshake and
// is answered nothing; a client that verifies against the CA and requires the identity gets
// the answer.
TEST_F(HttpServerTest, WithTlsAPlainHttpRequestIsAnsweredNothingAndHttpsIsServed) {
  const tls::IdentityPem primary = make_identity("primary");
  start_tls(primary);
  RawConnection plain(address_);
  ASSERT_TRUE(plain.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string data = plain.read_until_close(5s);
  EXPECT_TRUE(plain.closed());
  EXPECT_EQ(data.find("HTTP/1."), std::string::npos) << "answered over plain HTTP: " << data;
  EXPECT_EQ(data.find("hello"), std::string::npos) << data;
  EXPECT_TRUE(wait_until([&] { return stats().tls_handshake_failures >= 1; }));
  EXPECT_EQ(stats().requests, 0u);

  HttpsReply r = https_get(address_, "/hello?x=1", primary.ca_pem, "primary");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "hello x=1\n");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  EXPECT_EQ(stats().requests, 1u);
}

// The client verifies the server: a certificate of another CA, or of another identity of the
// same CA, fails the handshake on the client's side.
TEST_F(HttpServerTest, WithTlsAClientOfAnotherCaOrExpectingAnotherIdentityRefusesTheServer) {
  const tls::IdentityPem primary = make_identity("primary");
  const tls::IdentityPem foreign = make_identity("primary");  // same name, another CA
  start_tls(primary);
  HttpsReply other_ca = https_get(address_, "/hello", foreign.ca_pem, "primary");
  EXPECT_EQ(other_ca.status, 0);
  EXPECT_NE(other_ca.error.find("handshake: certificate verify failed"), std::string::npos)
      << other_ca.error;
  HttpsReply other_name = https_get(address_, "/hello", primary.ca_pem, "secondary");
  EXPECT_EQ(other_name.status, 0);
  EXPECT_NE(other_name.error.find("handshake: certificate verify failed"), std::string::npos)
      << other_name.error;
  EXPECT_EQ(stats().requests, 0u);
  EXPECT_EQ(https_get(address_, "/hello", primary.ca_pem, "primary").status, 200);
}

// The header timeout counts from the accept and covers the TLS handshake: a client that opens
// TCP and never sends its ClientHello is cut at it; the cap counts TLS connections.
TEST_F(HttpServerTest, WithTlsASilentClientIsCutAtTheHeaderTimeoutDuringTheHandshake) {
  const tls::IdentityPem primary = make_identity("primary");
  net::HttpServerLimits limits;
  limits.header_timeout = 500ms;
  limits.max_connections = 2;
  start_tls(primary, limits);
  const auto begin = std::chrono::steady_clock::now();
  RawConnection silent(address_);
  ASSERT_TRUE(silent.connected());
  silent.read_until_close(5s);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_TRUE(silent.closed()) << "a client that never sent a ClientHello was still connected";
  EXPECT_LT(took, 500ms + 2s);
  EXPECT_TRUE(wait_until([&] { return stats().header_timeouts == 1; }));
  EXPECT_EQ(stats().tls_handshake_failures, 0u);

  // Two silent TLS connections fill the cap of two: a third is closed at once.
  RawConnection a(address_), b(address_);
  ASSERT_TRUE(wait_until([&] { return stats().connections == 3; }));
  RawConnection c(address_);
  c.read_until_close(3s);
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(wait_until([&] { return stats().connections_refused == 1; }));
  a.read_until_close(5s);
  b.read_until_close(5s);
  EXPECT_TRUE(a.closed() && b.closed());
  EXPECT_EQ(https_get(address_, "/hello", primary.ca_pem, "primary").status, 200);
}

TEST_F(HttpServerTest, RandomBytesNeverCrashTheServer) {
  std::mt19937_64 rng(20240601);
  const std::string alphabet =
      "GET /HTP1.0\r\n:; \t\x00\x7f\xff chunked Content-Length 0123456789"s;
  for (int i = 0; i < 150; ++i) {
    std::string bytes;
    size_t n = rng() % 600;
    for (size_t k = 0; k < n; ++k) {
      // Half from an HTTP-ish alphabet (gets deeper into the parser), half any byte.
      bytes += (rng() & 1) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng());
    }
    if (i % 3 == 0) bytes = "GET /hello HTTP/1.1\r\nHost: t\r\n" + bytes;
    RawConnection c(address_);
    ASSERT_TRUE(c.connected()) << "iteration " << i;
    c.send(bytes);
    c.shutdown_send();
    c.read_until_close(3s);
    ASSERT_TRUE(c.closed()) << "iteration " << i << ": connection not closed";
  }
  expect_still_serving();
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  RawConnection c(address_);
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  c.read_while([](const std::string& got) { return parse_reply(got).status == 0; }, 5s);
  shutdown();
  c.read_until_close(3s);
  EXPECT_TRUE(c.closed());
}

// read_http_request (what the fuzz target drives) gives the verdict a server session gives
// for the same bytes: the malformed requests above, oversized ones, and good ones.
TEST(HttpRequestRead, GivesTheServersVerdictWithoutASocket) {
  using Kind = net::HttpReadOutcome::Kind;
  net::HttpServerLimits limits;
  for (const auto& c : malformed_requests()) {
    net::HttpReadOutcome out = net::read_http_request(c.bytes, limits);
    EXPECT_EQ(out.kind, Kind::kReject) << c.name;
    EXPECT_EQ(out.status, c.status) << c.name << ": " << out.why;
  }
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 1024;
  auto big_header = "GET /hello HTTP/1.1\r\nHost: t\r\nX: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(net::read_http_request(big_header, limits).status, 431);
  auto big_body =
      "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b');
  EXPECT_EQ(net::read_http_request(big_body, limits).status, 413);

  net::HttpReadOutcome good =
      net::read_http_request("HEAD /metrics?x=1 HTTP/1.0\r\nAccept: */*\r\n\r\n", limits);
  ASSERT_EQ(good.kind, Kind::kRequest) << good.why;
  EXPECT_EQ(good.request.method, "HEAD");
  EXPECT_EQ(good.request.path, "/metrics");
  EXPECT_EQ(good.request.query, "x=1");
  EXPECT_EQ(good.version, 10u);
  ASSERT_EQ(good.request.headers.size(), 1u);
  // A client that hangs up before or in the middle of a request gets no answer.
  EXPECT_EQ(net::read_http_request("", limits).kind, Kind::kClose);
  EXPECT_EQ(net::read_http_request("GET /hello HTTP/1.1\r\nHo", limits).kind, Kind::kClose);
}

TEST(HttpServerAddress, ListenAddressMustBeALoopbackIpAndPort) {
  EXPECT_TRUE(net::validate_loopback_listen_address("--x", "127.0.0.1:0").is_ok());
  EXPECT_TRUE(net::validate_loopback_listen_address("--x", "127.0.0.2:8080").is_ok());
  EXPECT_TRUE(net::validate_loopback_listen_address("--x", "[::1]:0").is_ok());
  for (const char* bad : {"0.0.0.0:0", "10.1.2.3:80", "localhost:0", "127.0.0.1", "127.0.0.1:x",
                          "127.0.0.1:70000", ":80", "[::]:0"}) {
    Status s = net::validate_loopback_listen_address("--x", bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message().rfind("--x: ", 0), 0u) << s.message();
  }
  asio::io_context io;
  auto refused = net::HttpServer::start(io, "--x", "0.0.0.0:0", {});
  EXPECT_FALSE(refused.is_ok());
}

}  // namespace
}  // namespace drsim
