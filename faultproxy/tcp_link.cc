#include "faultproxy/tcp_link.h"

#include <deque>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "common/config/listen_address.h"
#include "common/net/close_on_exec.h"

namespace drsim::faultproxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

// FNV-1a: a stable hash, so a link's generators depend on the seed and its name only.
uint64_t stable_hash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Sends RST instead of FIN when the socket is closed.
void set_reset_on_close(tcp::socket& socket) {
  error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
}

}  // namespace

const char* direction_name(Direction d) { return d == Direction::kUp ? "up" : "down"; }

// One proxied connection: the client socket, the upstream socket and a Pipe per direction.
// Every handler holds the connection alive and checks closed_ first, because closing cancels
// operations whose handlers still run afterwards.
class TcpLink::Connection : public std::enable_shared_from_this<TcpLink::Connection> {
 public:
  enum class CloseMode { kGraceful, kReset };

  Connection(std::shared_ptr<TcpLink> link, uint64_t id, tcp::socket client)
      : link_(std::move(link)),
        id_(id),
        client_(std::move(client)),
        upstream_(link_->io_),
        pipes_{Pipe(*this, Direction::kUp, client_, upstream_),
               Pipe(*this, Direction::kDown, upstream_, client_)} {}

  void start() {
    upstream_.async_connect(link_->upstream_, [self = shared_from_this()](const error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        self->link_->log_->warn("link {}: upstream {} refused connection {}: {}",
                                self->link_->name_, self->link_->upstream_text_, self->id_,
                                ec.message());
        self->close(CloseMode::kReset);
        return;
      }
      error_code ignored;
      self->client_.set_option(tcp::no_delay(true), ignored);
      self->upstream_.set_option(tcp::no_delay(true), ignored);
      for (auto& pipe : self->pipes_) pipe.start_read();
    });
  }

  void faults_changed() {
    for (auto& pipe : pipes_) pipe.faults_changed();
  }
  uint64_t queued_bytes(Direction d) const { return pipes_[static_cast<int>(d)].queued_bytes(); }

  void close(CloseMode mode) {
    if (closed_) return;
    closed_ = true;
    if (mode == CloseMode::kReset) {
      set_reset_on_close(client_);
      set_reset_on_close(upstream_);
      ++link_->counters_.connections_reset;
    }
    error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
    for (auto& pipe : pipes_) pipe.stop();
    link_->on_connection_closed(id_);  // may drop the link's reference to this connection
  }

 private:
  // One direction: read from `from`, ask the model when each chunk may go, write to `to` in
  // order, one write in flight, one timer armed at the head chunk's release time.
  class Pipe {
   public:
    Pipe(Connection& conn, Direction dir, tcp::socket& from, tcp::socket& to)
        : conn_(conn), dir_(dir), from_(from), to_(to), timer_(to.get_executor()) {}

    uint64_t queued_bytes() const { return queued_bytes_; }

    void start_read() {
      if (reading_ || read_done_ || conn_.closed_ || queued_bytes_ >= kMaxQueuedBytes) return;
      reading_ = true;
      from_.async_read_some(asio::buffer(read_buf_),
                            [self = conn_.shared_from_this(), this](const error_code& ec,
                                                                    size_t n) { on_read(ec, n); });
    }

    void faults_changed() {
      if (conn_.closed_) return;
      model::LinkFault& fault = this->fault();
      if (fault.drops()) {
        // A drop partition discards what waits; a write already in flight is let finish.
        size_t keep = writing_ ? 1 : 0;
        while (queue_.size() > keep) {
          counters().dropped_bytes += queue_.back().data.size();
          queued_bytes_ -= queue_.back().data.size();
          queue_.pop_back();
        }
      } else if (!fault.holding()) {
        // Held chunks are at the back, behind any decided before the partition: decide them
        // again in order.
        Time t = now();
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (!it->held) {
            ++it;
            continue;
          }
          auto d = fault.decide(it->data.size(), t, last_release_);
          if (d.kind == model::ChunkDecision::Kind::kDrop) {
            counters().dropped_bytes += it->data.size();
            queued_bytes_ -= it->data.size();
            it = queue_.erase(it);
            continue;
          }
          if (d.kind == model::ChunkDecision::Kind::kForward) {
            it->held = false;
            it->release_at = d.release_at;
            last_release_ = d.release_at;
          }
          ++it;
        }
      }
      pump();
      start_read();
    }

    void stop() {
      error_code ignored;
      timer_.cancel(ignored);
      queue_.clear();
      queued_bytes_ = 0;
    }

   private:
    struct Chunk {
      std::vector<char> data;
      Time release_at = kTimeZero;
      bool held = false;
    };

    model::LinkFault& fault() { return conn_.link_->fault(dir_); }
    Time now() const { return conn_.link_->clock_.now(); }
    DirectionCounters& counters() {
      return dir_ == Direction::kUp ? conn_.link_->counters_.up : conn_.link_->counters_.down;
    }

    void on_read(const error_code& ec, size_t n) {
      reading_ = false;
      if (conn_.closed_) return;
      if (ec) {
        if (ec == asio::error::eof) {
          read_done_ = true;  // half-close: pass the FIN on once the queue has drained
          pump();
        } else {
          conn_.close(CloseMode::kReset);  // pass a reset on as a reset
        }
        return;
      }
      auto d = fault().decide(n, now(), last_release_);
      if (d.kind == model::ChunkDecision::Kind::kDrop) {
        counters().dropped_bytes += n;
      } else {
        Chunk chunk{std::vector<char>(read_buf_.begin(), read_buf_.begin() + n), d.release_at,
                    d.kind == model::ChunkDecision::Kind::kHold};
        if (!chunk.held) last_release_ = d.release_at;
        queued_bytes_ += n;
        queue_.push_back(std::move(chunk));
        pump();
      }
      start_read();
    }

    void pump() {
      if (conn_.closed_ || writing_) return;
      if (queue_.empty()) {
        if (read_done_ && !write_shut_) {
          write_shut_ = true;
          error_code ignored;
          to_.shutdown(tcp::socket::shutdown_send, ignored);
          conn_.maybe_finish();
        }
        return;
      }
      Chunk& head = queue_.front();
      if (head.held || fault().holding()) return;  // faults_changed() resumes
      if (head.release_at > now()) {
        arm(head.release_at);
        return;
      }
      writing_ = true;
      asio::async_write(to_, asio::buffer(head.data),
                        [self = conn_.shared_from_this(), this](const error_code& ec, size_t n) {
                          on_write(ec, n);
                        });
    }

    void on_write(const error_code& ec, size_t n) {
      writing_ = false;
      if (conn_.closed_) return;
      if (ec) {
        conn_.close(CloseMode::kReset);
        return;
      }
      counters().bytes += n;
      queued_bytes_ -= queue_.front().data.size();
      queue_.pop_front();
      pump();
      start_read();  // back-pressure may have paused reading
    }

    void arm(Time at) {
      if (armed_for_ == at) return;
      armed_for_ = at;
      timer_.expires_at(at);
      timer_.async_wait([self = conn_.shared_from_this(), this](const error_code& ec) {
        if (ec == asio::error::operation_aborted || conn_.closed_) return;
        armed_for_ = kNever;
        pump();
      });
    }

    Connection& conn_;
    Direction dir_;
    tcp::socket& from_;
    tcp::socket& to_;
    asio::steady_timer timer_;
    std::array<char, kReadChunkBytes> read_buf_{};
    std::deque<Chunk> queue_;
    uint64_t queued_bytes_ = 0;
    Time last_release_ = kTimeZero;
    Time armed_for_ = kNever;
    bool reading_ = false;
    bool writing_ = false;
    bool read_done_ = false;   // EOF from `from_`
    bool write_shut_ = false;  // FIN passed on to `to_`

    friend class Connection;
  };

  void maybe_finish() {
    if (pipes_[0].write_shut_ && pipes_[1].write_shut_) close(CloseMode::kGraceful);
  }

  std::shared_ptr<TcpLink> link_;
  uint64_t id_;
  tcp::socket client_;
  tcp::socket upstream_;
  std::array<Pipe, kDirectionCount> pipes_;
  bool closed_ = false;
};

