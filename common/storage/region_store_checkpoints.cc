// RegionStore, checkpoints (recovery points): made, read, and restored from; and the Site
// Recovery vault records.
#include "common/storage/region_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "common/storage/region_store_keys.h"

namespace drsim::storage {

using namespace region_store_keys;

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
