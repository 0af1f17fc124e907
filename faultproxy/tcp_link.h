// TcpLink: one named link of drsim-faultproxy — an acceptor on 127.0.0.1 (ephemeral port) whose
// connections are forwarded to an upstream, each direction passing through a model::LinkFault.
// Lives on the daemon's one io_context thread; the FaultProxy service drives it from there.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/core/clock.h"
#include "common/core/status.h"
#include "common/model/faults/link_fault.h"

namespace drsim::faultproxy {

enum class Direction : int {
  kUp = 0,    // client -> upstream
  kDown = 1,  // upstream -> client
};
inline constexpr int kDirectionCount = 2;
const char* direction_name(Direction d);

struct DirectionCounters {
  uint64_t bytes = 0;          // forwarded
  uint64_t dropped_bytes = 0;  // discarded by a drop partition
  uint64_t queued_bytes = 0;   // waiting now, over all open connections
};

struct LinkCounters {
  uint64_t connections_total = 0;
  uint64_t connections_open = 0;
  uint64_t connections_reset = 0;
  DirectionCounters up;
  DirectionCounters down;
};

class TcpLink : public std::enable_shared_from_this<TcpLink> {
 public:
  // Back-pressure: a connection stops reading a direction while this much waits in it, so a
  // blackhole or a slow cap pushes back on the sender through TCP instead of growing memory.
  static constexpr size_t kMaxQueuedBytes = 4 * 1024 * 1024;
  static constexpr size_t kReadChunkBytes = 16 * 1024;

  // Listens on `listen_host`:0 (127.0.0.1, or the fault proxy's own address in a netns
  // topology). `upstream` must be a resolved address (no DNS on the loop); the
  // error names the link when the socket cannot be bound. Release times are read from `clock`
  // (the process's; real time, as the link's Asio timers wait on it).
  static Result<std::shared_ptr<TcpLink>> open(boost::asio::io_context& io, const Clock& clock,
                                               std::string name,
                                               boost::asio::ip::tcp::endpoint upstream,
                                               std::string upstream_text, uint64_t seed,
                                               const boost::asio::ip::address& listen_host);
  ~TcpLink();

  const std::string& name() const { return name_; }
  const std::string& listen_address() const { return listen_address_; }
  const std::string& upstream() const { return upstream_text_; }

  // Set faults through this, then call faults_changed().
  model::LinkFault& fault(Direction d) { return faults_[static_cast<int>(d)]; }
  const model::LinkFault& fault(Direction d) const { return faults_[static_cast<int>(d)]; }
  // Held chunks are decided again, drop partitions discard what waits, writing resumes.
  void faults_changed();
  // RST (SO_LINGER 0) on both sockets of every open connection.
  void reset_connections();
  // Stops accepting and resets every connection; the link is unusable afterwards.
  void close();

  LinkCounters counters() const;

 private:
  class Connection;
  friend class Connection;

  TcpLink(boost::asio::io_context& io, const Clock& clock, std::string name,
          boost::asio::ip::tcp::endpoint upstream, std::string upstream_text, uint64_t seed);
  void accept_next();
  void on_connection_closed(uint64_t id);

  boost::asio::io_context& io_;
  const Clock& clock_;
  std::string name_;
  boost::asio::ip::tcp::endpoint upstream_;
  std::string upstream_text_;
  std::string listen_address_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::array<model::LinkFault, kDirectionCount> faults_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  uint64_t next_connection_id_ = 1;
  LinkCounters counters_;  // queued_bytes is summed on demand
  bool closed_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace drsim::faultproxy
