// Three levels for bugs (after Envoy): DRSIM_ASSERT is debug-only,
// DRSIM_CHECK always aborts with a message, DRSIM_BUG logs-by-counter and
// continues — a drill fails when a daemon counted one (GetStatus.bugs_counted, read by the drill
// runner at the end), a simulated run when its process counted one during the run.
// Not bugs: a store that fails underneath a region (the disk, not the code) is a fail-stop,
// region::fail_stop (common/region/fail_stop.h), logged as critical before the abort.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace drsim {

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: DRSIM_CHECK failed: %s\n", file, line, expr);
  std::abort();
}

inline std::atomic<uint64_t>& bug_counter() {
  static std::atomic<uint64_t> count{0};
  return count;
}
// DRSIM_BUG reports counted by this process so far.
inline uint64_t bugs_counted() { return bug_counter().load(); }

}  // namespace drsim

#define DRSIM_CHECK(expr) \
  ((expr) ? static_cast<void>(0) : ::drsim::check_failed(#expr, __FILE__, __LINE__))

#ifdef NDEBUG
#define DRSIM_ASSERT(expr) static_cast<void>(0)
#else
#define DRSIM_ASSERT(expr) DRSIM_CHECK(expr)
#endif

#define DRSIM_BUG(msg)                                                             \
  do {                                                                             \
    ::drsim::bug_counter().fetch_add(1);                                           \
    std::fprintf(stderr, "%s:%d: DRSIM_BUG: %s\n", __FILE__, __LINE__, (msg));     \
  } while (0)
