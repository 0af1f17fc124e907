#include "trafficmgr/prober.h"

#include <algorithm>

#include "common/core/check.h"
#include "trafficmgr/grpc_health_prober.h"
#include "trafficmgr/http_prober.h"
#include "trafficmgr/tcp_prober.h"

namespace drsim::trafficmgr {

std::vector<std::string> probe_peers(const ProberConfig& config,
                                     const std::vector<std::string>& regions) {
  std::vector<std::string> peers;
  for (size_t i = 0; i < config.targets.size(); ++i) {
    const std::string name = i < config.names.size() ? config.names[i] : "";
    bool region = std::find(regions.begin(), regions.end(), name) != regions.end();
    peers.push_back(region ? name : std::string(net::kAnyPeer));
  }
  return peers;
}

std::unique_ptr<Prober> make_prober(boost::asio::io_context& io, const Clock& clock,
                                    const net::Transport& transport, const ProberConfig& config,
                                    const std::vector<std::string>& regions,
                                    Prober::ResultHandler on_result) {
  switch (config.monitor.protocol) {
    case model::TmProbeProtocol::kGrpcHealth:
      return std::make_unique<GrpcHealthProber>(io, clock, transport, config.targets,
                                                probe_peers(config, regions),
                                                config.health_service,
                                                config.monitor.timeout, std::move(on_result));
    case model::TmProbeProtocol::kHttp:
    case model::TmProbeProtocol::kHttps:
      return std::make_unique<HttpProber>(io, clock, transport, config.monitor, config.targets,
                                          probe_peers(config, regions), std::move(on_result));
    case model::TmProbeProtocol::kTcp:
      return std::make_unique<TcpProber>(io, clock, config.targets, config.monitor.timeout,
                                         std::move(on_result));
  }
  DRSIM_CHECK(false);
  return nullptr;
}

std::optional<model::RegionClaim> parse_region_claim(std::string_view epoch,
                                                     std::string_view role) {
  if (epoch.empty() || epoch.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : epoch) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  model::Role r;
  if (role == "active") {
    r = model::Role::kActive;
  } else if (role == "standby") {
    r = model::Role::kStandby;
  } else {
    return std::nullopt;
  }
  return model::RegionClaim{Epoch(value), r};
}

}  // namespace drsim::trafficmgr
