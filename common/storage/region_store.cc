// RegionStore (region_store.h): opening the database, the region meta and workload cursors,
// applying changes with their log entries, the log's reads and trim, point reads and scans, and
// writes resumed after a full disk. Re-protect's reads and writes are in
// region_store_reprotect.cc, checkpoints and records in region_store_checkpoints.cc.
#include "common/storage/region_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/listener.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>

#include "common/storage/free_space.h"
#include "common/storage/region_store_keys.h"

namespace drsim::storage {

using namespace region_store_keys;

namespace {

// After a background write (a flush, a compaction) failed for want of space, RocksDB would
// recover on its own: its SstFileManager polls the free space every 5 s of real time on a
// thread of its own, and DB::Resume() answers Busy until then. The store resumes instead
// (resume_writes), on the writer's thread at its next write once the room check passes: at
// once when the room is back, and on virtual time in the simulator, where a recovery on real
// time made a disk-full seed fail 1 run in 20 ("the secondary did not catch up within 10 s")
// and pass on replay.
class ResumedByTheStore final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    *auto_recovery = false;
  }
};

}  // namespace

RegionStore::RegionStore(std::string dir, rocksdb::DB* db,
                         std::vector<rocksdb::ColumnFamilyHandle*> handles, Durability durability,
                         uint64_t log_retention)
    : dir_(std::move(dir)),
      db_(db),
      data_cf_(handles.at(0)),
      log_cf_(handles.at(1)),
      durability_(durability),
      log_retention_(log_retention) {}

RegionStore::~RegionStore() {
  if (db_) {
    db_->DestroyColumnFamilyHandle(log_cf_);
    db_->DestroyColumnFamilyHandle(data_cf_);
  }
}

Result<std::unique_ptr<RegionStore>> RegionStore::open(const std::string& dir,
                                                       Durability durability,
                                                       uint64_t log_retention,
                                                       rocksdb::Env* env) {
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.OptimizeLevelStyleCompaction(64 << 20);
  options.max_open_files = 256;
  // One writer (the region loop); the vector memtable of the log needs this off.
  options.allow_concurrent_memtable_write = false;
  options.listeners.push_back(std::make_shared<ResumedByTheStore>());
  // Flushes and compactions run niced: on a small machine they must not
  // starve the region loop that applies and acknowledges writes.
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH);
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
  rocksdb::ColumnFamilyOptions data_options(options);
  rocksdb::ColumnFamilyOptions log_options(options);
  log_options.memtable_factory.reset(new rocksdb::VectorRepFactory());
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, data_options}, {"log", log_options}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(options), dir, families, &handles, &db);
  // A daemon restarted right after its predecessor was killed (drsim inject restart, a
  // supervisor's Restart=) can find the predecessor's lock still held for a moment: seen in
  // tests as "LOCK: Resource temporarily unavailable" ~50 ms after SIGKILL under load. Wait up
  // to 3 s for it to go; a lock held longer is a live second daemon and refused as before.
  auto is_lock_error = [](const rocksdb::Status& st) {
    return st.IsIOError() && st.ToString().find("lock") != std::string::npos;
  };
  for (int attempt = 0; !s.ok() && is_lock_error(s) && attempt < 60; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    handles.clear();
    s = rocksdb::DB::Open(rocksdb::DBOptions(options), dir, families, &handles, &db);
  }
  if (!s.ok()) {
    return Status(s.IsIOError() && s.ToString().find("lock") != std::string::npos
                      ? StatusCode::kFailedPrecondition
                      : StatusCode::kUnavailable,
                  "cannot open region store " + dir + ": " + s.ToString());
  }
  return std::unique_ptr<RegionStore>(
      new RegionStore(dir, db, std::move(handles), durability, log_retention));
}

Result<std::optional<RegionMeta>> RegionStore::load_meta() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kMetaKey, &v);
  if (s.IsNotFound()) return std::optional<RegionMeta>();
  if (!s.ok()) return from_rocks(s, "read region meta");
  if (v.size() != 10) return Status(StatusCode::kDataLoss, "region meta has a bad size");
  RegionMeta meta;
  meta.active = v[0] == 'A';
  meta.epoch = get_u64(v.data() + 1);
  meta.protected_ = v[9] == 'P';
  return std::optional<RegionMeta>(meta);
}

Status RegionStore::save_meta(const RegionMeta& meta) {
  std::string v;
  v.push_back(meta.active ? 'A' : 'S');
  put_u64(v, meta.epoch);
  v.push_back(meta.protected_ ? 'P' : 'U');
  rocksdb::WriteOptions wo;
  wo.sync = true;  // role changes are rare and must survive anything
  return from_rocks(db_->Put(wo, kMetaKey, v), "write region meta");
}

Result<WorkloadCursor> RegionStore::load_cursor(const std::string& workload) {
  return read_cursor(workload, rocksdb::ReadOptions());
}

Result<WorkloadCursor> RegionStore::load_cursor(const std::string& workload,
                                                const Snapshot& snapshot) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snap_;
  return read_cursor(workload, ro);
}

Result<WorkloadCursor> RegionStore::read_cursor(const std::string& workload,
                                                const rocksdb::ReadOptions& ro) {
  std::string v;
  rocksdb::Status s = db_->Get(ro, cursor_key(workload), &v);
  if (s.IsNotFound()) return WorkloadCursor{};
  if (!s.ok()) return from_rocks(s, "read cursor of " + workload);
  if (v.size() != 16) return Status(StatusCode::kDataLoss, "cursor of " + workload + " is corrupt");
  return WorkloadCursor{Seq(get_u64(v.data())), Epoch(get_u64(v.data() + 8))};
}

