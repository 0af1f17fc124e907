#include "trafficmgr/http_prober.h"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/core/check.h"
#include "common/core/clock.h"
#include "common/net/health_service.h"
#include "common/net/https_context.h"

namespace drsim::trafficmgr {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

constexpr uint32_t kMaxResponseHeaderBytes = 16 * 1024;
// Only the status code counts; the body is read (so the connection ends cleanly) up to this,
// and its first line goes into the failure reason.
constexpr uint64_t kMaxResponseBodyBytes = 64 * 1024;
constexpr size_t kMaxReasonBytes = 160;
constexpr char kUserAgent[] = "drsim-trafficmgr endpoint monitor";

// The first line of a body, printable ASCII only, shortened: safe to log and to show.
std::string reason_from_body(const std::string& body) {
  std::string out;
  for (char c : body) {
    if (c == '\n' || c == '\r' || out.size() >= kMaxReasonBytes) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

std::string host_header(const HostPort& target) {
  return config::join_host_port(target.host, target.port);
}

}  // namespace

// One probe: resolve (unless the host is an IP), connect, TLS handshake (HTTPS), write the
// request, read the response. Owned by its pending operation's handler; finishes exactly once,
// by the response, an error or the deadline.
class HttpProber::Call : public std::enable_shared_from_this<Call> {
 public:
  Call(asio::io_context& io, const Clock& clock,
       std::shared_ptr<const model::TmMonitorConfig> monitor, EndpointTls tls, size_t endpoint,
       HostPort target, std::weak_ptr<ResultHandler> handler)
      : clock_(clock),
        monitor_(std::move(monitor)),
        tls_context_(std::move(tls.context)),
        expected_peer_(std::move(tls.peer)),
        endpoint_(endpoint),
        target_(std::move(target)),
        handler_(std::move(handler)),
        deadline_(io),
        resolver_(io),
        socket_(io) {
    if (tls_context_) tls_.emplace(io, *tls_context_);
  }

  void start() {
    started_ = clock_.now();
    deadline_.expires_after(monitor_->timeout);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        self->finish(
            model::ProbeOutcome::kFailure,
            "DEADLINE_EXCEEDED: no answer within " + model::tm_format_ms(self->monitor_->timeout),
            "");
      }
    });
    build_request();
    boost::system::error_code not_an_ip;
    auto ip = asio::ip::make_address(target_.host, not_an_ip);
    if (!not_an_ip) {
      std::vector<tcp::endpoint> endpoints{tcp::endpoint(ip, target_.port)};
      connect(endpoints);
      return;
    }
    resolver_.async_resolve(target_.host, std::to_string(target_.port),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        tcp::resolver::results_type results) {
                              if (self->finished_) return;
                              if (ec)
                                return self->fail("UNAVAILABLE: resolve " + self->target_.host, ec);
                              self->connect(results);
                            });
  }

  // The prober is cancelling: drop the result.
  void cancel() {
    finished_ = true;
    close();
  }

 private:
  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : socket_; }

  void build_request() {
    request_.method(http::verb::get);
    request_.target(monitor_->path);
    request_.version(11);
    request_.set(http::field::host, host_header(target_));
    request_.set(http::field::user_agent, kUserAgent);
    request_.set(http::field::accept, "*/*");
    request_.set(http::field::connection, "close");
    // Validated: token names, values without CR/LF. A custom Host replaces the default.
    for (const auto& h : monitor_->custom_headers) request_.set(h.name, h.value);
  }

  template <typename Endpoints>
  void connect(const Endpoints& endpoints) {
    asio::async_connect(
        lowest(), endpoints,
        [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint&) {
          if (self->finished_) return;
          if (ec) {
            return self->fail("UNAVAILABLE: connect " + host_header(self->target_), ec);
          }
          self->tls_ ? self->handshake() : self->write_request();
        });
  }

  void handshake() {
    // A region of the topology must present its own certificate of the CA; other endpoints'
    // certificates are not checked (their context verifies nothing). SNI names the host.
    if (!net::expect_https_peer(tls_->native_handle(), expected_peer_, target_.host)) {
      return finish(model::ProbeOutcome::kFailure,
                    "UNAVAILABLE: TLS: cannot require the certificate of '" + expected_peer_ + "'",
                    "");
    }
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (self->finished_) return;
                            if (ec) return self->fail("UNAVAILABLE: TLS handshake", ec);
                            self->write_request();
                          });
  }

  void write_request() {
    auto done = [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
      if (self->finished_) return;
      if (ec) return self->fail("UNAVAILABLE: send request", ec);
      self->read_response();
    };
    if (tls_) {
      http::async_write(*tls_, request_, std::move(done));
    } else {
      http::async_write(socket_, request_, std::move(done));
    }
  }

  void read_response() {
    parser_.header_limit(kMaxResponseHeaderBytes);
    parser_.body_limit(kMaxResponseBodyBytes);
    auto done = [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
      self->on_response(ec);
    };
    if (tls_) {
      http::async_read(*tls_, buffer_, parser_, std::move(done));
    } else {
      http::async_read(socket_, buffer_, parser_, std::move(done));
    }
  }

  void on_response(const boost::system::error_code& ec) {
    if (finished_) return;
    // Only the status code decides (Azure); a body cut short or too long does not matter once
    // the status line and headers are in.
    if (ec && !parser_.is_header_done()) return fail("UNAVAILABLE: read response", ec);
    const auto& response = parser_.get();
    int code = static_cast<int>(response.result_int());
    std::string status_line = "HTTP " + std::to_string(code);
    if (!response.reason().empty()) status_line += " " + std::string(response.reason());
    auto epoch = response.find(net::kEpochHeader);
    auto role = response.find(net::kRoleHeader);
    if (epoch != response.end() && role != response.end()) {
      claim_ = parse_region_claim(std::string_view(epoch->value().data(), epoch->value().size()),
                                  std::string_view(role->value().data(), role->value().size()));
    }
    if (model::is_expected_status_code(*monitor_, code)) {
      return finish(model::ProbeOutcome::kSuccess, "", status_line);
    }
    std::string why = reason_from_body(response.body());
    finish(model::ProbeOutcome::kFailure, status_line + (why.empty() ? "" : ": " + why), "");
  }

  void fail(const std::string& what, const boost::system::error_code& ec) {
    finish(model::ProbeOutcome::kFailure, what + ": " + ec.message(), "");
  }

  void finish(model::ProbeOutcome outcome, std::string error, std::string detail) {
    if (finished_) return;
    finished_ = true;
    close();
    ProbeResult result{endpoint_,         outcome, std::move(error), clock_.now() - started_,
                       std::move(detail), claim_};
    if (auto handler = handler_.lock()) (*handler)(result);
  }

  void close() {
    boost::system::error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    lowest().close(ignored);
  }

  const Clock& clock_;
  std::shared_ptr<const model::TmMonitorConfig> monitor_;
  std::shared_ptr<ssl::context> tls_context_;
  const std::string expected_peer_;  // the identity the server must be ("": any, or unchecked)
  const size_t endpoint_;
  const HostPort target_;
  std::weak_ptr<ResultHandler> handler_;
  asio::steady_timer deadline_;
  tcp::resolver resolver_;
  tcp::socket socket_;                           // HTTP
  std::optional<ssl::stream<tcp::socket>> tls_;  // HTTPS
  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  Time started_;
  bool finished_ = false;
  std::optional<model::RegionClaim> claim_;  // from the response headers, if any
};

