#include "common/storage/backup_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "common/storage/free_space.h"
#include "common/storage/rocks_codec.h"

namespace drsim::storage {
namespace {

// Key layout (prefix byte, then parts separated by '\0'; names never contain '\0'):
//   o <region> \0 <seq8>          vault op (region "" = this region)
//   b <region> \0 <blob8> \0 <key> recovery point data
//   k <disk> \0 <key>              restored disk data;  K <disk> marks the disk
//   r <kind> \0 <name>             record
//   n                              next blob id
std::string op_prefix(const std::string& region) { return "o" + region + '\0'; }
std::string blob_prefix(const BlobRef& b) {
  std::string k = "b" + b.region + '\0';
  put_u64(k, b.id);
  return k + '\0';
}
std::string disk_prefix(const std::string& disk) { return "k" + disk + '\0'; }
std::string record_key(const std::string& kind, const std::string& name) {
  return "r" + kind + '\0' + name;
}
// The first key after every key starting with `prefix`.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

BackupStore::BackupStore(rocksdb::DB* db, std::string dir) : db_(db), dir_(std::move(dir)) {}

BackupStore::~BackupStore() = default;

Result<std::unique_ptr<BackupStore>> BackupStore::open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 64;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return unavailable("cannot open backup store " + dir + ": " + s.ToString());
  return std::unique_ptr<BackupStore>(new BackupStore(db, dir));
}

Status BackupStore::append_op(const std::string& region, const drsim::v1::VaultOp& op) {
  std::string key = op_prefix(region);
  put_u64(key, op.seq());
  rocksdb::WriteOptions wo;
  wo.sync = true;  // vault changes are rare and must survive a power loss
  return from_rocks(db_->Put(wo, key, op.SerializeAsString()), "append vault op");
}

Status BackupStore::for_each_op(
    const std::function<void(const std::string&, const drsim::v1::VaultOp&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("o"); it->Valid() && it->key().starts_with("o"); it->Next()) {
    std::string key = it->key().ToString();
    size_t nul = key.find('\0', 1);
    if (nul == std::string::npos || key.size() != nul + 9) {
      return Status(StatusCode::kDataLoss, "vault op key is malformed");
    }
    drsim::v1::VaultOp op;
    if (!op.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Status(StatusCode::kDataLoss,
                    "vault op " + std::to_string(get_u64(&key[nul + 1])) + " is corrupt");
    }
    fn(key.substr(1, nul - 1), op);
  }
  return from_rocks(it->status(), "read vault ops");
}

Status BackupStore::put_range(const std::string& prefix, const KeyValues& items) {
  rocksdb::WriteBatch batch;
  uint64_t bytes = 0;
  for (const auto& [k, v] : items) {
    batch.Put(prefix + k, v);
    bytes += prefix.size() + k.size() + v.size();
  }
  if (Status s = require_room_to_write(*db_->GetEnv(), dir_, bytes); !s.is_ok()) return s;
  return from_rocks(db_->Write(rocksdb::WriteOptions(), &batch), "write backup data");
}

Result<KeyPage> BackupStore::read_range(const std::string& prefix, const std::string& start_key,
                                        size_t limit) {
  KeyPage page;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  Status st = read_prefix_page(*it, prefix, start_key, limit, &page.items, &page.next_key,
                               "read backup data");
  if (!st.is_ok()) return st;
  return page;
}

Status BackupStore::put_blob(const BlobRef& blob, const KeyValues& items) {
  return put_range(blob_prefix(blob), items);
}

Status BackupStore::delete_blob(const BlobRef& blob) {
  const std::string prefix = blob_prefix(blob);
  rocksdb::WriteOptions wo;
  return from_rocks(db_->DeleteRange(wo, db_->DefaultColumnFamily(), prefix, prefix_end(prefix)),
                    "delete recovery point data");
}

Result<KeyPage> BackupStore::read_blob(const BlobRef& blob, const std::string& start_key,
                                       size_t limit) {
  return read_range(blob_prefix(blob), start_key, limit);
}

Result<uint64_t> BackupStore::next_blob_id() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), "n", &v);
  uint64_t next = 1;
  if (s.ok() && v.size() == 8) {
    next = get_u64(v.data());
  } else if (!s.IsNotFound()) {
    return from_rocks(s.ok() ? rocksdb::Status::Corruption("bad size") : s, "read blob counter");
  }
  std::string nv;
  put_u64(nv, next + 1);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (Status st = from_rocks(db_->Put(wo, "n", nv), "write blob counter"); !st.is_ok()) return st;
  return next;
}

Result<std::vector<BlobRef>> BackupStore::list_blobs() {
  std::vector<BlobRef> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("b"); it->Valid() && it->key().starts_with("b");) {
    const std::string key = it->key().ToString();
    const size_t nul = key.find('\0', 1);
    if (nul == std::string::npos || key.size() < nul + 10 || key[nul + 9] != '\0') {
      return Status(StatusCode::kDataLoss, "recovery point data key is malformed");
    }
    BlobRef blob{key.substr(1, nul - 1), get_u64(&key[nul + 1])};
    it->Seek(prefix_end(blob_prefix(blob)));  // past every key of this blob
    out.push_back(std::move(blob));
  }
  if (!it->status().ok()) return from_rocks(it->status(), "list recovery point data");
  return out;
}

Status BackupStore::put_disk(const std::string& disk, const KeyValues& items) {
  if (Status s = from_rocks(db_->Put(rocksdb::WriteOptions(), "K" + disk, ""), "mark disk");
      !s.is_ok()) {
    return s;
  }
  return put_range(disk_prefix(disk), items);
}

Result<KeyPage> BackupStore::read_disk(const std::string& disk, const std::string& start_key,
                                       size_t limit) {
  return read_range(disk_prefix(disk), start_key, limit);
}

Result<bool> BackupStore::disk_exists(const std::string& disk) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), "K" + disk, &v);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return from_rocks(s, "read disk mark");
  return true;
}

Result<std::vector<std::string>> BackupStore::list_disks() {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("K"); it->Valid() && it->key().starts_with("K"); it->Next()) {
    out.push_back(it->key().ToString().substr(1));
  }
  if (!it->status().ok()) return from_rocks(it->status(), "list disks");
  return out;
}

Status BackupStore::put_record(const std::string& kind, const std::string& name,
                               const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db_->Put(wo, record_key(kind, name), value), "write " + kind + " record");
}

Result<std::optional<std::string>> BackupStore::get_record(const std::string& kind,
                                                           const std::string& name) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), record_key(kind, name), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocks(s, "read " + kind + " record");
  return std::optional<std::string>(std::move(v));
}

Status BackupStore::delete_record(const std::string& kind, const std::string& name) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db_->Delete(wo, record_key(kind, name)), "delete " + kind + " record");
}

Status BackupStore::for_each_record(
    const std::string& kind,
    const std::function<void(const std::string&, const std::string&)>& fn) {
  const std::string prefix = "r" + kind + '\0';
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    fn(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  return from_rocks(it->status(), "read " + kind + " records");
}

}  // namespace drsim::storage
