// RegionStatusPoller: keeps the latest RegionAdmin GetStatus answer of each region the
// Traffic Manager was told about (--region-admin NAME=HOST:PORT), for the dashboard. Calls go
// out on gRPC's callback API at most one per region at a time; answers are posted back to the
// loop, so the loop never waits on a region.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/core/scheduler.h"
#include "common/core/status.h"
#include "common/core/task_queue.h"
#include "common/net/transport.h"
#include "drsim/v1/admin.grpc.pb.h"

namespace drsim::trafficmgr {

struct RegionAdminSpec {
  std::string name;
  std::string address;  // host:port of the region's gRPC server (RegionAdmin)
};

// Parses `--region-admin NAME=HOST:PORT`. Errors name the flag.
Result<RegionAdminSpec> parse_region_admin_flag(const std::string& value);

struct RegionSnapshot {
  RegionAdminSpec spec;
  std::optional<v1::GetStatusResponse> status;  // the last answer, kept while calls fail
  std::string error;                            // of the last call; empty when it answered
  int64_t answered_unix_nanos = 0;              // when `status` arrived
  uint64_t calls_failed = 0;
};

class RegionStatusPoller {
 public:
  // `scheduler` is the process's: its timer polls, its executor takes the answers (posted from
  // gRPC threads) to the loop, its clock stamps them. `transport` dials the regions' admin APIs.
  RegionStatusPoller(Scheduler& scheduler, const net::Transport& transport,
                     std::vector<RegionAdminSpec> regions, Duration interval, Duration timeout);
  // Cancels calls in flight and waits for their callbacks (each bounded by its deadline).
  ~RegionStatusPoller();

  RegionStatusPoller(const RegionStatusPoller&) = delete;
  RegionStatusPoller& operator=(const RegionStatusPoller&) = delete;

  // Loop thread.
  void start();
  void stop();
  const std::vector<RegionSnapshot>& regions() const { return snapshots_; }

 private:
  struct Call;
  void poll();
  // gRPC thread: posts the answer to the loop and frees the call.
  void on_call_done(Call* call, const grpc::Status& status);
  void on_answer(size_t region, const grpc::Status& status, v1::GetStatusResponse response);

  Scheduler& scheduler_;
  std::vector<RegionSnapshot> snapshots_;
  std::vector<std::unique_ptr<v1::RegionAdmin::Stub>> stubs_;
  std::vector<bool> in_flight_;
  const Duration interval_;
  const Duration timeout_;
  std::optional<TimerId> timer_;
  bool running_ = false;
  // Posted answers hold only the weak pointer; resetting alive_ silences them.
  std::shared_ptr<RegionStatusPoller*> alive_;
  const std::weak_ptr<RegionStatusPoller*> weak_alive_;

  std::mutex mu_;
  std::condition_variable idle_;
  std::set<Call*> outstanding_;
};

}  // namespace drsim::trafficmgr
