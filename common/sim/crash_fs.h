// A file system that loses what was not synced when its host crashes: the simulator's kill
// nemesis. It wraps another (in the simulator: DiskFullFs over the in-memory one) and records,
// per file written through it, how many bytes were written and how many of them a Sync /
// Fsync / RangeSync (up to the end) made durable. `kill(prefix)` is the crash instant: from then
// on nothing under the prefix reaches the disk (the dead process's remaining writes, syncs,
// renames and deletes fail), so the store can be torn down without any of its shutdown writes
// counting. `drop_unsynced(prefix)` then does what the reboot finds: every file under the prefix
// is cut back to its synced length, a file never synced is gone, and writes work again.
//
// Modelled: file contents (a power loss on ext4 with data=ordered keeps a synced prefix).
// Not modelled: directory entries. A file's creation, rename and deletion count as durable at
// once, as if every directory were fsynced right after (RocksDB fsyncs the directory after
// each of them, so this matters only to RocksDB's own correctness, not to drsim's). Like
// RocksDB's FaultInjectionTestFS (utilities/fault_injection_fs.cc, DropUnsyncedFileData), but
// the bytes go through at once and are cut back at the crash, so reads see what was written.
#pragma once

#include <rocksdb/file_system.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace drsim::sim {

class CrashFs : public rocksdb::FileSystemWrapper {
 public:
  explicit CrashFs(const std::shared_ptr<rocksdb::FileSystem>& target);

  static const char* kClassName() { return "DrsimCrashFs"; }
  const char* Name() const override { return kClassName(); }

  // The host of every file under `prefix` crashes now: nothing more under it reaches the disk
  // until drop_unsynced(prefix).
  void kill(const std::string& prefix);
  // What survives the crash: files under `prefix` cut back to their synced length, files never
  // synced deleted. Returns the bytes dropped. Writes under the prefix work again.
  uint64_t drop_unsynced(const std::string& prefix);

  // Bytes of `path` written through this file system and not yet synced (tests).
  uint64_t unsynced_bytes(const std::string& path) const;

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
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& f, size_t size, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override;

  // One file's lengths; shared with its open handles, under the file system's mutex.
  struct Lengths {
    uint64_t written = 0;
    uint64_t synced = 0;
    bool ever_synced = false;
  };
  struct State;

 private:
  rocksdb::IOStatus track(const std::string& f, rocksdb::IOStatus s, uint64_t existing_bytes,
                          std::unique_ptr<rocksdb::FSWritableFile>* r);
  std::shared_ptr<State> state_;
};

}  // namespace drsim::sim
