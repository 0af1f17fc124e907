// TcpProber: Traffic Manager's TCP probe. A probe succeeds when a TCP connection to the
// endpoint's probe address is established within the probe timeout; it is closed at once.
// Runs on the loop's io_context.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/core/time.h"
#include "trafficmgr/prober.h"

namespace drsim::trafficmgr {

class TcpProber final : public Prober {
 public:
  // targets are host:port (checked), one per endpoint.
  // `clock` (the process's) times each probe.
  TcpProber(boost::asio::io_context& io, const Clock& clock,
            const std::vector<std::string>& targets, Duration timeout, ResultHandler on_result);
  ~TcpProber() override;

  TcpProber(const TcpProber&) = delete;
  TcpProber& operator=(const TcpProber&) = delete;

  void probe(size_t endpoint) override;
  void cancel_all() override;

 private:
  class Call;

  boost::asio::io_context& io_;
  const Clock& clock_;
  std::vector<HostPort> targets_;
  const Duration timeout_;
  std::shared_ptr<ResultHandler> handler_;
  CallsInFlight<Call> calls_;
};

}  // namespace drsim::trafficmgr
