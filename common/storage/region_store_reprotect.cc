// RegionStore, re-protect's part: snapshots of the data, log summaries and scans, rolling a
// workload back to a common point, full copies, and the unverified-writes marks.
#include "common/storage/region_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <limits>

#include "common/storage/region_store_keys.h"

namespace drsim::storage {

using namespace region_store_keys;

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

}  // namespace drsim::storage
