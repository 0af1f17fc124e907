// Fail-stop: the region's store failed underneath it in a way that leaves what it holds unknown
// (a durable write, a rollback, the role record) — not a bug of drsim's, and not a full disk
// (refused as RESOURCE_EXHAUSTED before anything is written). Serving on would let memory and
// disk disagree, so the process stops: a critical line naming what failed, the log flushed,
// abort. The supervisor (or `drsim inject restart`) starts it again on what the store holds.
#pragma once

#include <cstdlib>
#include <string_view>

#include <spdlog/spdlog.h>

namespace drsim::region {

[[noreturn]] inline void fail_stop(std::string_view what) {
  spdlog::critical("fail-stop: {}", what);
  spdlog::default_logger()->flush();
  std::abort();
}

}  // namespace drsim::region
