#include "faultproxy/fault_proxy_service.h"

#include <cctype>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "common/config/listen_address.h"
#include "common/net/grpc_util.h"

namespace drsim::faultproxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds ms(uint64_t v) { return std::chrono::milliseconds(v); }

// "host:port" with an IP literal (brackets for IPv6) or localhost; no DNS on the loop.
Result<tcp::endpoint> parse_upstream(const std::string& text) {
  if (text.empty()) return invalid_argument("upstream: must not be empty (host:port)");
  if (text.size() > 300) return invalid_argument("upstream: longer than 300 bytes");
  auto parsed = config::parse_host_port("upstream", text, config::PortZero::kRefused);
  if (!parsed.is_ok()) return parsed.status();
  const std::string host = parsed->host == "localhost" ? "127.0.0.1" : parsed->host;
  boost::system::error_code addr_ec;
  auto address = asio::ip::make_address(host, addr_ec);
  if (addr_ec) {
    return invalid_argument("upstream: '" + text + "' needs an IP address or localhost as host");
  }
  return tcp::endpoint(address, parsed->port);
}

Result<std::vector<Direction>> parse_direction(v1::Direction d) {
  switch (d) {
    case v1::DIRECTION_UP:
      return std::vector<Direction>{Direction::kUp};
    case v1::DIRECTION_DOWN:
      return std::vector<Direction>{Direction::kDown};
    case v1::DIRECTION_BOTH:
      return std::vector<Direction>{Direction::kUp, Direction::kDown};
    default:
      return invalid_argument("direction: " + std::to_string(static_cast<int>(d)) +
                              " is not DIRECTION_UP, DIRECTION_DOWN or DIRECTION_BOTH");
  }
}

void to_proto(const model::LinkFault& fault, v1::LinkDirectionState* out) {
  const model::FaultSet& set = fault.faults();
  if (set.partition) {
    out->add_faults()->mutable_partition()->set_mode(*set.partition == model::PartitionMode::kDrop
                                                         ? v1::PARTITION_DROP
                                                         : v1::PARTITION_BLACKHOLE);
  }
  if (set.latency) {
    auto* l = out->add_faults()->mutable_latency();
    l->set_latency_ms(whole_ms(set.latency->latency));
    l->set_jitter_ms(whole_ms(set.latency->jitter));
  }
  if (set.bandwidth) {
    auto* b = out->add_faults()->mutable_bandwidth();
    b->set_bytes_per_second(set.bandwidth->bytes_per_second);
    b->set_burst_bytes(set.bandwidth->burst_bytes);
  }
  if (set.stall) {
    auto* s = out->add_faults()->mutable_stall();
    s->set_stall_ms(whole_ms(set.stall->stall));
    s->set_interval_ms(whole_ms(set.stall->interval));
  }
  if (set.reset_new_connections) out->add_faults()->mutable_reset()->set_mode(v1::RESET_KEEP);
}

void to_proto(const DirectionCounters& c, v1::LinkDirectionState* out) {
  out->set_bytes(c.bytes);
  out->set_dropped_bytes(c.dropped_bytes);
  out->set_queued_bytes(c.queued_bytes);
}

}  // namespace

Status validate_link_name(const std::string& field, const std::string& name) {
  if (name.empty()) return invalid_argument(field + ": must not be empty");
  if (name.size() > FaultProxyService::kMaxLinkNameBytes) {
    return invalid_argument(field + ": longer than " +
                            std::to_string(FaultProxyService::kMaxLinkNameBytes) + " bytes");
  }
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) {
      return invalid_argument(field + ": '" + name + "' may hold only A-Z a-z 0-9 . _ -");
    }
  }
  return Status::ok();
}

FaultProxyService::FaultProxyService(asio::io_context& io, const Clock& clock, uint64_t seed,
                                     asio::ip::address link_host)
    : io_(io), clock_(clock), seed_(seed), link_host_(std::move(link_host)) {}

void FaultProxyService::stop() {
  stopped_ = true;
  for (auto& [name, link] : links_) link->close();
  links_.clear();
}

