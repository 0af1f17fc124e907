#include "common/sim/crash_fs.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/core/check.h"

namespace drsim::sim {

// RocksDB's flush and compaction threads write too: every access is under the mutex.
struct CrashFs::State {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Lengths>> files;
  std::vector<std::string> dead;  // prefixes whose host crashed and has not rebooted

  bool dead_locked(const std::string& path) const {
    for (const auto& p : dead) {
      if (path.starts_with(p)) return true;
    }
    return false;
  }
  bool is_dead(const std::string& path) {
    std::lock_guard lock(mu);
    return dead_locked(path);
  }
};

namespace {

rocksdb::IOStatus crashed(const std::string& path) {
  return rocksdb::IOStatus::IOError("simulated crash: the host of " + path + " is down");
}

// A file that counts its bytes and what a sync made durable, and writes nothing once its host
// crashed.
class CrashableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CrashableFile(std::unique_ptr<rocksdb::FSWritableFile> target, std::string path,
                std::shared_ptr<CrashFs::State> state, std::shared_ptr<CrashFs::Lengths> lengths)
      : FSWritableFileOwnerWrapper(std::move(target)),
        path_(std::move(path)),
        state_(std::move(state)),
        lengths_(std::move(lengths)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    return appended(data.size(), [&] { return FSWritableFileOwnerWrapper::Append(data, o, dbg); });
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    return appended(data.size(),
                    [&] { return FSWritableFileOwnerWrapper::Append(data, o, v, dbg); });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    return positioned(offset + data.size(), [&] {
      return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, dbg);
    });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& v,
                                     rocksdb::IODebugContext* dbg) override {
    return positioned(offset + data.size(), [&] {
      return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, v, dbg);
    });
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
    return then([&] { return FSWritableFileOwnerWrapper::Truncate(size, o, dbg); },
                [size](CrashFs::Lengths& l) {
                  l.written = size;
                  l.synced = std::min(l.synced, size);
                });
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return synced(UINT64_MAX, [&] { return FSWritableFileOwnerWrapper::Sync(o, dbg); });
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return synced(UINT64_MAX, [&] { return FSWritableFileOwnerWrapper::Fsync(o, dbg); });
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    // RocksDB syncs consecutive ranges from the synced end: durable up to the range's end.
    return synced(offset + nbytes,
                  [&] { return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, o, dbg); });
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (state_->is_dead(path_)) return crashed(path_);
    return FSWritableFileOwnerWrapper::Flush(o, dbg);
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (state_->is_dead(path_)) return crashed(path_);
    return FSWritableFileOwnerWrapper::Close(o, dbg);
  }

 private:
  // Nothing reaches a dead host; what reached the disk updates the file's lengths.
  template <typename Op, typename Update>
  rocksdb::IOStatus then(Op op, Update update) {
    if (state_->is_dead(path_)) return crashed(path_);
    rocksdb::IOStatus s = op();
    if (s.ok()) {
      std::lock_guard lock(state_->mu);
      update(*lengths_);
    }
    return s;
  }
  template <typename Op>
  rocksdb::IOStatus appended(uint64_t bytes, Op op) {
    return then(op, [bytes](CrashFs::Lengths& l) { l.written += bytes; });
  }
  template <typename Op>
  rocksdb::IOStatus positioned(uint64_t end, Op op) {
    return then(op, [end](CrashFs::Lengths& l) { l.written = std::max(l.written, end); });
  }
  template <typename Op>
  rocksdb::IOStatus synced(uint64_t through, Op op) {
    return then(op, [through](CrashFs::Lengths& l) {
      l.synced = std::max(l.synced, std::min(through, l.written));
      l.ever_synced = true;
    });
  }

  std::string path_;
  std::shared_ptr<CrashFs::State> state_;
  std::shared_ptr<CrashFs::Lengths> lengths_;
};

// Cuts `path` back to `bytes` on `fs`: its own Truncate, or a rewrite of the prefix where the
// file system has none.
rocksdb::IOStatus cut_back(rocksdb::FileSystem& fs, const std::string& path, uint64_t bytes) {
  rocksdb::IOOptions io;
  rocksdb::IOStatus s = fs.Truncate(path, bytes, io, nullptr);
  if (!s.IsNotSupported()) return s;
  std::unique_ptr<rocksdb::FSSequentialFile> in;
  s = fs.NewSequentialFile(path, rocksdb::FileOptions(), &in, nullptr);
  if (!s.ok()) return s;
  std::string kept(bytes, '\0');
  rocksdb::Slice read;
  s = in->Read(bytes, io, &read, kept.data(), nullptr);
  if (!s.ok()) return s;
  kept.resize(read.size());
  in.reset();
  std::unique_ptr<rocksdb::FSWritableFile> out;
  s = fs.NewWritableFile(path, rocksdb::FileOptions(), &out, nullptr);
  if (!s.ok()) return s;
  s = out->Append(kept, io, nullptr);
  if (s.ok()) s = out->Sync(io, nullptr);
  if (s.ok()) s = out->Close(io, nullptr);
  return s;
}

}  // namespace

