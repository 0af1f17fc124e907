// Options of a region daemon (drsim-primary / drsim-secondary), with
// validation that names the flag at fault.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/replication/lease.h"
#include "common/model/replication/region_role.h"

namespace drsim::region {

enum class ReplicationMode { kAsync, kSync };
const char* replication_mode_name(ReplicationMode m);

struct WorkloadSpec {
  std::string name;
  ReplicationMode mode = ReplicationMode::kSync;
};

struct RegionOptions {
  std::string name;       // region name, e.g. "primary"
  std::string peer_name;  // the other region's name
  std::string listen = "127.0.0.1:0";
  std::string peer_address;  // host:port of the peer region (may be set later)
  std::string data_dir;
  model::Role initial_role = model::Role::kStandby;  // used on first start only
  std::vector<WorkloadSpec> workloads;
  bool fsync = false;
  // Test hook, off by default: acknowledge sync writes without waiting for the
  // standby (a deliberately broken build of the replication contract), so the
  // test suite can prove that the checker catches the writes this loses.
  bool unsafe_ack_before_standby = false;
  // The lease on being active (common/model/replication/lease.h): renewed through the peer and,
  // when set, the Traffic Manager witness at `witness_address`.
  model::LeaseTimes lease;
  std::string witness_address;
  // Test hook, off by default: acknowledge writes without a valid lease (the split-brain window
  // the lease closes), so tests can prove the checker sees acks by a superseded region.
  bool unsafe_no_lease = false;
  // Test hook, off by default: a restarted active region that serves on by fence-check timeout
  // does not mark where its unverified writes begin (RegionStore::mark_unverified), so the
  // simulator can prove its checker sees two regions holding different writes at the same seqs
  // (drsim-testhooks sim --broken-variant unverified-marks). No daemon flag sets it.
  bool unsafe_no_unverified_marks = false;
  // An isolated copy (a test failover's, `--isolated`): no peer and no witness, so nothing can
  // be promoted over it and no lease applies; it serves reads and writes on its own data while
  // active. Refused together with a peer or a witness.
  bool isolated = false;
  // Test hook, off by default: answer Get and Scan whatever the role and lease (as drsim did
  // before reads were fenced), so the simulator can prove its history check sees a superseded
  // region's stale reads (drsim-testhooks sim --broken-variant unfenced-reads). No daemon flag
  // sets it.
  bool unsafe_unfenced_reads = false;
  uint64_t log_retention = 1'000'000;
  uint32_t max_batch_changes = 1024;     // per replication frame
  uint64_t max_unacked_changes = 65536;  // per workload, in flight to the standby
  uint32_t max_key_bytes = 1024;
  uint32_t max_value_bytes = 1 << 20;
  std::chrono::milliseconds sync_ack_timeout{5000};
  std::chrono::milliseconds fence_check_timeout{2000};
  // An unplanned failover tells the peer the new epoch (Replication.Fence) and serves only once
  // the peer answered that it stepped down, or did not answer within this (unreachable: killed,
  // frozen, cut off). 0 = serve at once without fencing (the old behaviour; tests only).
  std::chrono::milliseconds peer_fence_timeout{300};
  std::chrono::milliseconds reconnect_backoff{100};
  std::string ready_file;
  // Loopback host:port of the HTTP server with GET /health and /metrics (port 0 = ephemeral);
  // empty = none.
  std::string http_listen;

  Status validate() const;
};

// Parses "vm-web:sync,vm-db:async" (mode optional, default_mode otherwise).
Result<std::vector<WorkloadSpec>> parse_workloads(const std::string& flag, const std::string& text,
                                                  ReplicationMode default_mode);
// The same list read from a file (--workloads-file): one `name[:sync|async]` a line (commas
// also separate), blank lines and lines starting with '#' ignored. For lists too long for the
// command line (Linux caps one argument at 128 KiB: ~9,000 workloads).
Result<std::vector<WorkloadSpec>> read_workloads_file(const std::string& path,
                                                      ReplicationMode default_mode);
Status validate_workload_name(const std::string& where, const std::string& name);

}  // namespace drsim::region