template <typename Op>
grpc::ServerUnaryReactor* FaultProxyService::on_loop(grpc::CallbackServerContext* ctx, Op op) {
  auto* reactor = ctx->DefaultReactor();
  // The request and response live until Finish, so the loop may use them through `op`.
  asio::post(io_, [this, reactor, op = std::move(op)]() mutable {
    Status status = stopped_ ? Status(StatusCode::kUnavailable, "fault proxy is stopping") : op();
    reactor->Finish(net::to_grpc(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* FaultProxyService::AddLink(grpc::CallbackServerContext* ctx,
                                                     const v1::AddLinkRequest* request,
                                                     v1::AddLinkResponse* response) {
  return on_loop(ctx, [=, this] { return add_link(*request, response); });
}
grpc::ServerUnaryReactor* FaultProxyService::RemoveLink(grpc::CallbackServerContext* ctx,
                                                        const v1::RemoveLinkRequest* request,
                                                        v1::RemoveLinkResponse* response) {
  return on_loop(ctx, [=, this] { return remove_link(*request); });
}
grpc::ServerUnaryReactor* FaultProxyService::SetFault(grpc::CallbackServerContext* ctx,
                                                      const v1::SetFaultRequest* request,
                                                      v1::SetFaultResponse* response) {
  return on_loop(ctx, [=, this] { return set_fault(*request); });
}
grpc::ServerUnaryReactor* FaultProxyService::Heal(grpc::CallbackServerContext* ctx,
                                                  const v1::HealRequest* request,
                                                  v1::HealResponse* response) {
  return on_loop(ctx, [=, this] { return heal(*request, response); });
}
grpc::ServerUnaryReactor* FaultProxyService::ListLinks(grpc::CallbackServerContext* ctx,
                                                       const v1::ListLinksRequest* request,
                                                       v1::ListLinksResponse* response) {
  return on_loop(ctx, [=, this] {
    list_links(response);
    return Status::ok();
  });
}

Result<TcpLink*> FaultProxyService::find_link(const std::string& field, const std::string& name) {
  if (Status s = validate_link_name(field, name); !s.is_ok()) return s;
  auto it = links_.find(name);
  if (it == links_.end()) return not_found(field + ": no link named '" + name + "'");
  return it->second.get();
}

Status FaultProxyService::add_link(const v1::AddLinkRequest& request,
                                   v1::AddLinkResponse* response) {
  if (Status s = validate_link_name("name", request.name()); !s.is_ok()) return s;
  auto upstream = parse_upstream(request.upstream());
  if (!upstream.is_ok()) return upstream.status();
  if (links_.count(request.name())) {
    return Status(StatusCode::kAlreadyExists, "name: link '" + request.name() +
                                                  "' already exists (listening on " +
                                                  links_[request.name()]->listen_address() + ")");
  }
  if (links_.size() >= kMaxLinks) {
    return Status(StatusCode::kResourceExhausted,
                  "already " + std::to_string(kMaxLinks) + " links; remove one first");
  }
  auto link = TcpLink::open(io_, clock_, request.name(), *upstream, request.upstream(), seed_,
                            link_host_);
  if (!link.is_ok()) return link.status();
  response->set_listen_address((*link)->listen_address());
  links_.emplace(request.name(), std::move(link).value());
  return Status::ok();
}

Status FaultProxyService::remove_link(const v1::RemoveLinkRequest& request) {
  auto link = find_link("name", request.name());
  if (!link.is_ok()) return link.status();
  (*link)->close();
  links_.erase(request.name());
  spdlog::info("link {} removed", request.name());
  return Status::ok();
}

Status FaultProxyService::set_fault(const v1::SetFaultRequest& request) {
  auto found = find_link("link", request.link());
  if (!found.is_ok()) return found.status();
  TcpLink* link = *found;
  auto directions = parse_direction(request.direction());
  if (!directions.is_ok()) return directions.status();
  const v1::Fault& fault = request.fault();
  // Every field is checked before any direction changes, so a bad request changes nothing.
  switch (fault.kind_case()) {
    case v1::Fault::kPartition: {
      auto mode = fault.partition().mode();
      if (mode != v1::PARTITION_BLACKHOLE && mode != v1::PARTITION_DROP) {
        return invalid_argument("fault.partition.mode: " + std::to_string(mode) +
                                " is not PARTITION_BLACKHOLE or PARTITION_DROP");
      }
      auto m = mode == v1::PARTITION_DROP ? model::PartitionMode::kDrop
                                          : model::PartitionMode::kBlackhole;
      for (Direction d : *directions) link->fault(d).set_partition(m);
      // TCP never loses bytes in the middle of a connection: a dropped packet is sent again,
      // or the connection dies. So a drop partition resets the open connections (as iptables
      // REJECT with tcp-reset does) instead of discarding bytes from them, which would corrupt
      // the protocol on top (an HTTP/2 stream would wait forever for a lost frame).
      if (m == model::PartitionMode::kDrop) link->reset_connections();
      break;
    }
    case v1::Fault::kLatency: {
      model::LatencyFault f{ms(fault.latency().latency_ms()), ms(fault.latency().jitter_ms())};
      if (Status s = model::validate(f, "fault.latency"); !s.is_ok()) return s;
      for (Direction d : *directions) link->fault(d).set_latency(f);
      break;
    }
    case v1::Fault::kBandwidth: {
      uint64_t rate = fault.bandwidth().bytes_per_second();
      uint64_t burst = fault.bandwidth().burst_bytes();
      model::BandwidthFault f{rate, burst == 0 ? model::default_burst_bytes(rate) : burst};
      if (Status s = model::validate(f, "fault.bandwidth"); !s.is_ok()) return s;
      Time t = clock_.now();
      for (Direction d : *directions) link->fault(d).set_bandwidth(f, t);
      break;
    }
    case v1::Fault::kStall: {
      model::StallFault f{ms(fault.stall().stall_ms()), ms(fault.stall().interval_ms())};
      if (Status s = model::validate(f, "fault.stall"); !s.is_ok()) return s;
      Time t = clock_.now();
      for (Direction d : *directions) link->fault(d).set_stall(f, t);
      break;
    }
    case v1::Fault::kReset: {
      auto mode = fault.reset().mode();
      if (mode != v1::RESET_ONCE && mode != v1::RESET_KEEP) {
        return invalid_argument("fault.reset.mode: " + std::to_string(mode) +
                                " is not RESET_ONCE or RESET_KEEP");
      }
      auto m = mode == v1::RESET_KEEP ? model::ResetMode::kKeep : model::ResetMode::kOnce;
      for (Direction d : *directions) link->fault(d).set_reset(m);
      link->reset_connections();
      break;
    }
    default:
      return invalid_argument("fault: no kind set (partition, latency, bandwidth, reset, stall)");
  }
  link->faults_changed();
  spdlog::info("link {}: fault {} set on {}", link->name(), fault.ShortDebugString(),
               v1::Direction_Name(request.direction()));
  return Status::ok();
}

Status FaultProxyService::heal(const v1::HealRequest& request, v1::HealResponse* response) {
  std::vector<TcpLink*> targets;
  if (request.all()) {
    if (!request.link().empty()) return invalid_argument("link: must be empty when all is set");
    for (auto& [name, link] : links_) targets.push_back(link.get());
  } else {
    auto found = find_link("link", request.link());
    if (!found.is_ok()) return found.status();
    targets.push_back(*found);
  }
  for (TcpLink* link : targets) {
    link->fault(Direction::kUp).heal();
    link->fault(Direction::kDown).heal();
    link->faults_changed();
    spdlog::info("link {} healed", link->name());
  }
  response->set_healed_links(static_cast<uint32_t>(targets.size()));
  return Status::ok();
}

void FaultProxyService::list_links(v1::ListLinksResponse* response) const {
  for (const auto& [name, link] : links_) {
    auto* info = response->add_links();
    info->set_name(name);
    info->set_listen_address(link->listen_address());
    info->set_upstream(link->upstream());
    LinkCounters c = link->counters();
    info->set_connections_total(c.connections_total);
    info->set_connections_open(c.connections_open);
    info->set_connections_reset(c.connections_reset);
    to_proto(c.up, info->mutable_up());
    to_proto(c.down, info->mutable_down());
    to_proto(link->fault(Direction::kUp), info->mutable_up());
    to_proto(link->fault(Direction::kDown), info->mutable_down());
  }
}

}  // namespace drsim::faultproxy
