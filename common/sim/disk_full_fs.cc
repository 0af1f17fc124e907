#include "common/sim/disk_full_fs.h"

#include <utility>

namespace drsim::sim {

namespace {

// A file that refuses every write while its path is full.
class FullableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullableFile(std::unique_ptr<rocksdb::FSWritableFile> target, std::string path,
               std::shared_ptr<std::string> full_prefix)
      : FSWritableFileOwnerWrapper(std::move(target)),
        path_(std::move(path)),
        full_prefix_(std::move(full_prefix)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (full()) return no_space();
    return FSWritableFileOwnerWrapper::Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    if (full()) return no_space();
    return FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (full()) return no_space();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& v,
                                     rocksdb::IODebugContext* dbg) override {
    if (full()) return no_space();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, v, dbg);
  }
  rocksdb::IOStatus Allocate(uint64_t offset, uint64_t len, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
    if (full()) return no_space();
    return FSWritableFileOwnerWrapper::Allocate(offset, len, o, dbg);
  }

 private:
  bool full() const { return !full_prefix_->empty() && path_.starts_with(*full_prefix_); }
  static rocksdb::IOStatus no_space() {
    return rocksdb::IOStatus::NoSpace("No space left on device (simulated)");
  }

  std::string path_;
  std::shared_ptr<std::string> full_prefix_;
};

}  // namespace

DiskFullFs::DiskFullFs(const std::shared_ptr<rocksdb::FileSystem>& target)
    : FileSystemWrapper(target) {}

bool DiskFullFs::full(const std::string& path) const {
  return !full_prefix_->empty() && path.starts_with(*full_prefix_);
}

rocksdb::IOStatus DiskFullFs::wrap(const std::string& f, rocksdb::IOStatus s,
                                   std::unique_ptr<rocksdb::FSWritableFile>* r) {
  if (!s.ok()) return s;
  *r = std::make_unique<FullableFile>(std::move(*r), f, full_prefix_);
  return s;
}

rocksdb::IOStatus DiskFullFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  if (full(f)) return rocksdb::IOStatus::NoSpace("No space left on device (simulated): " + f);
  return wrap(f, FileSystemWrapper::NewWritableFile(f, o, r, dbg), r);
}

rocksdb::IOStatus DiskFullFs::ReopenWritableFile(const std::string& f,
                                                 const rocksdb::FileOptions& o,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                 rocksdb::IODebugContext* dbg) {
  return wrap(f, FileSystemWrapper::ReopenWritableFile(f, o, r, dbg), r);
}

rocksdb::IOStatus DiskFullFs::ReuseWritableFile(const std::string& f, const std::string& old,
                                                const rocksdb::FileOptions& o,
                                                std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                rocksdb::IODebugContext* dbg) {
  if (full(f)) return rocksdb::IOStatus::NoSpace("No space left on device (simulated): " + f);
  return wrap(f, FileSystemWrapper::ReuseWritableFile(f, old, o, r, dbg), r);
}

rocksdb::IOStatus DiskFullFs::GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o,
                                           uint64_t* free_bytes, rocksdb::IODebugContext* dbg) {
  if (full(path)) {
    *free_bytes = 0;
    return rocksdb::IOStatus::OK();
  }
  return FileSystemWrapper::GetFreeSpace(path, o, free_bytes, dbg);
}

std::unique_ptr<rocksdb::Env> env_on(const std::shared_ptr<rocksdb::FileSystem>& fs) {
  return rocksdb::NewCompositeEnv(fs);
}

}  // namespace drsim::sim
