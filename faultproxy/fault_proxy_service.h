// The drsim.v1.FaultProxy gRPC service: adds and removes links, sets and heals their faults and
// lists them with counters. Handlers copy nothing but pointers, post to the io_context that owns
// every TcpLink, validate there and Finish from the loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/core/clock.h"
#include "common/core/status.h"
#include "drsim/v1/faultproxy.grpc.pb.h"
#include "faultproxy/tcp_link.h"

namespace drsim::faultproxy {

class FaultProxyService final : public v1::FaultProxy::CallbackService {
 public:
  static constexpr size_t kMaxLinks = 1000;
  static constexpr size_t kMaxLinkNameBytes = 64;

  // `seed` feeds every link's jitter and stall generators (mixed with the link name); `clock`
  // is the process's; links listen on `link_host` (the host of the proxy's --listen).
  FaultProxyService(boost::asio::io_context& io, const Clock& clock, uint64_t seed,
                    boost::asio::ip::address link_host);

  // On the loop: closes every link; later requests get UNAVAILABLE.
  void stop();

  grpc::ServerUnaryReactor* AddLink(grpc::CallbackServerContext* ctx,
                                    const v1::AddLinkRequest* request,
                                    v1::AddLinkResponse* response) override;
  grpc::ServerUnaryReactor* RemoveLink(grpc::CallbackServerContext* ctx,
                                       const v1::RemoveLinkRequest* request,
                                       v1::RemoveLinkResponse* response) override;
  grpc::ServerUnaryReactor* SetFault(grpc::CallbackServerContext* ctx,
                                     const v1::SetFaultRequest* request,
                                     v1::SetFaultResponse* response) override;
  grpc::ServerUnaryReactor* Heal(grpc::CallbackServerContext* ctx, const v1::HealRequest* request,
                                 v1::HealResponse* response) override;
  grpc::ServerUnaryReactor* ListLinks(grpc::CallbackServerContext* ctx,
                                      const v1::ListLinksRequest* request,
                                      v1::ListLinksResponse* response) override;

 private:
  // Each runs on the loop.
  Status add_link(const v1::AddLinkRequest& request, v1::AddLinkResponse* response);
  Status remove_link(const v1::RemoveLinkRequest& request);
  Status set_fault(const v1::SetFaultRequest& request);
  Status heal(const v1::HealRequest& request, v1::HealResponse* response);
  void list_links(v1::ListLinksResponse* response) const;

  // NOT_FOUND for an unknown name, INVALID_ARGUMENT for a malformed one.
  Result<TcpLink*> find_link(const std::string& field, const std::string& name);

  // Runs `op` on the loop and finishes the call there with its status.
  template <typename Op>
  grpc::ServerUnaryReactor* on_loop(grpc::CallbackServerContext* ctx, Op op);

  boost::asio::io_context& io_;
  const Clock& clock_;
  uint64_t seed_;
  boost::asio::ip::address link_host_;
  std::map<std::string, std::shared_ptr<TcpLink>> links_;
  bool stopped_ = false;
};

// INVALID_ARGUMENT naming `field` unless 1..64 of [A-Za-z0-9._-].
Status validate_link_name(const std::string& field, const std::string& name);

}  // namespace drsim::faultproxy