HttpProber::HttpProber(asio::io_context& io, const Clock& clock, const net::Transport& transport,
                       const model::TmMonitorConfig& monitor,
                       const std::vector<std::string>& targets,
                       const std::vector<std::string>& peers, ResultHandler on_result)
    : io_(io),
      clock_(clock),
      monitor_(std::make_shared<const model::TmMonitorConfig>(monitor)),
      handler_(std::make_shared<ResultHandler>(std::move(on_result))) {
  DRSIM_CHECK(monitor.protocol == model::TmProbeProtocol::kHttp ||
              monitor.protocol == model::TmProbeProtocol::kHttps);
  DRSIM_CHECK(monitor.validate(model::TmTimingRules::kScaled).is_ok());
  for (const auto& t : targets) {
    auto split = config::parse_host_port("probe target", t, config::PortZero::kRefused);
    DRSIM_CHECK(split.is_ok());
    targets_.push_back(std::move(split).value());
  }
  DRSIM_CHECK(peers.size() == targets_.size());
  std::shared_ptr<ssl::context> unverified, verified;
  if (monitor.protocol == model::TmProbeProtocol::kHttps) {
    unverified = std::make_shared<ssl::context>(ssl::context::tls_client);
    // Azure's HTTPS probes do not validate the certificate; neither does drsim, for an endpoint
    // that is not one of the topology's regions.
    unverified->set_verify_mode(ssl::verify_none);
  }
  if (transport.security() == net::TransportSecurity::kMutualTls) {
    const tls::IdentityPem& identity = transport.identity_pem();
    auto made = net::https_client_context(identity.ca_pem, &identity);
    DRSIM_CHECK(made.is_ok());  // the PEM text gRPC's credentials were made of
    verified = std::move(made).value();
  }
  for (const auto& peer : peers) {
    // With mTLS a region serves HTTPS only (its --http-listen): an http or https probe of an
    // endpoint named for a region speaks HTTPS and requires that region's certificate.
    if (verified && !peer.empty()) {
      tls_.push_back({verified, peer});
    } else {
      tls_.push_back({unverified, ""});
    }
  }
}

HttpProber::~HttpProber() { cancel_all(); }

void HttpProber::probe(size_t endpoint) {
  DRSIM_CHECK(endpoint < targets_.size());
  calls_.start(std::make_shared<Call>(io_, clock_, monitor_, tls_[endpoint], endpoint,
                                      targets_[endpoint], handler_));
}

void HttpProber::cancel_all() {
  handler_.reset();
  calls_.cancel_all();
}

}  // namespace drsim::trafficmgr
