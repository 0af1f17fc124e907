// Durable state of one region in an embedded RocksDB: workload data, the
// replication log, per-workload cursors and the region's role and epoch.
// Every apply is one atomic WriteBatch (data + log + cursor), written through
// the WAL, so a daemon killed with SIGKILL and restarted has every write it
// acknowledged. With `fsync` the WAL is synced too (survives power loss).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/model/replication/resync_plan.h"
#include "common/model/replication/rollback_set.h"
#include "drsim/v1/replication.pb.h"

namespace rocksdb {
class Env;
struct ReadOptions;
class DB;
class ColumnFamilyHandle;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

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
  // `env`: RocksDB's file system and threads; nullptr = the default (disk). Simulation passes
  // rocksdb::NewMemEnv so a region's store lives in memory. Must outlive the store.
  static Result<std::unique_ptr<RegionStore>> open(const std::string& dir, Durability durability,
                                                   uint64_t log_retention,
                                                   rocksdb::Env* env = nullptr);
  ~RegionStore();

  Result<std::optional<RegionMeta>> load_meta();
  Status save_meta(const RegionMeta& meta);

  Result<WorkloadCursor> load_cursor(const std::string& workload);

  // Applies changes (already carrying epoch and seq, in seq order per
  // workload) atomically: data, log entries, and each workload's cursor.
  // RESOURCE_EXHAUSTED "disk full: ..." when the file system has no room: nothing of the batch
  // is durable, and the next apply first resumes the store (RocksDB stops writing after such an
  // error until resumed), so a caller may refuse the batch and take it again later.
  Status apply(const std::vector<const drsim::v1::Change*>& changes);
  // OK when `bytes` more fit: RESOURCE_EXHAUSTED "disk full: ..." when the file system has less
  // than them plus a reserve (16 MiB) free, or the store's writes are stopped by an earlier
  // failure and cannot resume yet. OK when the file system cannot tell. The standby asks before
  // each replicated batch, so a full disk refuses the batch before RocksDB fails a write.
  Status check_room(uint64_t bytes);

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
  // A page of at most `limit` keys and about `max_bytes` (at least one key; default 2 MiB, so a
  // page of large values still fits a gRPC client's default 4 MiB receive limit).
  static constexpr size_t kScanPageBytes = 2u << 20;
  Result<ScanPage> scan(const std::string& workload, const std::string& start_key, size_t limit,
                        size_t max_bytes = kScanPageBytes);

  // ---- Re-protect.

  // A consistent read view (the source of a full copy). Must not outlive the store.
  class Snapshot {
   public:
    ~Snapshot();
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;

