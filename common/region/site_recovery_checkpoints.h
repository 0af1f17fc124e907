// The Site Recovery driver's checkpoint worker: creates the RocksDB checkpoints behind recovery
// points and deletes pruned ones on its own thread, so the memtable flush and the file work stay
// off the region loop (where they stalled replication applies). Results come back on the loop.
// A checkpoint holds whatever the store had applied when RocksDB cut it, which may be past the
// seqs the point was cut at: the worker reads the checkpoint's own cursors back, and the point
// is settled at those seqs (the seqs a rollback then restores exactly).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/siterecovery/recovery_point_schedule.h"
#include "common/region/site_recovery_store.h"
#include "common/storage/region_store.h"

namespace drsim::region {

class CheckpointWorker {
 public:
  // One checkpoint made (or not), delivered on the loop thread.
  struct Made {
    std::string item;
    model::RecoveryPointId id;
    std::string dir;
    Status status;                    // not ok: no checkpoint (the directory is removed)
    std::map<std::string, Seq> seqs;  // the checkpoint's cursors of the point's workloads
    Duration took{0};
  };
  using OnMade = std::function<void(Made)>;

  CheckpointWorker(storage::RegionStore& store, boost::asio::io_context& io, OnMade on_made);
  ~CheckpointWorker();  // finishes the task at hand, drops the rest, joins
  CheckpointWorker(const CheckpointWorker&) = delete;
  CheckpointWorker& operator=(const CheckpointWorker&) = delete;

  // Queues a checkpoint of the whole store into `dir` (which must not exist yet).
  void create(std::string item, model::RecoveryPointId id, std::string dir,
              std::vector<std::string> workloads);
  // Queues deleting a checkpoint directory (after the creates queued before it).
  void remove(std::string dir);
  // Queues writing the vault's records (synced, in order; a failure is logged).
  void write(std::vector<SiteRecoveryStore::RecordWrite> records);
  // Loop thread: waits until every queued task ran, then delivers their results at once, so a
  // failover sees every point whose checkpoint was on its way.
  void drain();
  size_t queued() const;

 private:
  struct Task {
    bool create = false;
    Made made;
    std::vector<SiteRecoveryStore::RecordWrite> records;
    std::vector<std::string> workloads;
  };
  void run();
  void deliver();

  storage::RegionStore& store_;
  boost::asio::io_context& io_;
  OnMade on_made_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Task> tasks_;
  std::deque<Made> done_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace drsim::region
