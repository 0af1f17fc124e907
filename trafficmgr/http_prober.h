// HttpProber: Traffic Manager's HTTP and HTTPS probe. Each probe opens a connection to the
// endpoint's probe address, sends GET <path> with the custom headers, and succeeds when the
// status code is one of the expected ranges (model::is_expected_status_code); redirects are not
// followed. HTTPS does not validate the certificate, like Azure's probes — except of an endpoint
// named for one of the topology's regions when the Traffic Manager speaks mTLS: the regions then
// serve HTTPS only, so an http or https probe of one speaks HTTPS and requires that region's
// certificate of the topology's CA (docs/security.md). Runs on the loop's io_context; the probe
// timeout bounds connect, handshake, request and response together.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/model/trafficmgr/monitor_config.h"
#include "common/net/transport.h"
#include "trafficmgr/prober.h"

namespace boost::asio::ssl {
class context;
}

namespace drsim::trafficmgr {

class HttpProber final : public Prober {
 public:
  // monitor.protocol is kHttp or kHttps and monitor is valid (checked); targets are host:port
  // (checked), one per endpoint; peers (probe_peers) one per target, "" for an endpoint that is
  // not a region of the topology. `clock` (the process's) times each probe.
  HttpProber(boost::asio::io_context& io, const Clock& clock, const net::Transport& transport,
             const model::TmMonitorConfig& monitor, const std::vector<std::string>& targets,
             const std::vector<std::string>& peers, ResultHandler on_result);
  ~HttpProber() override;

  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;

  void probe(size_t endpoint) override;
  void cancel_all() override;

 private:
  class Call;
  // How one endpoint is probed: plain HTTP (no context), HTTPS unverified (Azure's), or HTTPS
  // requiring `peer`'s certificate of the topology's CA.
  struct EndpointTls {
    std::shared_ptr<boost::asio::ssl::context> context;
    std::string peer;
  };

  boost::asio::io_context& io_;
  const Clock& clock_;
  std::shared_ptr<const model::TmMonitorConfig> monitor_;
  std::vector<HostPort> targets_;
  std::vector<EndpointTls> tls_;  // one per target
  std::shared_ptr<ResultHandler> handler_;
  CallsInFlight<Call> calls_;
};

}  // namespace drsim::trafficmgr
