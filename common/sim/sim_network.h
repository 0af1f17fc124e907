// In-memory RegionLinks for simulation: the replication streams, the peer's Fence and the lease
// witness between regions living in one process on one SimScheduler. Every delivery is a task
// the scheduler times (a fixed delay per direction, FIFO per stream); a test partitions a pair
// of members (open streams between them are cut, calls across them get no answer), heals it,
// or resets their streams. The witness is the Traffic Manager's own trafficmgr::LeaseWitness on
// the simulated clock. A member may be given a gate (a frozen process: its deliveries are held
// until it resumes). Part of the simulator (drsim_sim: `drsim sim` and tests/sim); the daemons
// never link it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/core/scheduler.h"
#include "common/region/region_links.h"
#include "common/region/region_node.h"
#include "trafficmgr/lease_witness.h"

namespace drsim::sim {

class SimNetwork {
 public:
  // Members are named; a region's peer_address and witness_address are members' names.
  explicit SimNetwork(SimScheduler& scheduler, Duration default_delay);
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // The links region `name` dials with (give them to its RegionNode). Owned by the network.
  region::RegionLinks links_for(const std::string& name);
  // Region `name` answers incoming streams and fences from now on.
  void attach_region(const std::string& name, region::RegionNode& node);
  // The same for any sink (tests of the network itself).
  using FenceHandler = std::function<Result<drsim::v1::FenceReply>(const drsim::v1::FenceRequest&)>;
  void attach_region(const std::string& name, region::SinkEvents& sink, FenceHandler on_fence);
  // `name` answers RenewLease / FenceLease with `witness`.
  void attach_witness(const std::string& name, trafficmgr::LeaseWitness& witness);
  // Runs when a witness grants a RENEWAL_KIND_NOW_SERVING renewal (a promoted region begins
  // serving), as the Traffic Manager's service calls TrafficManager::probe_now.
  using NowServing = std::function<void(const std::string& region, uint64_t epoch)>;
  void on_now_serving(NowServing now_serving) { now_serving_ = std::move(now_serving); }

  // What a region's grpc.health.v1 Check answers the Traffic Manager's probe: SERVING or not,
  // with the drsim-epoch / drsim-role metadata the daemon attaches.
  struct HealthAnswer {
    bool serving = false;
    uint64_t epoch = 0;
    bool active = false;
  };
  using HealthHandler = std::function<HealthAnswer()>;
  // Region `name` answers health probes with `health` until it crashes.
  void attach_health(const std::string& name, HealthHandler health);
  // A probe from `from` of region `to`, answered at `to` (through its gate): `done` gets the
  // answer after the round trip; UNAVAILABLE when nothing answers at `to`; DEADLINE_EXCEEDED at
  // `deadline` when a partition, a frozen or a crashed `to` keeps the answer from coming.
  region::CancelCall check_health(const std::string& from, const std::string& to,
                                  Duration deadline,
                                  std::function<void(const Status&, const HealthAnswer&)> done);

  // Region `name`'s process died (the kill nemesis): its streams are cut (the peer sees
  // UNAVAILABLE after the link delay, as a reset connection), nothing in flight to it or
  // addressed to this incarnation of it is ever delivered, even after a restart, and until
  // attach_region again nothing answers at its address.
  void crash(const std::string& name);

  // Every delivery to `name` (frames, replies, stream ends, calls it answers, answers it gets)
  // runs through `gate`, which may run it at once or hold it (common/sim/freezer.h).
  using Gate = std::function<void(std::function<void()>)>;
  void set_gate(const std::string& name, Gate gate);

  void set_delay(const std::string& from, const std::string& to, Duration delay);
  // What a delivery from `from` to `to` takes now.
  Duration delay(const std::string& from, const std::string& to) const;
  // Nothing gets through between a and b (both directions) until heal; streams between them
  // are cut (each end sees UNAVAILABLE once its incoming delay passed).
  void partition(const std::string& a, const std::string& b);
  void heal(const std::string& a, const std::string& b);
  bool partitioned(const std::string& a, const std::string& b) const;
  // Only `from` → `to` is cut (a one-way partition): what `from` sends to `to` is lost, the other
  // way still works. A stream between them breaks once gRPC's keepalive notices (kKeepaliveLoss
  // later, both ends told UNAVAILABLE); one opened meanwhile breaks at once (its handshake needs
  // both ways); a call's request or answer in the cut direction is lost (its deadline answers).
  static constexpr Duration kKeepaliveLoss = std::chrono::milliseconds(1000);
  void cut_one_way(const std::string& from, const std::string& to);
  void heal_one_way(const std::string& from, const std::string& to);
  // Nothing `from` sends reaches `to` (a partition or a one-way cut).
  bool blocked(const std::string& from, const std::string& to) const;
  // Cuts the streams between a and b now; new ones may open at once.
  void reset(const std::string& a, const std::string& b);

  // Counters a test can assert on.
  size_t streams_opened() const { return streams_opened_; }
  size_t frames_delivered() const { return frames_delivered_; }
  size_t calls_lost() const { return calls_lost_; }

 private:
  class Links;
  struct Stream;
  friend class Links;

  // Runs `task` at `to`: through its gate if it has one; never when `to` crashed since
  // `incarnation` was taken (the process it was meant for is gone).
  void deliver(const std::string& to, uint64_t incarnation, std::function<void()> task);
  uint64_t incarnation(const std::string& name) const;
  region::SourceLink* open_stream(const std::string& from, const std::string& to,
                                  region::SourceEvents& events);
  void cut(const std::shared_ptr<Stream>& stream, const Status& why);
  void cut_between(const std::string& a, const std::string& b, const Status& why);
  // Both ends have seen on_*_closed: forget the stream.
  void retire(Stream* stream);
  // A unary call from `from` to `to`: `handle` runs at `to` after the delay there; its answer
  // reaches `done` after the delay back, unless a partition drops either (then the deadline).
  template <typename Reply>
  region::CancelCall call(const std::string& from, const std::string& to, Duration deadline,
                          std::function<Result<Reply>()> handle,
                          std::function<void(const Status&, const Reply&)> done);

  SimScheduler& scheduler_;
  Duration default_delay_;
  std::map<std::pair<std::string, std::string>, Duration> delays_;
  std::set<std::pair<std::string, std::string>> partitions_;  // sorted pairs
  std::set<std::pair<std::string, std::string>> one_way_;     // (from, to) cut
  std::map<std::string, std::unique_ptr<Links>> links_;
  struct Member {
    region::SinkEvents* sink;
    FenceHandler on_fence;
  };
  std::map<std::string, Member> regions_;
  std::map<std::string, trafficmgr::LeaseWitness*> witnesses_;
  NowServing now_serving_;
  std::map<std::string, HealthHandler> health_;
  std::map<std::string, Gate> gates_;
  std::map<std::string, uint64_t> incarnations_;  // crashes per member
  std::vector<std::shared_ptr<Stream>> streams_;
  size_t streams_opened_ = 0;
  size_t frames_delivered_ = 0;
  size_t calls_lost_ = 0;
};

}  // namespace drsim::sim
