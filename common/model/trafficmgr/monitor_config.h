// Traffic Manager monitor settings of one profile (protocol, port, path, headers, expected
// status codes, interval / timeout / tolerated failures) with Azure's validation rules, and the
// failover-time formulas. Read by the profile model and by the trafficmgr probe driver.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/trafficmgr/health_monitor.h"

namespace drsim::model {

// Azure limits (facts.md, "Traffic Manager").
inline constexpr size_t kTmMaxCustomHeaders = 8;
inline constexpr size_t kTmMaxStatusCodeRanges = 8;
inline constexpr uint16_t kTmMinStatusCode = 100;
inline constexpr uint16_t kTmMaxStatusCode = 999;
// drsim's own anti-flap setting; Azure has none (it behaves as 1). 10 mirrors the 0..9 tolerated
// failures: a flapping endpoint can be held out about as long as a failing one is held in.
inline constexpr uint32_t kTmMaxSuccessThreshold = 10;

enum class TmProbeProtocol {
  kGrpcHealth,  // drsim's own: grpc.health.v1 Check on the region's server (not in Azure)
  kHttp,
  kHttps,  // like Azure, the certificate is not validated
  kTcp,
};

const char* tm_probe_protocol_name(TmProbeProtocol protocol);

// Which timing rules validate() applies.
enum class TmTimingRules {
  // Exactly Azure's: interval 30 s or 10 s; timeout 5-10 s at 30 s, 5-9 s at 10 s, whole
  // seconds; TTL in whole seconds.
  kAzure,
  // drsim runs Traffic Manager at millisecond scale (probe every 100 ms): any interval > 0 and
  // 0 < timeout <= interval, so at most one probe per endpoint is in flight; any TTL in range.
  kScaled,
};

struct TmHttpHeader {
  std::string name;
  std::string value;
};

// Inclusive range of HTTP status codes a probe counts as success ("200-299").
struct TmStatusCodeRange {
  uint16_t lo = 200;
  uint16_t hi = 200;
};

// Defaults are Azure's: HTTP on port 80, path "/", every 30 s, 10 s timeout, 3 tolerated.
struct TmMonitorConfig {
  TmProbeProtocol protocol = TmProbeProtocol::kHttp;
  uint16_t port = 80;
  // Required for HTTP(S) (starts with '/'); Azure refuses a path for TCP, and so does drsim for
  // gRPC health, whose probe names a service instead.
  std::string path = "/";
  // HTTP(S) only, at most 8. Azure refuses '*' in a custom Host header.
  std::vector<TmHttpHeader> custom_headers;
  // HTTP(S) only, at most 8; empty means Azure's default 200-200.
  std::vector<TmStatusCodeRange> expected_status_codes;
  Duration interval = std::chrono::seconds(30);
  Duration timeout = std::chrono::seconds(10);
  // Failure number tolerated+1 in a row degrades the endpoint (0..9).
  uint32_t tolerated_failures = 3;
  // Consecutive successes before a Degraded endpoint is Online again (1..10). 1 is Azure.
  uint32_t success_threshold = 1;

  // INVALID_ARGUMENT naming the field ("timeout: 11000ms is out of range 5s..10s at interval
  // 30s"); the first problem found, in declaration order.
  Status validate(TmTimingRules rules) const;
};

// Whether a probe's HTTP status code counts as success: inside one of expected_status_codes,
// or exactly 200 when there are none. A 30x is a failure unless listed (Azure does not follow
// redirects).
bool is_expected_status_code(const TmMonitorConfig& config, int status_code);

// The subset HealthMonitor schedules probes with. config must be valid.
MonitorConfig to_monitor_config(const TmMonitorConfig& config);

struct TmFailoverEstimate {
  // Azure's documented estimate: TTL + tolerated × interval (10 s + 3 × 10 s = 40 s).
  Duration documented;
  // Stricter worst case: the failure starts just after a good probe, every probe then takes
  // the whole interval plus timeout, and a resolver cached the old answer a full TTL:
  // (interval + timeout) × (tolerated + 1) + TTL.
  Duration worst_case;
};

TmFailoverEstimate estimate_failover(const TmMonitorConfig& config, Duration ttl);

// "100ms", "1.5ms", as in the other model messages.
std::string tm_format_ms(Duration d);

}  // namespace drsim::model
