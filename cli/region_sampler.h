// Polls both regions' status in the background while a drill runs: the replication-lag series
// of the report, the live lag on the progress line, and `wait_until lag_above / lag_below`.
// Also estimates each region's clock offset from the local clock (NTP-style midpoint), so a
// drill with injected clock skew still places the region's timestamps correctly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/model/drill/clock_offset.h"

namespace drsim::cli {

struct LagSample {
  int64_t unix_nanos = 0;  // local clock, when the answer arrived
  std::string region;
  bool active = false;
  uint64_t epoch = 0;
  std::map<std::string, uint64_t> lag_writes;  // by workload (active region only)
  std::map<std::string, double> lag_ms;
  bool replication_connected = false;
};

// A remote clock's offset from ours (common/model/drill/clock_offset.h).
using model::estimate_clock_offset_ns;

class RegionSampler {
 public:
  // `addresses`: region name -> admin address.
  RegionSampler(std::map<std::string, std::string> addresses, std::chrono::milliseconds period);
  ~RegionSampler();
  void stop();

  std::vector<LagSample> samples() const;
  std::optional<LagSample> latest(const std::string& region) const;
  // Total replication lag (writes, all workloads) of the region's latest answer as active.
  std::optional<uint64_t> lag_writes(const std::string& region) const;
  // Region clock minus local clock, from the latest answer (0 when unknown).
  int64_t clock_offset_ns(const std::string& region) const;

 private:
  // One thread per region, so a frozen region (its status call waits for the deadline) does
  // not thin out the other's samples.
  void run(const std::string& region, const std::string& address);

  std::map<std::string, std::string> addresses_;
  std::chrono::milliseconds period_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<LagSample> samples_;
  std::map<std::string, LagSample> latest_;
  std::map<std::string, int64_t> offsets_;
  std::vector<std::thread> threads_;
};

}  // namespace drsim::cli