   private:
    friend class RegionStore;
    Snapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db), snap_(snap) {}
    rocksdb::DB* db_;
    const rocksdb::Snapshot* snap_;
  };
  std::unique_ptr<Snapshot> snapshot();
  // The cursor as of a snapshot: the seq its data is at (a backup's point in the log).
  Result<WorkloadCursor> load_cursor(const std::string& workload, const Snapshot& snapshot);
  // A page of at most `limit` keys and about `max_bytes` (at least one key) from a snapshot.
  Result<ScanPage> scan(const std::string& workload, const std::string& start_key, size_t limit,
                        size_t max_bytes, const Snapshot& snapshot);
  // Estimated bytes of a workload's data (files and memtables), for progress only.
  uint64_t approximate_data_bytes(const std::string& workload);

  // One workload's history as its log holds it. Epochs never decrease along a log, so the epoch
  // spans are found by binary search (a few point reads per epoch). More than `max_spans`
  // epochs, or a hole in the log: only the cursor is reported (the planner then does not find
  // a common point inside the log).
  Result<model::LogSummary> log_summary(const std::string& workload, const WorkloadCursor& cursor,
                                        size_t max_spans);
  // Log entries from `from` down to the first retained one, newest first, while fn returns true.
  Status scan_log_backward(const std::string& workload, Seq from,
                           const std::function<bool(const drsim::v1::Change&)>& fn);
  // Log entries [first, last] in order (no contiguity check), while fn returns true.
  Status scan_log(const std::string& workload, Seq first, Seq last,
                  const std::function<bool(const drsim::v1::Change&)>& fn);
  // Discards the log entries after `common`, puts back the keys they touched, and moves the
  // cursor to `common`: one atomic batch.
  Status roll_back(const std::string& workload, const WorkloadCursor& common,
                   const std::vector<model::KeyRestore>& restores);
  // Full copy into this region. begin: clears the workload's log and cursor and marks its data
  // incomplete (atomic), so a copy cut short is redone in full. Each chunk replaces the keys of
  // its range; the last one sets the cursor and clears the mark.
  Status begin_full_copy(const std::string& workload);
  Status apply_snapshot_chunk(const drsim::v1::SnapshotChunk& chunk);
  Result<bool> full_copy_incomplete(const std::string& workload);

  // ---- Writes made without the standby's word.
  // An active region restarted from this store may have lost acknowledged writes its standby
  // holds (its host crashed without --fsync; an older data dir was put back). When it serves
  // before hearing the standby's cursor (the restart's confirmation timed out), it marks each
  // workload at the seq it restarted from: its entries after the mark may reuse the lost
  // writes' (epoch, seq) and are a branch of its own, which log matching by (epoch, seq) cannot
  // tell apart. Synced; kept across restarts and step-downs until the standby's cursor shows it
  // lost nothing (clear_unverified) or a re-protect rolls back to at most the mark or copies in
  // full (roll_back / begin_full_copy clear it).
  Status mark_unverified(const std::vector<std::pair<std::string, Seq>>& marks);
  // Every workload's mark, in one scan (a region reads them once, at start).
  Result<std::map<std::string, Seq>> unverified_marks();
  Status clear_unverified(const std::vector<std::string>& workloads);

  // ---- Site Recovery (common/region/site_recovery_service.h).

  // A recovery point: an openable copy of the whole store as of now (RocksDB checkpoint: hard
  // links to the immutable files plus the flushed memtables) in `dir`, which must not exist.
  Status create_checkpoint(const std::string& dir);
  // The values `keys` of `workload` had in the checkpoint at `dir` (nullopt: absent there).
  static Result<std::vector<model::KeyRestore>> read_checkpoint(
      const std::string& dir, const std::string& workload, const std::vector<std::string>& keys);
  // The cursors (last applied seq) of `workloads` in the checkpoint at `dir`: the seqs it holds
  // (0 for a workload it has no cursor for).
  static Result<std::map<std::string, Seq>> read_checkpoint_cursors(
      const std::string& dir, const std::vector<std::string>& workloads);
  // Change recovery point: replaces `workload`'s data with what the checkpoint at `dir` holds,
  // keeps this store's log through `keep_log_through` and takes the checkpoint's log entries
  // after it up to `seq` (the point's seq, which must be the checkpoint's cursor), and sets the
  // cursor there: one synced batch. Returns the cursor. FAILED_PRECONDITION when the checkpoint
  // does not hold the workload at `seq` or its log misses entries.
  Result<WorkloadCursor> restore_from_checkpoint(const std::string& dir,
                                                 const std::string& workload, Seq keep_log_through,
                                                 Seq seq);
  // Small durable records of the Site Recovery vault (protected item specs), by name.
  Status put_record(const std::string& name, const std::string& value);
  Status delete_record(const std::string& name);  // synced; absent is fine
  Result<std::vector<std::pair<std::string, std::string>>> records();

  const std::string& dir() const { return dir_; }

 private:
  RegionStore(std::string dir, rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
              Durability durability, uint64_t log_retention);
  void maybe_trim_log(const std::string& workload, Seq newest);
  Status resume_writes();
  // Writes `batch` after resuming a store stopped by an earlier failed write; a failure stops it
  // (the next write resumes first). Every write of replicated data, a re-protect's roll back and
  // full copy included, goes through here, so a full disk is an error to refuse, not a store
  // that stays stopped.
  Status write_resumable(rocksdb::WriteBatch& batch, bool sync, const std::string& what);
  Result<ScanPage> scan_page(const rocksdb::ReadOptions& ro, const std::string& workload,
                             const std::string& start_key, size_t limit, size_t max_bytes,
                             const char* what);
  Result<WorkloadCursor> read_cursor(const std::string& workload, const rocksdb::ReadOptions& ro);

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  // Column families: [0] default (meta, cursors, data), [1] "log" (the
  // append-only replication log, in a vector memtable: it is written in
  // order and read back only to resend).
  rocksdb::ColumnFamilyHandle* data_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  Durability durability_;
  uint64_t log_retention_;
  bool writes_stopped_ = false;  // the last write failed: resume before the next
};

}  // namespace drsim::storage