CrashFs::CrashFs(const std::shared_ptr<rocksdb::FileSystem>& target)
    : FileSystemWrapper(target), state_(std::make_shared<State>()) {}

void CrashFs::kill(const std::string& prefix) {
  std::lock_guard lock(state_->mu);
  state_->dead.push_back(prefix);
}

uint64_t CrashFs::drop_unsynced(const std::string& prefix) {
  std::lock_guard lock(state_->mu);
  uint64_t dropped = 0;
  rocksdb::IOOptions io;
  for (auto it = state_->files.begin(); it != state_->files.end();) {
    const std::string& path = it->first;
    if (!path.starts_with(prefix)) {
      ++it;
      continue;
    }
    uint64_t size = 0;
    if (!target()->GetFileSize(path, io, &size, nullptr).ok()) {
      it = state_->files.erase(it);  // gone already
      continue;
    }
    Lengths& l = *it->second;
    if (!l.ever_synced) {
      target()->DeleteFile(path, io, nullptr);
      dropped += size;
      it = state_->files.erase(it);
      continue;
    }
    if (size > l.synced) {
      rocksdb::IOStatus s = cut_back(*target(), path, l.synced);
      DRSIM_CHECK(s.ok());  // the in-memory file system cannot fail here
      dropped += size - l.synced;
    }
    l.written = l.synced;
    ++it;
  }
  std::erase(state_->dead, prefix);
  return dropped;
}

uint64_t CrashFs::unsynced_bytes(const std::string& path) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->files.find(path);
  return it == state_->files.end() ? 0 : it->second->written - it->second->synced;
}

rocksdb::IOStatus CrashFs::track(const std::string& f, rocksdb::IOStatus s, uint64_t existing_bytes,
                                 std::unique_ptr<rocksdb::FSWritableFile>* r) {
  if (!s.ok()) return s;
  std::shared_ptr<Lengths> lengths;
  {
    std::lock_guard lock(state_->mu);
    auto& slot = state_->files[f];
    if (!slot || existing_bytes == 0) {
      // A new (or emptied) file; an existing one opened for append survived so far.
      slot = std::make_shared<Lengths>();
      slot->written = slot->synced = existing_bytes;
      slot->ever_synced = existing_bytes > 0;
    }
    lengths = slot;
  }
  *r = std::make_unique<CrashableFile>(std::move(*r), f, state_, std::move(lengths));
  return s;
}

rocksdb::IOStatus CrashFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                                           rocksdb::IODebugContext* dbg) {
  if (state_->is_dead(f)) return crashed(f);
  return track(f, FileSystemWrapper::NewWritableFile(f, o, r, dbg), 0, r);
}

rocksdb::IOStatus CrashFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  if (state_->is_dead(f)) return crashed(f);
  uint64_t size = 0;
  if (!FileSystemWrapper::GetFileSize(f, rocksdb::IOOptions(), &size, dbg).ok()) size = 0;
  return track(f, FileSystemWrapper::ReopenWritableFile(f, o, r, dbg), size, r);
}

rocksdb::IOStatus CrashFs::ReuseWritableFile(const std::string& f, const std::string& old,
                                             const rocksdb::FileOptions& o,
                                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                                             rocksdb::IODebugContext* dbg) {
  if (state_->is_dead(f)) return crashed(f);
  rocksdb::IOStatus s = FileSystemWrapper::ReuseWritableFile(f, old, o, r, dbg);
  if (s.ok()) {
    std::lock_guard lock(state_->mu);
    state_->files.erase(old);
  }
  return track(f, s, 0, r);
}

rocksdb::IOStatus CrashFs::RenameFile(const std::string& src, const std::string& dst,
                                      const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  if (state_->is_dead(src) || state_->is_dead(dst)) return crashed(src);
  rocksdb::IOStatus s = FileSystemWrapper::RenameFile(src, dst, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(src);
    if (it != state_->files.end()) {
      state_->files[dst] = it->second;
      state_->files.erase(src);
    } else {
      state_->files.erase(dst);  // replaced by a file this file system did not write
    }
  }
  return s;
}

rocksdb::IOStatus CrashFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                                      rocksdb::IODebugContext* dbg) {
  if (state_->is_dead(f)) return crashed(f);
  rocksdb::IOStatus s = FileSystemWrapper::DeleteFile(f, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(state_->mu);
    state_->files.erase(f);
  }
  return s;
}

rocksdb::IOStatus CrashFs::Truncate(const std::string& f, size_t size, const rocksdb::IOOptions& o,
                                    rocksdb::IODebugContext* dbg) {
  if (state_->is_dead(f)) return crashed(f);
  rocksdb::IOStatus s = FileSystemWrapper::Truncate(f, size, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(f);
    if (it != state_->files.end()) {
      it->second->written = std::min<uint64_t>(it->second->written, size);
      it->second->synced = std::min<uint64_t>(it->second->synced, size);
    }
  }
  return s;
}

}  // namespace drsim::sim