TcpLink::TcpLink(asio::io_context& io, const Clock& clock, std::string name, tcp::endpoint upstream,
                 std::string upstream_text, uint64_t seed)
    : io_(io),
      clock_(clock),
      name_(std::move(name)),
      upstream_(std::move(upstream)),
      upstream_text_(std::move(upstream_text)),
      acceptor_(io),
      accept_retry_(io),
      faults_{model::LinkFault(seed ^ stable_hash(name_ + "/up")),
              model::LinkFault(seed ^ stable_hash(name_ + "/down"))},
      log_(spdlog::default_logger()->clone("link")) {}

TcpLink::~TcpLink() = default;

Result<std::shared_ptr<TcpLink>> TcpLink::open(asio::io_context& io, const Clock& clock,
                                               std::string name, tcp::endpoint upstream,
                                               std::string upstream_text, uint64_t seed,
                                               const asio::ip::address& listen_host) {
  std::shared_ptr<TcpLink> link(
      new TcpLink(io, clock, std::move(name), std::move(upstream), std::move(upstream_text), seed));
  error_code ec;
  tcp::endpoint local(listen_host, 0);
  link->acceptor_.open(local.protocol(), ec);
  if (!ec) net::set_close_on_exec(link->acceptor_.native_handle());
  if (!ec) link->acceptor_.bind(local, ec);
  if (!ec) link->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    const std::string where = config::join_host_port(listen_host.to_string(), 0);
    return Status(StatusCode::kUnavailable,
                  "link " + link->name_ + ": cannot listen on " + where + ": " + ec.message());
  }
  auto bound = link->acceptor_.local_endpoint(ec);
  if (ec) return Status(StatusCode::kUnavailable, "link " + link->name_ + ": " + ec.message());
  link->listen_address_ = config::join_host_port(listen_host.to_string(), bound.port());
  link->accept_next();
  link->log_->info("link {} listening on {}, forwarding to {}", link->name_, link->listen_address_,
                   link->upstream_text_);
  return link;
}

