#include "common/sim/sim_network.h"

#include <algorithm>
#include <optional>

namespace drsim::sim {

using region::CancelCall;
using region::SinkEvents;
using region::SourceEvents;

namespace {

std::pair<std::string, std::string> pair_of(const std::string& a, const std::string& b) {
  return a < b ? std::pair{a, b} : std::pair{b, a};
}

}  // namespace

// One replication stream: both ends, and what each has seen. Every task the network schedules
// for it holds a shared_ptr, so a stream retired from the network stays valid until they ran.
struct SimNetwork::Stream {
  class SourceEnd final : public region::SourceLink {
   public:
    explicit SourceEnd(Stream& s) : s_(s) {}
    void send(drsim::v1::ReplicationFrame frame) override { s_.send_frame(std::move(frame)); }
    bool write_in_flight() const override { return s_.write_in_flight; }
    bool open() const override { return !s_.source_closing; }
    void cancel() override { s_.cancel(); }

   private:
    Stream& s_;
  };
  class SinkEnd final : public region::SinkLink {
   public:
    explicit SinkEnd(Stream& s) : s_(s) {}
    void send(drsim::v1::ReplicationReply reply) override { s_.send_reply(std::move(reply)); }
    void close(const Status& status) override { s_.close_by_sink(status); }
    const std::string& peer() const override { return s_.source; }

   private:
    Stream& s_;
  };

  Stream(SimNetwork& network, std::string from, std::string to, SourceEvents& on_source)
      : net(network),
        source(std::move(from)),
        sink(std::move(to)),
        source_incarnation(net.incarnation(source)),
        sink_incarnation(net.incarnation(sink)),
        source_events(on_source) {}

  SimNetwork& net;
  const std::string source;
  const std::string sink;
  // The processes at the ends: a stream never outlives either (SimNetwork::crash).
  const uint64_t source_incarnation;
  const uint64_t sink_incarnation;
  SourceEvents& source_events;
  SinkEvents* sink_events = nullptr;
  std::weak_ptr<Stream> self;
  SourceEnd source_end{*this};
  SinkEnd sink_end{*this};
  bool cut = false;
  // A one-way cut: what goes this way is stuck (TCP retransmits in vain) until the keepalive
  // breaks the stream, even if the cut heals meanwhile.
  bool stalled_to_sink = false;
  bool stalled_to_source = false;
  bool write_in_flight = false;
  bool source_closing = false;  // no more writes: cancelled, cut or finished by the sink
  bool source_close_scheduled = false;
  bool source_closed = false;  // on_source_closed delivered
  bool sink_seen = false;      // a frame reached the sink
  bool sink_closing = false;   // the sink finished (close) or the stream was cut
  bool sink_close_scheduled = false;
  bool sink_closed = false;  // on_sink_closed delivered (or the sink never saw it)
  Time last_to_sink = kTimeZero;
  Time last_to_source = kTimeZero;

  SimScheduler& scheduler() { return net.scheduler_; }
  // Deliveries in one direction keep their order: each after the previous one.
  Time slot_to_sink() {
    last_to_sink = std::max(last_to_sink, scheduler().now() + net.delay(source, sink));
    return last_to_sink;
  }
  Time slot_to_source() {
    last_to_source = std::max(last_to_source, scheduler().now() + net.delay(sink, source));
    return last_to_source;
  }

  void send_frame(drsim::v1::ReplicationFrame frame) {
    write_in_flight = true;
    auto keep = self.lock();
    scheduler().schedule_at(slot_to_sink(), [keep, frame = std::move(frame)] {
      if (keep->stalled_to_sink) return;  // never arrives: the stream dies of it
      keep->net.deliver(keep->sink, keep->sink_incarnation, [keep, frame] {
        if (keep->cut || keep->sink_closing || keep->sink_closed) return;
        keep->sink_seen = true;
        ++keep->net.frames_delivered_;
        keep->sink_events->on_sink_frame(&keep->sink_end, frame);
      });
    });
    // The write leaves this process at once (gRPC: OnWriteDone once the transport took it).
    scheduler().post([keep] {
      keep->net.deliver(keep->source, keep->source_incarnation, [keep] {
        if (keep->source_closed) return;
        keep->write_in_flight = false;
        keep->source_events.on_source_write_done(&keep->source_end);
      });
    });
  }

