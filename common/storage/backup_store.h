// Durable state of a region's backups, in its own RocksDB under <data-dir>/backup: the log of
// vault changes (replayed at start), the paired region's log (its GRS copy), the recovery
// points' data ("blobs": real copies of a workload's keys), disks and VMs that restores
// created, VM settings and the backup clock. Used by the backup driver on the region loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/core/status.h"
#include "drsim/v1/backup.pb.h"

namespace rocksdb {
class DB;
}

namespace drsim::storage {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct KeyPage {
  KeyValues items;
  std::string next_key;  // empty when done
};

// Where a blob comes from: this region's backups (empty) or the paired region's GRS copy.
struct BlobRef {
  std::string region;
  uint64_t id = 0;
};

class BackupStore {
 public:
  static Result<std::unique_ptr<BackupStore>> open(const std::string& dir);
  ~BackupStore();

  // Vault op logs: this region's ("" region) and the paired regions' copies.
  Status append_op(const std::string& region, const drsim::v1::VaultOp& op);
  Status for_each_op(
      const std::function<void(const std::string& region, const drsim::v1::VaultOp&)>& fn);

  // Recovery point data. Chunks of one blob are written in key order. Data (blobs, disks) is
  // refused with RESOURCE_EXHAUSTED "disk full: …" when writing it would leave less than
  // kStoreReserveBytes free (free_space.h), before RocksDB fails the write itself.
  Status put_blob(const BlobRef& blob, const KeyValues& items);
  Status delete_blob(const BlobRef& blob);
  Result<KeyPage> read_blob(const BlobRef& blob, const std::string& start_key, size_t limit);
  Result<uint64_t> next_blob_id();  // durable counter
  // Every stored blob, this region's and the paired regions' (one seek per blob).
  Result<std::vector<BlobRef>> list_blobs();

  // Disks a restore created ("<vm>-<disk>" or "<disk>-restored-<point>").
  Status put_disk(const std::string& disk, const KeyValues& items);
  Result<KeyPage> read_disk(const std::string& disk, const std::string& start_key, size_t limit);
  Result<std::vector<std::string>> list_disks();
  Result<bool> disk_exists(const std::string& disk);

  // Small named records (VM settings, restored VMs, the clock).
  Status put_record(const std::string& kind, const std::string& name, const std::string& value);
  Result<std::optional<std::string>> get_record(const std::string& kind, const std::string& name);
  Status delete_record(const std::string& kind, const std::string& name);  // OK when absent
  Status for_each_record(
      const std::string& kind,
      const std::function<void(const std::string& name, const std::string& value)>& fn);

 private:
  BackupStore(rocksdb::DB* db, std::string dir);
  Status put_range(const std::string& prefix, const KeyValues& items);
  Result<KeyPage> read_range(const std::string& prefix, const std::string& start_key, size_t limit);

  std::unique_ptr<rocksdb::DB> db_;
  std::string dir_;
};

}  // namespace drsim::storage
