// RoutingState: what the Traffic Manager's loop thread publishes for its gRPC handlers — the
// endpoint table, the current Resolve answer, and the routing event log with live watchers.
// The loop writes; gRPC threads read copies under one short lock and never wait on the loop.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

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

class RoutingState {
 public:
  // Oldest events are dropped beyond this, so a flapping endpoint cannot grow memory forever.
  static constexpr size_t kMaxEventLog = 10000;

  explicit RoutingState(std::string profile) : profile_(std::move(profile)) {}

  const std::string& profile() const { return profile_; }

  // Loop thread.
  void publish(v1::ListEndpointsResponse table, std::optional<v1::ResolveResponse> answer);
  void append(const v1::RoutingEvent& event);
  // Ends every watch stream and refuses new ones; called before the server shuts down.
  void close();

  // Any thread.
  v1::ListEndpointsResponse table() const;
  std::optional<v1::ResolveResponse> answer() const;
  std::vector<v1::RoutingEvent> events() const;

  // Any thread: one answer naming `endpoint` was given.
  void count_resolve(const std::string& endpoint, ResolveVia via);
  // (endpoint, "grpc" or "dns") → answers given.
  std::map<std::pair<std::string, std::string>, uint64_t> resolve_counts() const;

  // Registers a watcher; with kReplayHistory it first receives every logged event, atomically
  // with registration, so nothing is missed or sent twice. False once closed.
  bool subscribe(RoutingWatcher* watcher, ReplayMode replay);
  void unsubscribe(RoutingWatcher* watcher);
  size_t watcher_count() const;

 private:
  const std::string profile_;
  mutable std::mutex mu_;
  v1::ListEndpointsResponse table_;
  std::optional<v1::ResolveResponse> answer_;
  std::deque<v1::RoutingEvent> events_;
  std::set<RoutingWatcher*> watchers_;
  std::map<std::pair<std::string, std::string>, uint64_t> resolves_;
  bool closed_ = false;
};

}  // namespace drsim::trafficmgr
