// A region's data dir on a small tmpfs of its own, and a filler that leaves it nearly full: the
// integration tests' full disk, never the machine's own (the test command runs as root).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/test_topology.h"

namespace drsim::testing {

// Unmounts a tmpfs lazily: the file system goes once the daemon (stopped last) closes it. Not
// copyable: a copy's destructor would unmount it early.
struct Unmount {
  explicit Unmount(std::filesystem::path d) : dir(std::move(d)) {}
  Unmount(const Unmount&) = delete;
  Unmount& operator=(const Unmount&) = delete;
  ~Unmount();
  std::filesystem::path dir;
};

// Mounts a fresh 256 MiB tmpfs on `dir` (which must exist and be empty); null and a test failure
// when it cannot.
std::unique_ptr<Unmount> mount_tmpfs(const std::filesystem::path& dir);

// Stops `region`, moves its data dir onto a fresh 256 MiB tmpfs and starts it again there.
// Returns the guard that unmounts it.
std::unique_ptr<Unmount> restart_on_tmpfs(TestTopology& topo, const std::string& region);

// Fills the file system under `dir` until `leave` bytes are free; returns the filler's path, or
// an empty one (and a test failure) when `dir` is not a tmpfs: never the machine's own disk.
std::filesystem::path fill_leaving(const std::filesystem::path& dir, uint64_t leave);

}  // namespace drsim::testing
