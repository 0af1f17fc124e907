// HttpProber: Traffic Manager's HTTP and HTTPS probe. Each probe opens a connection to the
// endpoint's probe address, sends GET <path> with the custom headers, and succeeds when the
// status code is one of the expected ranges (model::is_expected_status_code); redirects are not
// followed. HTTPS does not validate the certificate, like Azure's probes. Runs on the loop's
// io_context; the probe timeout bounds connect, handshake, request and response together.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/model/trafficmgr/monitor_config.h"
#include "trafficmgr/prober.h"

namespace boost::asio::ssl {
class context;
}

namespace drsim::trafficmgr {

class HttpProber final : public Prober {
 public:
  // monitor.protocol is kHttp or kHttps and monitor is valid (checked); targets are host:port
  // (checked), one per endpoint.
  // `clock` (the process's) times each probe.
  HttpProber(boost::asio::io_context& io, const Clock& clock, const model::TmMonitorConfig& monitor,
             const std::vector<std::string>& targets, ResultHandler on_result);
  ~HttpProber() override;

  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;

  void probe(size_t endpoint) override;
  void cancel_all() override;

 private:
  class Call;

  boost::asio::io_context& io_;
  const Clock& clock_;
  std::shared_ptr<const model::TmMonitorConfig> monitor_;
  std::vector<HostPort> targets_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // HTTPS only
  std::shared_ptr<ResultHandler> handler_;
  CallsInFlight<Call> calls_;
};

}  // namespace drsim::trafficmgr