  void send_reply(drsim::v1::ReplicationReply reply) {
    if (sink_closing || sink_closed) return;
    auto keep = self.lock();
    scheduler().schedule_at(slot_to_source(), [keep, reply = std::move(reply)] {
      if (keep->stalled_to_source) return;
      keep->net.deliver(keep->source, keep->source_incarnation, [keep, reply] {
        if (keep->cut || keep->source_closed) return;
        keep->source_events.on_source_reply(&keep->source_end, reply);
      });
    });
  }

  void close_source_at(Time at, Status why) {
    source_closing = true;
    if (source_close_scheduled) return;
    source_close_scheduled = true;
    auto keep = self.lock();
    scheduler().schedule_at(at, [keep, why = std::move(why)] {
      keep->net.deliver(keep->source, keep->source_incarnation, [keep, why] {
        keep->source_closed = true;
        keep->source_events.on_source_closed(&keep->source_end, why);
        keep->net.retire(keep.get());
      });
    });
  }

  void close_sink_at(Time at) {
    if (sink_close_scheduled) return;
    sink_close_scheduled = true;
    auto keep = self.lock();
    scheduler().schedule_at(at, [keep] {
      keep->net.deliver(keep->sink, keep->sink_incarnation, [keep] {
        keep->sink_closed = true;
        // A sink that never saw a frame never knew this stream.
        if (keep->sink_seen) keep->sink_events->on_sink_closed(&keep->sink_end);
        keep->net.retire(keep.get());
      });
    });
  }

  // gRPC TryCancel: the source hears CANCELLED at once, the sink after the frames in flight.
  void cancel() {
    if (source_closing) return;
    close_source_at(scheduler().now(), Status(StatusCode::kCancelled, "Cancelled"));
    close_sink_at(slot_to_sink());
  }

