// RoutingState: what the Traffic Manager's loop thread publishes for its gRPC and DNS handlers —
// each profile's endpoint table, the profile set with its status snapshot that every query is
// routed over (model::resolve), the latency table, and the routing event log with live
// watchers. The loop writes; handlers read under one short lock and never wait on the loop.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/core/rng.h"
#include "common/model/trafficmgr/profile.h"
#include "common/model/trafficmgr/routing.h"
#include "common/model/trafficmgr/status.h"
#include "drsim/v1/trafficmgr.pb.h"

namespace drsim::trafficmgr {

// A live WatchRouting stream. RoutingState calls these with its lock held, from the loop thread
// (new events, close) or from the subscribing gRPC thread (replay): they must only queue and
// start a write, never block or call back into RoutingState.
class RoutingWatcher {
 public:
  virtual ~RoutingWatcher() = default;
  virtual void on_event(const v1::RoutingEvent& event) = 0;
  // The server is stopping: send what is queued, then end the stream.
  virtual void on_close() = 0;
};

enum class ReplayMode { kLiveOnly, kReplayHistory };

// Where a resolve was answered, for the resolves-by-answer counters.
enum class ResolveVia { kGrpc, kDns };
const char* resolve_via_name(ResolveVia via);

// The answer to one query.
struct Resolved {
  std::string profile;  // the profile's own spelling; "" when no profile has the name
  model::TmResolution resolution;
  Duration ttl{};
};

// (profile, endpoint answered, "grpc" or "dns").
using ResolveKey = std::tuple<std::string, std::string, std::string>;

class RoutingState {
 public:
  // Oldest events are dropped beyond this, so a flapping endpoint cannot grow memory forever.
  static constexpr size_t kMaxEventLog = 10000;

  // `set` is what the loop publishes snapshots of; draws come from an Rng seeded with `seed`.
  RoutingState(std::shared_ptr<const model::TmProfileSet> set, model::TmLatencyTable latency,
               uint64_t seed);

  const model::TmProfileSet& profile_set() const { return *set_; }

  // Loop thread. `tables` is parallel to the set's profiles.
  void publish(std::vector<v1::ListEndpointsResponse> tables, model::TmStatusSnapshot statuses);
  void append(const v1::RoutingEvent& event);
  // Ends every watch stream and refuses new ones; called before the server shuts down.
  void close();

  // Any thread. Profile names compare case-insensitively, as DNS names.
  std::optional<v1::ListEndpointsResponse> table(std::string_view profile) const;
  std::vector<v1::ListEndpointsResponse> tables() const;
  std::vector<v1::RoutingEvent> events() const;
  // Routes one query over the last published statuses (model::resolve).
  Resolved resolve(std::string_view profile, std::string client_region,
                   std::optional<model::TmIpAddress> client_ip);
  void set_latency(const std::string& client_region, const std::string& location,
                   Duration latency);

  // Any thread: one answer of `profile` naming `endpoint` was given.
  void count_resolve(const std::string& profile, const std::string& endpoint, ResolveVia via);
  std::map<ResolveKey, uint64_t> resolve_counts() const;

  // Registers a watcher; with kReplayHistory it first receives every logged event, atomically
  // with registration, so nothing is missed or sent twice. False once closed.
  bool subscribe(RoutingWatcher* watcher, ReplayMode replay);
  void unsubscribe(RoutingWatcher* watcher);
  size_t watcher_count() const;

 private:
  const std::shared_ptr<const model::TmProfileSet> set_;
  mutable std::mutex mu_;
  std::vector<v1::ListEndpointsResponse> tables_;
  std::optional<model::TmStatusSnapshot> statuses_;
  model::TmLatencyTable latency_;
  Rng rng_;
  std::deque<v1::RoutingEvent> events_;
  std::set<RoutingWatcher*> watchers_;
  std::map<ResolveKey, uint64_t> resolves_;
  bool closed_ = false;
};

}  // namespace drsim::trafficmgr
