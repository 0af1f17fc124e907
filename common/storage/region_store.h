// Durable state of one region in an embedded RocksDB: workload data, the
// replication log, per-workload cursors and the region's role and epoch.
// Every apply is one atomic WriteBatch (data + log + cursor), written through
// the WAL, so a daemon killed with SIGKILL and restarted has every write it
// acknowledged. With `fsync` the WAL is synced too (survives power loss).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "drsim/v1/replication.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}

namespace drsim::storage {

struct RegionMeta {
  bool active = false;
  uint64_t epoch = 0;
  bool protected_ = true;  // replicating to the peer (false after failover until re-protect)
};

struct WorkloadCursor {
  Seq seq{0};
  Epoch epoch{0};
};

enum class Durability { kProcessCrash, kPowerLoss };

class RegionStore {
 public:
  static Result<std::unique_ptr<RegionStore>> open(const std::string& dir, Durability durability,
                                                   uint64_t log_retention);
  ~RegionStore();

  Result<std::optional<RegionMeta>> load_meta();
  Status save_meta(const RegionMeta& meta);

  Result<WorkloadCursor> load_cursor(const std::string& workload);

  // Applies changes (already carrying epoch and seq, in seq order per
  // workload) atomically: data, log entries, and each workload's cursor.
  Status apply(const std::vector<const drsim::v1::Change*>& changes);

  // Log entries [first, last] of one workload, in order. OUT_OF_RANGE when an
  // entry has been trimmed away.
  Status read_log(const std::string& workload, Seq first, Seq last,
                  std::vector<drsim::v1::Change>* out);
  // Epoch of the log entry at seq (0 for seq 0); NOT_FOUND when trimmed.
  Result<Epoch> log_epoch(const std::string& workload, Seq seq);

  Result<std::optional<std::string>> get(const std::string& workload, const std::string& key);

  struct ScanPage {
    std::vector<std::pair<std::string, std::string>> items;
    std::string next_key;  // empty when done
  };
  Result<ScanPage> scan(const std::string& workload, const std::string& start_key, size_t limit);

  const std::string& dir() const { return dir_; }

 private:
  RegionStore(std::string dir, rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
              Durability durability, uint64_t log_retention);
  void maybe_trim_log(const std::string& workload, Seq newest);

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  // Column families: [0] default (meta, cursors, data), [1] "log" (the
  // append-only replication log, in a vector memtable: it is written in
  // order and read back only to resend).
  rocksdb::ColumnFamilyHandle* data_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  Durability durability_;
  uint64_t log_retention_;
};

}  // namespace drsim::storage
