// Client load through the Traffic Manager, as an application would drive it:
// resolve the profile (cached for the TTL, as a DNS client does), send
// Put / Get to the answered region with a deadline, and record every
// operation (invoke, completion, outcome, region) into a history.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/core/status.h"
#include "common/model/history.h"

namespace drsim::cli {

struct LoadOptions {
  std::string trafficmgr_address;
  std::string profile = "drsim";
  std::vector<std::string> workloads;
  double rate = 500;                 // operations per second, all workers together
  uint32_t workers = 8;              // concurrent clients, each with its own resolver cache
  uint64_t keys = 1000;              // key space per workload
  uint32_t value_bytes = 100;
  double write_fraction = 0.9;       // the rest are reads
  std::chrono::milliseconds op_timeout{1000};
  uint64_t seed = 1;

  Status validate() const;
};

struct LoadStats {
  uint64_t ok = 0, fail = 0, indeterminate = 0;
  uint64_t writes_ok = 0;
  std::map<std::string, uint64_t> ok_by_region;
  std::string route;              // region the latest resolve answered
  int64_t first_ok_by_route_ns = 0;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadOptions options);
  ~LoadGenerator();

  void start();
  void stop();  // joins the workers
  LoadStats stats() const;
  // Completion time of the first acknowledged write by `region` that completed
  // at or after `after_ns` (0 = none yet).
  int64_t first_ok_write_by(const std::string& region, int64_t after_ns) const;
  // The recorded history, ordered by invocation (after stop()).
  std::vector<model::OpRecord> history() const;

 private:
  struct Worker;
  void run_worker(uint32_t index);

  LoadOptions options_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mu_;
  LoadStats stats_;
  std::map<std::string, std::vector<int64_t>> ok_write_times_;  // by region, in completion order
};

// History files are JSON lines, one operation each.
Status write_history(const std::string& path, const std::vector<model::OpRecord>& ops);
Result<std::vector<model::OpRecord>> read_history(const std::string& path);

}  // namespace drsim::cli
