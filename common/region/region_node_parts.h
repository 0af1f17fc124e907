// Constants and proto conversions shared by RegionNode's parts (region_node*.cc); not for use
// elsewhere.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/core/status.h"
#include "common/model/replication/region_role.h"
#include "common/model/replication/resync_plan.h"
#include "drsim/v1/replication.pb.h"

namespace drsim::region::region_node_parts {

using namespace std::chrono_literals;

inline constexpr size_t kMaxRecentChanges = 1 << 20;  // older unacked changes are read from the log
// A change batch is cut here (model::frame_takes): with values of at most 8 MiB
// (--max-value-bytes) every frame stays under the 16 MiB a region receives.
inline constexpr size_t kMaxFrameBytes = 4 << 20;
// Above this many workloads the start-up logs a count instead of one line per workload.
inline constexpr size_t kWorkloadsLoggedOneByOne = 64;
// Re-protect: epochs listed per workload in a LogSummary (more: only the cursor is offered),
// and the size of one full-copy frame.
inline constexpr size_t kMaxEpochSpans = 4096;
inline constexpr size_t kCopyChunkKeys = 1000;
inline constexpr size_t kCopyChunkBytes = 1 << 20;
// A re-protect whose peer has not answered within this is refused as unreachable (several
// reconnects: a channel still backing off from an earlier failure fails the first calls at once).
inline constexpr auto kReprotectConnectTimeout = 2s;
// A planned failover's source gets this long past the drain timeout to answer.
inline constexpr auto kPlannedFailoverGrace = 2s;

inline drsim::v1::RegionRole to_proto(model::Role r) {
  return r == model::Role::kActive ? drsim::v1::ROLE_ACTIVE : drsim::v1::ROLE_STANDBY;
}

inline drsim::v1::ResyncKind to_proto(model::ResyncKind k) {
  return k == model::ResyncKind::kDelta ? drsim::v1::RESYNC_KIND_DELTA
                                        : drsim::v1::RESYNC_KIND_FULL;
}

inline void to_proto(const std::string& workload, const model::LogSummary& s, drsim::v1::LogSummary* out) {
  out->set_workload(workload);
  out->set_last_seq(s.last.value());
  out->set_last_epoch(s.last_epoch.value());
  out->set_first_retained(s.first_retained.value());
  for (const auto& sp : s.spans) {
    auto* p = out->add_spans();
    p->set_epoch(sp.epoch.value());
    p->set_first_seq(sp.first.value());
    p->set_last_seq(sp.last.value());
  }
}

inline model::LogSummary from_proto(const drsim::v1::LogSummary& in) {
  model::LogSummary s;
  s.last = Seq(in.last_seq());
  s.last_epoch = Epoch(in.last_epoch());
  s.first_retained = Seq(in.first_retained());
  for (const auto& p : in.spans()) {
    s.spans.push_back({Epoch(p.epoch()), Seq(p.first_seq()), Seq(p.last_seq())});
  }
  return s;
}

inline model::LogSummary cursor_only(Seq last, Epoch epoch) {
  model::LogSummary s;
  s.last = last;
  s.last_epoch = epoch;
  s.first_retained = last.next();
  return s;
}

inline Status deadline_exceeded(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}
}  // namespace drsim::region::region_node_parts
