#include "common/storage/region_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <thread>

#include "common/storage/free_space.h"
#include "common/storage/rocks_codec.h"

namespace drsim::storage {
namespace {

// Key layout (one keyspace, prefixes; workload names never contain '\0'):
//   m                      region meta
//   c\0<workload>          cursor: seq(8) epoch(8), big-endian
//   d\0<workload>\0<key>   data
//   l\0<workload>\0<seq8>  replication log entry (serialized Change)
//   sr\0<name>             Site Recovery vault record (a protected item's spec)
//   u\0<workload>          seq(8): entries after it may be a branch of this region's own
//                          (RegionStore::mark_unverified)
constexpr char kMetaKey[] = "m";

std::string cursor_key(const std::string& w) { return std::string("c\0", 2) + w; }
// Present while a full copy into this workload is incomplete.
std::string copy_mark_key(const std::string& w) { return std::string("f\0", 2) + w; }
std::string unverified_key(const std::string& w) { return std::string("u\0", 2) + w; }
std::string data_end(const std::string& w) { return std::string("d\0", 2) + w + '\x01'; }
std::string log_prefix(const std::string& w) { return std::string("l\0", 2) + w + '\0'; }
std::string cursor_value(const WorkloadCursor& c) {
  std::string v;
  put_u64(v, c.seq.value());
  put_u64(v, c.epoch.value());
  return v;
}
std::string data_prefix(const std::string& w) { return std::string("d\0", 2) + w + '\0'; }
std::string data_key(const std::string& w, const std::string& k) { return data_prefix(w) + k; }
std::string log_key(const std::string& w, uint64_t seq) {
  std::string k = std::string("l\0", 2) + w + '\0';
  put_u64(k, seq);
  return k;
}

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
  // RocksDB stops writing after a failed write until it is resumed: by DB::Resume(), or by its
  // SstFileManager, which polls for free space every 5 s after a NoSpace error (Resume answers
  // Busy meanwhile). A resume that fails for want of space escalates the store's error to fatal
  // (no resume ever again), so it is tried only once the file system has room; a file system
  // that cannot tell is tried.
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

// ---------------------------------------------------------------- re-protect

RegionStore::Snapshot::~Snapshot() { db_->ReleaseSnapshot(snap_); }

std::unique_ptr<RegionStore::Snapshot> RegionStore::snapshot() {
  return std::unique_ptr<Snapshot>(new Snapshot(db_.get(), db_->GetSnapshot()));
}

Result<RegionStore::ScanPage> RegionStore::scan(const std::string& workload,
                                                const std::string& start_key, size_t limit,
                                                size_t max_bytes, const Snapshot& snapshot) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snap_;
  ro.fill_cache = false;  // a one-off sweep must not evict the working set
  return scan_page(ro, workload, start_key, limit, max_bytes, "snapshot scan of ");
}

uint64_t RegionStore::approximate_data_bytes(const std::string& workload) {
  std::string begin = data_prefix(workload);
  std::string end = data_end(workload);
  rocksdb::Range range(begin, end);
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  options.include_files = true;
  uint64_t size = 0;
  if (!db_->GetApproximateSizes(options, data_cf_, &range, 1, &size).ok()) return 0;
  return size;
}

Result<model::LogSummary> RegionStore::log_summary(const std::string& workload,
                                                   const WorkloadCursor& cursor, size_t max_spans) {
  model::LogSummary s;
  s.last = cursor.seq;
  s.last_epoch = cursor.epoch;
  s.first_retained = cursor.seq.next();
  if (cursor.seq.value() == 0) return s;
  std::string prefix = log_prefix(workload);
  // One iterator for every probe: a point read of the log's vector memtable sorts a copy of it,
  // an iterator sorts once and then seeks by binary search.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  it->Seek(prefix);
  if (!it->status().ok()) return from_rocks(it->status(), "read log of " + workload);
  if (!it->Valid() || !it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8) {
    return s;  // no log: only the cursor is known
  }
  uint64_t first = get_u64(it->key().data() + prefix.size());
  if (first == 0 || first > cursor.seq.value()) return s;
  // Epoch of entry `seq`; 0 when it is missing (a hole: only the cursor is reported then).
  auto epoch_of = [&](uint64_t seq) -> Result<uint64_t> {
    std::string key = log_key(workload, seq);
    it->Seek(key);
    if (!it->status().ok()) return from_rocks(it->status(), "read log of " + workload);
    if (!it->Valid() || it->key() != rocksdb::Slice(key)) return uint64_t{0};
    drsim::v1::Change c;
    if (!c.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Status(StatusCode::kDataLoss, "log entry of " + workload + " is corrupt");
    }
    return c.epoch();
  };
  model::LogSummary only_cursor = s;
  s.first_retained = Seq(first);
  // Epochs are non-decreasing along the log: each span's end is found by binary search.
  std::vector<model::EpochSpan> spans;
  uint64_t at = first;
  uint64_t last = cursor.seq.value();
  while (at <= last) {
    auto e = epoch_of(at);
    if (!e.is_ok()) return e.status();
    if (*e == 0) return only_cursor;
    uint64_t lo = at;
    uint64_t hi = last;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo + 1) / 2;
      auto m = epoch_of(mid);
      if (!m.is_ok()) return m.status();
      if (*m == 0) return only_cursor;
      if (*m == *e) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    if (spans.size() == max_spans) return only_cursor;
    spans.push_back({Epoch(*e), Seq(at), Seq(lo)});
    at = lo + 1;
  }
  if (spans.back().epoch != cursor.epoch) return only_cursor;  // log and cursor disagree
  s.spans = std::move(spans);
  return s;
}

