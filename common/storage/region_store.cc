#include "common/storage/region_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstring>

namespace drsim::storage {
namespace {

// Key layout (one keyspace, prefixes; workload names never contain '\0'):
//   m                      region meta
//   c\0<workload>          cursor: seq(8) epoch(8), big-endian
//   d\0<workload>\0<key>   data
//   l\0<workload>\0<seq8>  replication log entry (serialized Change)
constexpr char kMetaKey[] = "m";

void put_u64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
std::string cursor_key(const std::string& w) { return std::string("c\0", 2) + w; }
std::string data_prefix(const std::string& w) { return std::string("d\0", 2) + w + '\0'; }
std::string data_key(const std::string& w, const std::string& k) { return data_prefix(w) + k; }
std::string log_key(const std::string& w, uint64_t seq) {
  std::string k = std::string("l\0", 2) + w + '\0';
  put_u64(k, seq);
  return k;
}

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status(StatusCode::kDataLoss, what + ": " + s.ToString());
  return internal_error(what + ": " + s.ToString());
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
                                                       uint64_t log_retention) {
  rocksdb::Options options;
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
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cursor_key(workload), &v);
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
  rocksdb::WriteOptions wo;
  wo.sync = durability_ == Durability::kPowerLoss;
  Status st = from_rocks(db_->Write(wo, &batch), "apply batch");
  if (st.is_ok()) {
    for (const auto* c : newest) maybe_trim_log(c->workload(), Seq(c->seq()));
  }
  return st;
}

void RegionStore::maybe_trim_log(const std::string& workload, Seq newest) {
  // Trim in steps so the range delete is rare; keep `log_retention_` entries
  // for resuming a standby that fell behind (and, later, delta re-protect).
  constexpr uint64_t kStep = 65536;
  uint64_t n = newest.value();
  if (n <= log_retention_ + kStep || n % kStep != 0) return;
  rocksdb::WriteOptions wo;
  db_->DeleteRange(wo, log_cf_, log_key(workload, 0),
                   log_key(workload, n - log_retention_));
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
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), log_cf_, log_key(workload, seq.value()), &v);
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
                                                const std::string& start_key, size_t limit) {
  ScanPage page;
  std::string prefix = data_prefix(workload);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix + start_key); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string key = it->key().ToString().substr(prefix.size());
    if (page.items.size() == limit) {
      page.next_key = std::move(key);
      break;
    }
    page.items.emplace_back(std::move(key), it->value().ToString());
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scan " + workload);
  return page;
}

}  // namespace drsim::storage
