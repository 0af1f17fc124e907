// RegionStatusPoller: keeps the latest RegionAdmin GetStatus answer of each region the
// Traffic Manager was told about (--region-admin NAME=HOST:PORT), and, less often, its Site
// Recovery items and jobs and its Backup vaults, for the dashboard. Calls go out on gRPC's
// callback API at most one of each kind per region at a time; answers are posted back to the
// loop, so the loop never waits on a region.
#pragma once

#include <array>
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
#include "drsim/v1/backup.grpc.pb.h"
#include "drsim/v1/siterecovery.grpc.pb.h"

namespace drsim::trafficmgr {

struct RegionAdminSpec {
  std::string name;
  std::string address;  // host:port of the region's gRPC server (RegionAdmin)
};

// Parses `--region-admin NAME=HOST:PORT`. Errors name the flag.
Result<RegionAdminSpec> parse_region_admin_flag(const std::string& value);

// The last answer of one list call, kept while later calls fail.
template <class Response>
struct ListSnapshot {
  std::optional<Response> answer;
  std::string error;  // of the last call; empty when it answered
};

struct RegionSnapshot {
  RegionAdminSpec spec;
  std::optional<v1::GetStatusResponse> status;  // the last answer, kept while calls fail
  std::string error;                            // of the last call; empty when it answered
  int64_t answered_unix_nanos = 0;              // when `status` arrived
  uint64_t calls_failed = 0;
  ListSnapshot<v1::ListItemsResponse> sr_items;  // Site Recovery's protected items
  ListSnapshot<v1::ListJobsResponse> sr_jobs;
  ListSnapshot<v1::ListVaultsResponse> vaults;   // Backup's vaults and their items
};

class RegionStatusPoller {
 public:
  // `scheduler` is the process's: its timer polls, its executor takes the answers (posted from
  // gRPC threads) to the loop, its clock stamps them. `transport` dials the regions' admin APIs.
  // GetStatus every `interval`; the Site Recovery and Backup lists every `lists_interval`.
  RegionStatusPoller(Scheduler& scheduler, const net::Transport& transport,
                     std::vector<RegionAdminSpec> regions, Duration interval, Duration timeout,
                     Duration lists_interval);
  // Cancels calls in flight and waits for their callbacks (each bounded by its deadline).
  ~RegionStatusPoller();

  RegionStatusPoller(const RegionStatusPoller&) = delete;
  RegionStatusPoller& operator=(const RegionStatusPoller&) = delete;

  // Loop thread.
  void start();
  void stop();
  const std::vector<RegionSnapshot>& regions() const { return snapshots_; }

 private:
  // What a call asks a region.
  enum Ask : size_t { kStatus, kSrItems, kSrJobs, kVaults, kAsks };
  struct Answer;
  struct Call;
  struct Stubs {
    std::unique_ptr<v1::RegionAdmin::Stub> admin;
    std::unique_ptr<v1::SiteRecovery::Stub> site_recovery;
    std::unique_ptr<v1::Backup::Stub> backup;
  };
  void poll();
  // Starts `ask` of region `region` unless one is in flight.
  void ask(size_t region, Ask ask);
  // gRPC thread: posts the answer to the loop and frees the call.
  void on_call_done(Call* call, const grpc::Status& status);
  void on_answer(Answer answer, const grpc::Status& status);

  Scheduler& scheduler_;
  std::vector<RegionSnapshot> snapshots_;
  std::vector<Stubs> stubs_;
  std::vector<std::array<bool, kAsks>> in_flight_;
  const Duration interval_;
  const Duration timeout_;
  const Duration lists_interval_;
  std::optional<Time> lists_asked_;  // when the lists were last asked
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