Status RegionStore::scan_log_backward(const std::string& workload, Seq from,
                                      const std::function<bool(const drsim::v1::Change&)>& fn) {
  std::string prefix = log_prefix(workload);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  for (it->SeekForPrev(log_key(workload, from.value()));
       it->Valid() && it->key().starts_with(prefix); it->Prev()) {
    drsim::v1::Change c;
    if (!c.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Status(StatusCode::kDataLoss, "log entry of " + workload + " is corrupt");
    }
    if (!fn(c)) break;
  }
  return from_rocks(it->status(), "read log of " + workload);
}

Status RegionStore::scan_log(const std::string& workload, Seq first, Seq last,
                             const std::function<bool(const drsim::v1::Change&)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  std::string end = log_key(workload, last.value());
  for (it->Seek(log_key(workload, first.value())); it->Valid(); it->Next()) {
    if (it->key().compare(end) > 0) break;
    drsim::v1::Change c;
    if (!c.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Status(StatusCode::kDataLoss, "log entry of " + workload + " is corrupt");
    }
    if (!fn(c)) break;
  }
  return from_rocks(it->status(), "read log of " + workload);
}

Status RegionStore::roll_back(const std::string& workload, const WorkloadCursor& common,
                              const std::vector<model::KeyRestore>& restores) {
  rocksdb::WriteBatch batch;
  batch.DeleteRange(log_cf_, log_key(workload, common.seq.value() + 1),
                    log_key(workload, std::numeric_limits<uint64_t>::max()));
  for (const auto& r : restores) {
    if (r.value) {
      batch.Put(data_key(workload, r.key), *r.value);
    } else {
      batch.Delete(data_key(workload, r.key));
    }
  }
  batch.Put(cursor_key(workload), cursor_value(common));
  // What came after `common` is gone, the branch a mark warned of with it (the caller rolls
  // back to at most the mark).
  batch.Delete(unverified_key(workload));
  // Synced: rare, and the cursor must never run ahead of the data.
  return write_resumable(batch, true, "roll back " + workload);
}

Status RegionStore::begin_full_copy(const std::string& workload) {
  rocksdb::WriteBatch batch;
  batch.DeleteRange(log_cf_, log_key(workload, 0),
                    log_key(workload, std::numeric_limits<uint64_t>::max()));
  batch.Delete(cursor_key(workload));
  batch.Delete(unverified_key(workload));
  batch.Put(copy_mark_key(workload), "");
  return write_resumable(batch, true, "begin full copy of " + workload);
}

