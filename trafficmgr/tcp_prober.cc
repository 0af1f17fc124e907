#include "trafficmgr/tcp_prober.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/core/check.h"
#include "common/core/clock.h"
#include "common/model/trafficmgr/monitor_config.h"

namespace drsim::trafficmgr {

namespace asio = boost::asio;
using asio::ip::tcp;

// One probe: resolve (unless the host is an IP) and connect. Owned by its pending operation's
// handler; finishes exactly once, by the connection, an error or the deadline.
class TcpProber::Call : public std::enable_shared_from_this<Call> {
 public:
  Call(asio::io_context& io, const Clock& clock, size_t endpoint, HostPort target, Duration timeout,
       std::weak_ptr<ResultHandler> handler)
      : clock_(clock),
        endpoint_(endpoint),
        target_(std::move(target)),
        timeout_(timeout),
        handler_(std::move(handler)),
        deadline_(io),
        resolver_(io),
        socket_(io) {}

  void start() {
    started_ = clock_.now();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        self->finish(model::ProbeOutcome::kFailure, "DEADLINE_EXCEEDED: no connection within " +
                                                        model::tm_format_ms(self->timeout_));
      }
    });
    boost::system::error_code not_an_ip;
    auto ip = asio::ip::make_address(target_.host, not_an_ip);
    if (!not_an_ip) {
      std::vector<tcp::endpoint> endpoints{tcp::endpoint(ip, target_.port)};
      connect(endpoints);
      return;
    }
    resolver_.async_resolve(
        target_.host, std::to_string(target_.port),
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    tcp::resolver::results_type results) {
          if (self->finished_) return;
          if (ec) {
            return self->finish(model::ProbeOutcome::kFailure,
                                "UNAVAILABLE: resolve " + self->target_.host + ": " + ec.message());
          }
          self->connect(results);
        });
  }

  void cancel() {
    finished_ = true;
    close();
  }

 private:
  template <typename Endpoints>
  void connect(const Endpoints& endpoints) {
    asio::async_connect(
        socket_, endpoints,
        [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint&) {
          if (self->finished_) return;
          if (ec) {
            return self->finish(model::ProbeOutcome::kFailure,
                                "UNAVAILABLE: connect " + self->target_.host + ":" +
                                    std::to_string(self->target_.port) + ": " + ec.message());
          }
          self->finish(model::ProbeOutcome::kSuccess, "");
        });
  }

  void finish(model::ProbeOutcome outcome, std::string error) {
    if (finished_) return;
    finished_ = true;
    close();
    // A TCP connect carries no claim of the region's epoch or role.
    ProbeResult result{endpoint_,
                       outcome,
                       std::move(error),
                       clock_.now() - started_,
                       outcome == model::ProbeOutcome::kSuccess ? "connected" : "",
                       std::nullopt};
    if (auto handler = handler_.lock()) (*handler)(result);
  }

  void close() {
    boost::system::error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
  }

  const Clock& clock_;
  const size_t endpoint_;
  const HostPort target_;
  const Duration timeout_;
  std::weak_ptr<ResultHandler> handler_;
  asio::steady_timer deadline_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  Time started_;
  bool finished_ = false;
};

TcpProber::TcpProber(asio::io_context& io, const Clock& clock,
                     const std::vector<std::string>& targets, Duration timeout,
                     ResultHandler on_result)
    : io_(io),
      clock_(clock),
      timeout_(timeout),
      handler_(std::make_shared<ResultHandler>(std::move(on_result))) {
  DRSIM_CHECK(timeout > Duration::zero());
  for (const auto& t : targets) {
    auto split = config::parse_host_port("probe target", t, config::PortZero::kRefused);
    DRSIM_CHECK(split.is_ok());
    targets_.push_back(std::move(split).value());
  }
}

TcpProber::~TcpProber() { cancel_all(); }

void TcpProber::probe(size_t endpoint) {
  DRSIM_CHECK(endpoint < targets_.size());
  calls_.start(
      std::make_shared<Call>(io_, clock_, endpoint, targets_[endpoint], timeout_, handler_));
}

void TcpProber::cancel_all() {
  handler_.reset();
  calls_.cancel_all();
}

}  // namespace drsim::trafficmgr
