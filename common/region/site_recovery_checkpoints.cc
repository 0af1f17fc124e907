#include "common/region/site_recovery_checkpoints.h"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "common/core/confined_path.h"
#include "common/region/site_recovery_driver.h"

namespace drsim::region {

namespace fs = std::filesystem;

CheckpointWorker::CheckpointWorker(storage::RegionStore& store, boost::asio::io_context& io,
                                   OnMade on_made)
    : store_(store), io_(io), on_made_(std::move(on_made)), thread_([this] { run(); }) {}

CheckpointWorker::~CheckpointWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    tasks_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

void CheckpointWorker::create(std::string item, model::RecoveryPointId id, std::string dir,
                              std::vector<std::string> workloads) {
  Task t;
  t.create = true;
  t.made.item = std::move(item);
  t.made.id = id;
  t.made.dir = std::move(dir);
  t.workloads = std::move(workloads);
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(t));
  }
  wake_.notify_one();
}

void CheckpointWorker::remove(std::string dir) {
  Task t;
  t.made.dir = std::move(dir);
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(t));
  }
  wake_.notify_one();
}

void CheckpointWorker::write(std::vector<SiteRecoveryStore::RecordWrite> records) {
  if (records.empty()) return;
  Task t;
  t.records = std::move(records);
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(t));
  }
  wake_.notify_one();
}

size_t CheckpointWorker::queued() const {
  std::lock_guard lock(mu_);
  return tasks_.size() + (busy_ ? 1 : 0);
}

void CheckpointWorker::run() {
  for (;;) {
    Task t;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      t = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
    }
    std::error_code ec;
    if (t.create) {
      auto started = std::chrono::steady_clock::now();
      fs::create_directories(fs::path(t.made.dir).parent_path(), ec);
      t.made.status =
          ec ? invalid_argument("points directory " + fs::path(t.made.dir).parent_path().string() +
                                ": " + ec.message())
             : store_.create_checkpoint(t.made.dir);
      if (t.made.status.is_ok()) {
        auto seqs = storage::RegionStore::read_checkpoint_cursors(t.made.dir, t.workloads);
        if (seqs.is_ok()) {
          t.made.seqs = std::move(seqs).value();
        } else {
          t.made.status = seqs.status();
        }
      }
      if (!t.made.status.is_ok()) fs::remove_all(t.made.dir, ec);
      t.made.took = std::chrono::steady_clock::now() - started;
    } else if (!t.records.empty()) {
      if (Status s = SiteRecoveryStore::write(store_, t.records); !s.is_ok()) {
        spdlog::error("site recovery: cannot persist the vault's records: {}", s.message());
      }
    } else {
      fs::remove_all(t.made.dir, ec);
    }
    {
      std::lock_guard lock(mu_);
      if (t.create) done_.push_back(std::move(t.made));
      busy_ = false;
    }
    idle_.notify_all();
    if (t.create) boost::asio::post(io_, [this] { deliver(); });
  }
}

void CheckpointWorker::deliver() {
  std::deque<Made> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(done_);
  }
  for (auto& m : batch) on_made_(std::move(m));
}

void CheckpointWorker::drain() {
  {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return stopping_ || (tasks_.empty() && !busy_); });
  }
  deliver();
}

}  // namespace drsim::region

// ---- The driver's side: queueing the checkpoint of a point just cut, and its result.

namespace drsim::region {

Result<std::string> SiteRecoveryDriver::checkpoint_dir(const std::string& item,
                                                       model::RecoveryPointId id) const {
  auto dir =
      confined_path(points_dir_, item + "/" + std::to_string(id.value()), "checkpoint of " + item);
  if (!dir.is_ok()) return dir.status();
  return dir->string();
}

Result<std::string> SiteRecoveryDriver::test_copy_dir(const std::string& item) const {
  auto dir = confined_path(points_dir_, "test-failover-" + item, "test failover copy of " + item);
  if (!dir.is_ok()) return dir.status();
  return dir->string();
}

void SiteRecoveryDriver::queue_checkpoint(const std::string& item,
                                          const model::RecoveryPoint& point) {
  auto dir = checkpoint_dir(item, point.id);
  if (!dir.is_ok()) {  // names are validated where they enter: a bug
    DRSIM_BUG("checkpoint directory outside the points directory");
    spdlog::error("site recovery: recovery point {} of {} has no checkpoint: {}", point.id.value(),
                  item, dir.status().message());
    return;
  }
  std::vector<std::string> workloads;
  for (const auto& [w, seq] : point.seqs) workloads.push_back(w);
  checkpoints_->create(item, point.id, *dir, std::move(workloads));
}

void SiteRecoveryDriver::on_checkpoint_made(CheckpointWorker::Made made) {
  if (stopped_) return;
  PersistOnReturn persist_after{*this, PersistWhen::kInBackground};
  auto found = vault_.lifecycle(made.item);
  const bool retained = found.is_ok() && (*found)->points().find(made.id) != nullptr;
  const auto drop = [&](const std::string& why) {
    ++checkpoint_failures_;
    spdlog::error(
        "site recovery: recovery point {} of {} dropped, it has no checkpoint ({} failed so far): "
        "{}",
        made.id.value(), made.item, checkpoint_failures_, why);
    if (retained) (void)(*found)->drop_point(made.id);
  };
  if (!made.status.is_ok()) {
    drop(made.status.message());
    return;
  }
  if (!retained) {  // pruned, committed or reversed while the checkpoint was made
    checkpoints_->remove(made.dir);
    return;
  }
  // Writes applied between the cut and the checkpoint are in it: the point lists what it holds.
  if (Status s = (*found)->settle_point(made.id, made.seqs); !s.is_ok()) {
    checkpoints_->remove(made.dir);
    drop(s.message());
    return;
  }
  items_[made.item].checkpoints[made.id] = made.dir;
  spdlog::debug("site recovery: {} point {} checkpointed in {:.1f} ms at {}", made.item,
                made.id.value(), to_ms(made.took), made.dir);
}

}  // namespace drsim::region