void TcpLink::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    if (self->closed_) return;
    if (ec) {
      // Out of descriptors and the like: try again shortly rather than spin.
      self->log_->warn("link {}: accept failed: {}", self->name_, ec.message());
      self->accept_retry_.expires_after(kAcceptRetryDelay);
      self->accept_retry_.async_wait([self](const error_code& wait_ec) {
        if (!wait_ec && !self->closed_) self->accept_next();
      });
      return;
    }
    if (self->fault(Direction::kUp).refuses_new_connections() ||
        self->fault(Direction::kDown).refuses_new_connections()) {
      set_reset_on_close(socket);
      error_code ignored;
      socket.close(ignored);
      ++self->counters_.connections_reset;
    } else {
      uint64_t id = self->next_connection_id_++;
      auto conn = std::make_shared<Connection>(self, id, std::move(socket));
      self->connections_.emplace(id, conn);
      ++self->counters_.connections_total;
      conn->start();
    }
    self->accept_next();
  });
}

void TcpLink::faults_changed() {
  // Copied first: a pipe may close its connection, which erases it from the map.
  std::vector<std::shared_ptr<Connection>> conns;
  for (auto& [id, conn] : connections_) conns.push_back(conn);
  for (auto& conn : conns) conn->faults_changed();
}

void TcpLink::reset_connections() {
  std::vector<std::shared_ptr<Connection>> conns;
  for (auto& [id, conn] : connections_) conns.push_back(conn);
  if (!conns.empty()) log_->info("link {}: resetting {} connections", name_, conns.size());
  for (auto& conn : conns) conn->close(Connection::CloseMode::kReset);
}

void TcpLink::close() {
  if (closed_) return;
  reset_connections();
  closed_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel(ignored);
}

void TcpLink::on_connection_closed(uint64_t id) { connections_.erase(id); }

LinkCounters TcpLink::counters() const {
  LinkCounters out = counters_;
  out.connections_open = connections_.size();
  for (const auto& [id, conn] : connections_) {
    out.up.queued_bytes += conn->queued_bytes(Direction::kUp);
    out.down.queued_bytes += conn->queued_bytes(Direction::kDown);
  }
  return out;
}

}  // namespace drsim::faultproxy
