// A file system that runs out of space on demand: the simulator's disk-full nemesis. It wraps
// another (the in-memory one) and, while `fill(prefix)` holds for a path, every write to a file
// under that prefix fails with RocksDB's IOStatus::NoSpace before any byte is written, as a
// full ext4 answers ENOSPC; creating a file there fails the same way. `free_space()` ends it.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <memory>
#include <string>

namespace drsim::sim {

class DiskFullFs : public rocksdb::FileSystemWrapper {
 public:
  explicit DiskFullFs(const std::shared_ptr<rocksdb::FileSystem>& target);

  static const char* kClassName() { return "DrsimDiskFullFs"; }
  const char* Name() const override { return kClassName(); }

  // Files whose path starts with `prefix` have no room from now on ("" = none).
  void fill(std::string prefix) { *full_prefix_ = std::move(prefix); }
  void free_space() { full_prefix_->clear(); }
  bool full(const std::string& path) const;

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  // 0 under a full prefix; elsewhere what the wrapped file system says.
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o,
                                 uint64_t* free_bytes, rocksdb::IODebugContext* dbg) override;

 private:
  rocksdb::IOStatus wrap(const std::string& f, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* r);
  // Shared with the files made, which may outlive a reconfiguration but not the file system.
  std::shared_ptr<std::string> full_prefix_ = std::make_shared<std::string>();
};

// An Env on `fs` (RocksDB opens a store through an Env; the file system is what it writes to).
std::unique_ptr<rocksdb::Env> env_on(const std::shared_ptr<rocksdb::FileSystem>& fs);

}  // namespace drsim::sim