Status RegionStore::apply_snapshot_chunk(const drsim::v1::SnapshotChunk& chunk) {
  const std::string& w = chunk.workload();
  rocksdb::WriteBatch batch;
  // Replace the whole range: keys this region has and the source does not disappear. Puts
  // after the range delete in one batch get later sequence numbers, so they survive it.
  std::string begin = data_key(w, chunk.start_key());
  std::string end = chunk.end_key().empty() ? data_end(w) : data_key(w, chunk.end_key());
  if (begin < end) batch.DeleteRange(data_cf_, begin, end);
  for (const auto& item : chunk.items()) batch.Put(data_key(w, item.key()), item.value());
  if (chunk.last()) {
    batch.Put(cursor_key(w), cursor_value({Seq(chunk.seq()), Epoch(chunk.epoch())}));
    batch.Delete(copy_mark_key(w));
  }
  return write_resumable(batch, chunk.last() || durability_ == Durability::kPowerLoss,
                         "apply snapshot chunk of " + w);
}

Status RegionStore::mark_unverified(const std::vector<std::pair<std::string, Seq>>& marks) {
  if (marks.empty()) return Status::ok();
  rocksdb::WriteBatch batch;
  for (const auto& [workload, after] : marks) {
    std::string v;
    put_u64(v, after.value());
    batch.Put(unverified_key(workload), v);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // the mark must be durable before a write it covers is acknowledged
  return from_rocks(db_->Write(wo, &batch), "mark unverified writes");
}

Result<std::map<std::string, Seq>> RegionStore::unverified_marks() {
  const std::string prefix = unverified_key("");
  std::vector<std::pair<std::string, std::string>> items;
  std::string next;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  Status s = read_prefix_page(*it, prefix, "", SIZE_MAX, &items, &next, "read unverified marks");
  if (!s.is_ok()) return s;
  std::map<std::string, Seq> marks;
  for (const auto& [workload, v] : items) {
    if (v.size() != 8) {
      return Status(StatusCode::kDataLoss, "unverified mark of " + workload + " is corrupt");
    }
    marks.emplace(workload, Seq(get_u64(v.data())));
  }
  return marks;
}

Status RegionStore::clear_unverified(const std::vector<std::string>& workloads) {
  if (workloads.empty()) return Status::ok();
  rocksdb::WriteBatch batch;
  for (const auto& w : workloads) batch.Delete(unverified_key(w));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db_->Write(wo, &batch), "clear unverified marks");
}

Result<bool> RegionStore::full_copy_incomplete(const std::string& workload) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), copy_mark_key(workload), &v);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return from_rocks(s, "read copy mark of " + workload);
  return true;
}

Status RegionStore::create_checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  if (rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw); !s.ok()) {
    return from_rocks(s, "create checkpoint object");
  }
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return from_rocks(checkpoint->CreateCheckpoint(dir), "checkpoint into " + dir);
}

namespace {

// A recovery point's checkpoint opened read-only: its data and log column families.
struct OpenCheckpoint {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // data, log
  ~OpenCheckpoint() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
};

Result<std::unique_ptr<OpenCheckpoint>> open_checkpoint(const std::string& dir) {
  rocksdb::Options options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {"log", rocksdb::ColumnFamilyOptions(options)}};
  auto out = std::make_unique<OpenCheckpoint>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(options), dir, families, &out->handles, &raw);
  if (!s.ok()) return from_rocks(s, "open recovery point " + dir);
  out->db.reset(raw);
  return out;
}

}  // namespace

Result<std::vector<model::KeyRestore>> RegionStore::read_checkpoint(
    const std::string& dir, const std::string& workload, const std::vector<std::string>& keys) {
  auto cp = open_checkpoint(dir);
  if (!cp.is_ok()) return cp.status();
  rocksdb::DB* db = (*cp)->db.get();
  const auto& handles = (*cp)->handles;
  std::vector<model::KeyRestore> out;
  Status result = Status::ok();
  for (const auto& key : keys) {
    std::string v;
    rocksdb::Status g = db->Get(rocksdb::ReadOptions(), handles[0], data_key(workload, key), &v);
    if (g.IsNotFound()) {
      out.push_back({key, std::nullopt});
    } else if (!g.ok()) {
      result = from_rocks(g, "read recovery point " + dir);
      break;
    } else {
      out.push_back({key, std::move(v)});
    }
  }
  if (!result.is_ok()) return result;
  return out;
}