  // The sink finishes the stream: its queued replies first, then the status.
  void close_by_sink(const Status& status) {
    if (sink_closing) return;
    sink_closing = true;
    close_source_at(slot_to_source(), status);
    close_sink_at(scheduler().now());
  }
};

class SimNetwork::Links final : public region::ReplicationTransport,
                                public region::PeerControl,
                                public region::LeaseWitnessClient {
 public:
  Links(SimNetwork& net, std::string name) : net_(net), name_(std::move(name)) {}

  region::SourceLink* connect(const std::string& peer_address, SourceEvents& events) override {
    return net_.open_stream(name_, peer_address, events);
  }

  CancelCall fence(const std::string& peer_address, const drsim::v1::FenceRequest& request,
                   Duration deadline, PeerControl::FenceDone done) override {
    SimNetwork* net = &net_;
    return net_.call<drsim::v1::FenceReply>(
        name_, peer_address, deadline,
        [net, peer_address, request]() -> Result<drsim::v1::FenceReply> {
          auto it = net->regions_.find(peer_address);
          if (it == net->regions_.end()) return unavailable("no region at " + peer_address);
          return it->second.on_fence(request);
        },
        std::move(done));
  }

  CancelCall renew(const std::string& witness_address, const drsim::v1::RenewLeaseRequest& request,
                   Duration deadline, RenewDone done) override {
    SimNetwork* net = &net_;
    return net_.call<drsim::v1::RenewLeaseResponse>(
        name_, witness_address, deadline,
        [net, witness_address, request]() -> Result<drsim::v1::RenewLeaseResponse> {
          auto it = net->witnesses_.find(witness_address);
          if (it == net->witnesses_.end()) return unavailable("no witness at " + witness_address);
          auto r = it->second->renew(request);
          // As TrafficManagerService::RenewLease: a region that begins serving is probed now.
          if (r.is_ok() && r->granted() &&
              request.kind() == drsim::v1::RENEWAL_KIND_NOW_SERVING && net->now_serving_) {
            net->now_serving_(request.region(), request.epoch());
          }
          return r;
        },
        std::move(done));
  }

  CancelCall fence(const std::string& witness_address, const drsim::v1::FenceLeaseRequest& request,
                   Duration deadline, LeaseWitnessClient::FenceDone done) override {
    return witness_call(witness_address, request, deadline, &trafficmgr::LeaseWitness::fence,
                        std::move(done));
  }

 private:
  // The witness at `address` answers with `method` (the Traffic Manager's own handler).
  template <typename Request, typename Reply, typename Done>
  CancelCall witness_call(const std::string& address, const Request& request, Duration deadline,
                          Result<Reply> (trafficmgr::LeaseWitness::*method)(const Request&),
                          Done done) {
    SimNetwork* net = &net_;
    return net_.call<Reply>(
        name_, address, deadline,
        [net, address, request, method]() -> Result<Reply> {
          auto it = net->witnesses_.find(address);
          if (it == net->witnesses_.end()) return unavailable("no witness at " + address);
          return (it->second->*method)(request);
        },
        std::move(done));
  }

  SimNetwork& net_;
  std::string name_;
};

SimNetwork::SimNetwork(SimScheduler& scheduler, Duration default_delay)
    : scheduler_(scheduler), default_delay_(default_delay) {}

SimNetwork::~SimNetwork() = default;

region::RegionLinks SimNetwork::links_for(const std::string& name) {
  auto& l = links_[name];
  if (!l) l = std::make_unique<Links>(*this, name);
  return {*l, *l, *l};
}

void SimNetwork::attach_region(const std::string& name, region::RegionNode& node) {
  attach_region(name, node,
                [&node](const drsim::v1::FenceRequest& req) { return node.on_fence(req); });
}

void SimNetwork::attach_region(const std::string& name, region::SinkEvents& sink,
                               FenceHandler on_fence) {
  regions_[name] = Member{&sink, std::move(on_fence)};
}

void SimNetwork::attach_health(const std::string& name, HealthHandler health) {
  health_[name] = std::move(health);
}

CancelCall SimNetwork::check_health(const std::string& from, const std::string& to,
                                    Duration deadline,
                                    std::function<void(const Status&, const HealthAnswer&)> done) {
  return call<HealthAnswer>(
      from, to, deadline,
      [this, to]() -> Result<HealthAnswer> {
        auto it = health_.find(to);
        if (it == health_.end()) return unavailable("connection refused: nothing listens at " + to);
        return it->second();
      },
      std::move(done));
}

void SimNetwork::attach_witness(const std::string& name, trafficmgr::LeaseWitness& witness) {
  witnesses_[name] = &witness;
}

void SimNetwork::set_delay(const std::string& from, const std::string& to, Duration delay) {
  delays_[{from, to}] = delay;
}

void SimNetwork::set_gate(const std::string& name, Gate gate) { gates_[name] = std::move(gate); }

uint64_t SimNetwork::incarnation(const std::string& name) const {
  auto it = incarnations_.find(name);
  return it == incarnations_.end() ? 0 : it->second;
}

void SimNetwork::crash(const std::string& name) {
  ++incarnations_[name];
  regions_.erase(name);
  health_.erase(name);
  auto streams = streams_;
  for (auto& s : streams) {
    if (s->source != name && s->sink != name) continue;
    cut(s, unavailable("connection reset: " + name + " is down"));
    // The dead end never hears of it: count its side closed so the stream can be retired.
    if (s->source == name) s->source_closed = true;
    if (s->sink == name) s->sink_closed = true;
  }
}

void SimNetwork::deliver(const std::string& to, uint64_t incarnation, std::function<void()> task) {
  if (incarnation != this->incarnation(to)) return;
  auto it = gates_.find(to);
  if (it == gates_.end()) {
    task();
  } else {
    it->second(std::move(task));
  }
}

Duration SimNetwork::delay(const std::string& from, const std::string& to) const {
  auto it = delays_.find({from, to});
  return it == delays_.end() ? default_delay_ : it->second;
}

void SimNetwork::partition(const std::string& a, const std::string& b) {
  partitions_.insert(pair_of(a, b));
  cut_between(a, b, unavailable("partitioned: " + a + " and " + b + " cannot reach each other"));
}

void SimNetwork::heal(const std::string& a, const std::string& b) {
  partitions_.erase(pair_of(a, b));
}

bool SimNetwork::partitioned(const std::string& a, const std::string& b) const {
  return partitions_.count(pair_of(a, b)) > 0;
}

bool SimNetwork::blocked(const std::string& from, const std::string& to) const {
  return partitioned(from, to) || one_way_.count({from, to}) > 0;
}

void SimNetwork::cut_one_way(const std::string& from, const std::string& to) {
  one_way_.insert({from, to});
  // The streams between them break when the keepalive pings go unanswered.
  std::vector<std::shared_ptr<Stream>> doomed;
  for (auto& s : streams_) {
    if (s->source == from && s->sink == to) s->stalled_to_sink = true;
    if (s->source == to && s->sink == from) s->stalled_to_source = true;
    if (pair_of(s->source, s->sink) == pair_of(from, to)) doomed.push_back(s);
  }
  scheduler_.schedule_after(kKeepaliveLoss, [this, doomed, from, to] {
    for (const auto& s : doomed) {
      cut(s, unavailable("keepalive timeout: " + from + " cannot reach " + to));
    }
  });
}

void SimNetwork::heal_one_way(const std::string& from, const std::string& to) {
  one_way_.erase({from, to});
}

void SimNetwork::reset(const std::string& a, const std::string& b) {
  cut_between(a, b, unavailable("connection reset between " + a + " and " + b));
}

void SimNetwork::cut_between(const std::string& a, const std::string& b, const Status& why) {
  auto streams = streams_;  // cut() may retire
  for (auto& s : streams) {
    if (pair_of(s->source, s->sink) == pair_of(a, b)) cut(s, why);
  }
}

void SimNetwork::cut(const std::shared_ptr<Stream>& s, const Status& why) {
  if (s->cut) return;
  s->cut = true;
  s->sink_closing = true;
  // Each end notices after the delay of its incoming direction; nothing in flight arrives.
  s->close_source_at(scheduler_.now() + delay(s->sink, s->source), why);
  s->close_sink_at(scheduler_.now() + delay(s->source, s->sink));
}

region::SourceLink* SimNetwork::open_stream(const std::string& from, const std::string& to,
                                            SourceEvents& events) {
  auto s = std::make_shared<Stream>(*this, from, to, events);
  s->self = s;
  streams_.push_back(s);
  ++streams_opened_;
  auto it = regions_.find(to);
  if (it == regions_.end()) {
    cut(s, unavailable("no region at " + to));
  } else {
    s->sink_events = it->second.sink;
    if (blocked(from, to) || blocked(to, from)) {
      cut(s, unavailable("partitioned: " + from + " and " + to + " cannot reach each other"));
    }
  }
  return &s->source_end;
}

void SimNetwork::retire(Stream* stream) {
  if (!stream->source_closed || !stream->sink_closed) return;
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [stream](const auto& s) { return s.get() == stream; }),
                 streams_.end());
}