Status RegionStore::apply(const std::vector<const drsim::v1::Change*>& changes) {
  if (changes.empty()) return Status::ok();
  rocksdb::WriteBatch batch;
  std::string entry;
  // Newest seq per workload in this batch, for the cursor.
  std::vector<const drsim::v1::Change*> newest;
  for (const auto* c : changes) {
    const std::string& w = c->workload();
    if (c->op() == drsim::v1::OP_DELETE) {
      batch.Delete(data_key(w, c->key()));
    } else {
      batch.Put(data_key(w, c->key()), c->value());
    }
    entry.clear();
    c->SerializeToString(&entry);
    batch.Put(log_cf_, log_key(w, c->seq()), entry);
    bool found = false;
    for (auto& n : newest) {
      if (n->workload() == w) {
        n = c;
        found = true;
        break;
      }
    }
    if (!found) newest.push_back(c);
  }
  for (const auto* c : newest) {
    std::string v;
    put_u64(v, c->seq());
    put_u64(v, c->epoch());
    batch.Put(cursor_key(c->workload()), v);
  }
  Status st = write_resumable(batch, durability_ == Durability::kPowerLoss, "apply batch");
  if (st.is_ok()) {
    for (const auto* c : newest) maybe_trim_log(c->workload(), Seq(c->seq()));
  }
  return st;
}

Status RegionStore::write_resumable(rocksdb::WriteBatch& batch, bool sync,
                                    const std::string& what) {
  if (writes_stopped_) {
    if (Status resumed = resume_writes(); !resumed.is_ok()) return resumed;
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  Status st = from_rocks(db_->Write(wo, &batch), what);
  if (!st.is_ok()) writes_stopped_ = true;
  return st;
}

Status RegionStore::check_room(uint64_t bytes) {
  if (writes_stopped_) return resume_writes();
  return require_room_to_write(*db_->GetEnv(), dir_, bytes);
}

Status RegionStore::resume_writes() {
  // RocksDB stops writing after a failed write until it is resumed by DB::Resume() (its own
  // recovery is off: ResumedByTheStore). A resume that fails for want of space escalates the
  // store's error to fatal (no resume ever again), so it is tried only once the file system has
  // room; a file system that cannot tell is tried.
  if (Status room = require_room_to_write(*db_->GetEnv(), dir_, 0); !room.is_ok()) return room;
  rocksdb::Status r = db_->Resume();
  if (r.IsBusy()) {
    return Status(StatusCode::kResourceExhausted,
                  "disk full: the store under " + dir_ + " is recovering from a write error");
  }
  if (!r.ok() && r.severity() >= rocksdb::Status::Severity::kFatalError) {
    return internal_error("the store under " + dir_ + " cannot resume writing: " + r.ToString());
  }
  if (Status st = from_rocks(r, "resume writes"); !st.is_ok()) return st;
  writes_stopped_ = false;
  return Status::ok();
}

void RegionStore::maybe_trim_log(const std::string& workload, Seq newest) {
  // Trim in steps so the range delete is rare; keep `log_retention_` entries
  // for resuming a standby that fell behind (and, later, delta re-protect).
  constexpr uint64_t kStep = 65536;
  uint64_t n = newest.value();
  if (n <= log_retention_ + kStep || n % kStep != 0) return;
  rocksdb::WriteOptions wo;
  db_->DeleteRange(wo, log_cf_, log_key(workload, 0), log_key(workload, n - log_retention_));
}

Status RegionStore::read_log(const std::string& workload, Seq first, Seq last,
                             std::vector<drsim::v1::Change>* out) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  uint64_t expect = first.value();
  std::string end = log_key(workload, last.value());
  for (it->Seek(log_key(workload, first.value())); it->Valid() && expect <= last.value();
       it->Next()) {
    if (it->key().compare(end) > 0) break;
    drsim::v1::Change c;
    if (!c.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Status(StatusCode::kDataLoss, "log entry of " + workload + " is corrupt");
    }
    if (c.seq() != expect) break;
    out->push_back(std::move(c));
    ++expect;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "read log of " + workload);
  if (expect <= last.value()) {
    return out_of_range("log of " + workload + " no longer holds seq " + std::to_string(expect) +
                        " (trimmed): the standby needs a full resync");
  }
  return Status::ok();
}

Result<Epoch> RegionStore::log_epoch(const std::string& workload, Seq seq) {
  if (seq.value() == 0) return Epoch(0);
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), log_cf_, log_key(workload, seq.value()), &v);
  if (s.IsNotFound()) return not_found("log entry " + std::to_string(seq.value()) + " trimmed");
  if (!s.ok()) return from_rocks(s, "read log entry");
  drsim::v1::Change c;
  if (!c.ParseFromString(v)) return Status(StatusCode::kDataLoss, "log entry is corrupt");
  return Epoch(c.epoch());
}

Result<std::optional<std::string>> RegionStore::get(const std::string& workload,
                                                    const std::string& key) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_key(workload, key), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocks(s, "read " + workload);
  return std::optional<std::string>(std::move(v));
}

Result<RegionStore::ScanPage> RegionStore::scan(const std::string& workload,
                                                const std::string& start_key, size_t limit,
                                                size_t max_bytes) {
  return scan_page(rocksdb::ReadOptions(), workload, start_key, limit, max_bytes, "scan ");
}

Result<RegionStore::ScanPage> RegionStore::scan_page(const rocksdb::ReadOptions& ro,
                                                     const std::string& workload,
                                                     const std::string& start_key, size_t limit,
                                                     size_t max_bytes, const char* what) {
  ScanPage page;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  Status st = read_prefix_page(*it, data_prefix(workload), start_key, limit, &page.items,
                               &page.next_key, what + workload, max_bytes);
  if (!st.is_ok()) return st;
  return page;
}

}  // namespace drsim::storage