Result<std::map<std::string, Seq>> RegionStore::read_checkpoint_cursors(
    const std::string& dir, const std::vector<std::string>& workloads) {
  auto cp = open_checkpoint(dir);
  if (!cp.is_ok()) return cp.status();
  rocksdb::DB* db = (*cp)->db.get();
  const auto& handles = (*cp)->handles;
  std::map<std::string, Seq> out;
  Status result = Status::ok();
  for (const auto& w : workloads) {
    std::string v;
    rocksdb::Status g = db->Get(rocksdb::ReadOptions(), handles[0], cursor_key(w), &v);
    if (g.IsNotFound()) {
      out[w] = Seq(0);
    } else if (!g.ok()) {
      result = from_rocks(g, "read recovery point " + dir);
      break;
    } else if (v.size() != 16) {
      result = Status(StatusCode::kDataLoss, "cursor of " + w + " in " + dir + " is corrupt");
      break;
    } else {
      out[w] = Seq(get_u64(v.data()));
    }
  }
  if (!result.is_ok()) return result;
  return out;
}

namespace {
std::string record_key(const std::string& name) { return std::string("sr\0", 3) + name; }
}  // namespace

Status RegionStore::put_record(const std::string& name, const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db_->Put(wo, record_key(name), value), "write record " + name);
}

Status RegionStore::delete_record(const std::string& name) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db_->Delete(wo, record_key(name)), "delete record " + name);
}

Result<std::vector<std::pair<std::string, std::string>>> RegionStore::records() {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix = record_key("");
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.emplace_back(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  if (Status s = from_rocks(it->status(), "read records"); !s.is_ok()) return s;
  return out;
}

Result<WorkloadCursor> RegionStore::restore_from_checkpoint(const std::string& dir,
                                                            const std::string& workload,
                                                            Seq keep_log_through, Seq seq) {
  auto cp = open_checkpoint(dir);
  if (!cp.is_ok()) return cp.status();
  rocksdb::DB* db = (*cp)->db.get();
  const auto& handles = (*cp)->handles;
  std::string v;
  WorkloadCursor cursor;
  rocksdb::Status g = db->Get(rocksdb::ReadOptions(), handles[0], cursor_key(workload), &v);
  if (g.ok() && v.size() == 16) cursor = {Seq(get_u64(v.data())), Epoch(get_u64(v.data() + 8))};
  if (!g.ok() && !g.IsNotFound()) return from_rocks(g, "read recovery point " + dir);
  if (cursor.seq != seq) {
    return failed_precondition("recovery point " + dir + " holds " + workload + " at seq " +
                               std::to_string(cursor.seq.value()) + ", not at seq " +
                               std::to_string(seq.value()));
  }
  rocksdb::WriteBatch batch;
  batch.DeleteRange(data_cf_, data_prefix(workload), data_end(workload));
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[0]));
  const std::string prefix = data_prefix(workload);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    batch.Put(data_cf_, it->key(), it->value());
  }
  Status result = from_rocks(it->status(), "read recovery point " + dir);
  it.reset();
  batch.DeleteRange(log_cf_, log_key(workload, keep_log_through.value() + 1),
                    log_key(workload, std::numeric_limits<uint64_t>::max()));
  uint64_t copied = 0;
  if (result.is_ok() && seq > keep_log_through) {
    std::unique_ptr<rocksdb::Iterator> log(db->NewIterator(rocksdb::ReadOptions(), handles[1]));
    const std::string end = log_key(workload, seq.value() + 1);
    for (log->Seek(log_key(workload, keep_log_through.value() + 1));
         log->Valid() && log->key().compare(end) < 0; log->Next()) {
      batch.Put(log_cf_, log->key(), log->value());
      ++copied;
    }
    result = from_rocks(log->status(), "read recovery point log " + dir);
    if (result.is_ok() && copied != seq.value() - keep_log_through.value()) {
      result = failed_precondition(
          "recovery point " + dir + " holds " + std::to_string(copied) + " of the " +
          std::to_string(seq.value() - keep_log_through.value()) + " log entries of " + workload +
          " after the common seq (trimmed by --log-retention)");
    }
  }
  if (!result.is_ok()) return result;
  batch.Put(cursor_key(workload), cursor_value(cursor));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (Status w = from_rocks(db_->Write(wo, &batch), "restore " + workload); !w.is_ok()) return w;
  return cursor;
}

}  // namespace drsim::storage