template <typename Reply>
CancelCall SimNetwork::call(const std::string& from, const std::string& to, Duration deadline,
                            std::function<Result<Reply>()> handle,
                            std::function<void(const Status&, const Reply&)> done) {
  struct State {
    bool finished = false;
    std::optional<TimerId> deadline_timer;
  };
  auto st = std::make_shared<State>();
  // A restarted caller or callee is another process: the call belonged to the dead one.
  const uint64_t from_inc = incarnation(from);
  const uint64_t to_inc = incarnation(to);
  auto finish = [this, st, done = std::move(done)](const Status& s, const Reply& reply) {
    if (st->finished) return;
    st->finished = true;
    if (st->deadline_timer) scheduler_.cancel(*st->deadline_timer);
    done(s, reply);
  };
  st->deadline_timer = scheduler_.schedule_after(deadline, [this, st, from, from_inc, finish] {
    st->deadline_timer.reset();
    deliver(from, from_inc, [finish] {
      finish(Status(StatusCode::kDeadlineExceeded, "Deadline Exceeded"), Reply{});
    });
  });
  scheduler_.schedule_after(delay(from, to), [=, this] {
    if (st->finished) return;
    if (blocked(from, to)) {
      ++calls_lost_;  // the request never arrives: the deadline answers
      return;
    }
    deliver(to, to_inc, [=, this] {
      // Held by a frozen callee past the caller's deadline: gRPC cancels the call, the handler
      // never runs.
      if (st->finished) return;
      Result<Reply> r = handle();
      Status status = r.status();
      Reply reply = r.is_ok() ? r.value() : Reply{};
      scheduler_.schedule_after(delay(to, from), [=, this] {
        if (blocked(to, from)) {
          ++calls_lost_;  // handled there, but the answer never comes back
          return;
        }
        deliver(from, from_inc, [finish, status, reply] { finish(status, reply); });
      });
    });
  });
  return [this, st] {
    if (st->finished) return;
    st->finished = true;
    if (st->deadline_timer) scheduler_.cancel(*st->deadline_timer);
  };
}

}  // namespace drsim::sim
