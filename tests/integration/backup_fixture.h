// Helpers of the Backup integration tests (backup_test.cc, disk_snapshot_test.cc): a client
// writer that can rebuild the workload at any seq, workload reads and writes, and vault set-up.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "cli/backup_commands.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/workload.grpc.pb.h"
#include "tests/support/test_topology.h"  // scan_all

namespace drsim::testing {

using namespace std::chrono_literals;
namespace v1 = drsim::v1;
using KeyMap = std::map<std::string, std::string>;

inline constexpr int64_t kDayNanos = 86'400'000'000'000;

// One client writing puts and deletes in batches, remembering the seq of every acknowledged
// op, so the state at any seq can be rebuilt.
class Writer {
 public:
  Writer(v1::Workload::Stub& stub, std::string workload)
      : stub_(stub), workload_(std::move(workload)) {}
  ~Writer() { stop(); }

  void start() {
    thread_ = std::thread([this] {
      for (int batch = 0; batch < 100000 && !stop_; ++batch) write_batch(batch);
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void write_batch(int batch) {
    v1::WriteBatchRequest req;
    for (int i = 0; i < 20; ++i) {
      const int n = batch * 20 + i;
      const std::string key = "k" + std::to_string(n * 7919 % 400);
      if (n % 9 == 0) {
        auto* del = req.add_ops()->mutable_delete_();
        del->set_workload(workload_);
        del->set_key(key);
      } else {
        auto* put = req.add_ops()->mutable_put();
        put->set_workload(workload_);
        put->set_key(key);
        put->set_value("v" + std::to_string(n) + std::string(n % 50, 'x'));
      }
    }
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    v1::WriteBatchResponse resp;
    if (!stub_.WriteBatch(&ctx, req, &resp).ok()) return;
    std::lock_guard lock(mu_);
    for (int i = 0; i < resp.results_size(); ++i) acked_[resp.results(i).seq()] = req.ops(i);
  }
  // The workload as it was right after `seq`.
  KeyMap state_at(uint64_t seq) {
    std::lock_guard lock(mu_);
    KeyMap state;
    for (const auto& [s, op] : acked_) {
      if (s > seq) break;
      if (op.has_put()) {
        state[op.put().key()] = op.put().value();
      } else {
        state.erase(op.delete_().key());
      }
    }
    return state;
  }
  size_t acked() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }

 private:
  v1::Workload::Stub& stub_;
  std::string workload_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<uint64_t, v1::WriteOp> acked_;
};

inline Status try_put(v1::Workload::Stub& stub, const std::string& workload, const std::string& key,
                      const std::string& value) {
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 5s);
  v1::PutRequest req;
  req.set_workload(workload);
  req.set_key(key);
  req.set_value(value);
  v1::PutResponse resp;
  return net::from_grpc(stub.Put(&ctx, req, &resp));
}

inline void put(v1::Workload::Stub& stub, const std::string& workload, const std::string& key,
                const std::string& value) {
  Status s = try_put(stub, workload, key, value);
  ASSERT_TRUE(s.is_ok()) << s.message();
}

inline void del(v1::Workload::Stub& stub, const std::string& workload, const std::string& key) {
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 5s);
  v1::DeleteRequest req;
  req.set_workload(workload);
  req.set_key(key);
  v1::DeleteResponse resp;
  ASSERT_TRUE(stub.Delete(&ctx, req, &resp).ok());
}

// Vault `vault` protecting `vm` with a once-a-day policy "daily".
inline void protect(cli::BackupClient& b, const std::string& vault, const std::string& vm,
                    v1::StorageRedundancy redundancy = v1::REDUNDANCY_GRS, bool crr = false) {
  v1::CreateVaultRequest cv;
  cv.set_vault(vault);
  cv.set_redundancy(redundancy);
  cv.set_cross_region_restore(crr);
  auto vault_made = b.create_vault(cv);
  ASSERT_TRUE(vault_made.is_ok()) << vault_made.status().message();
  v1::CreatePolicyRequest cp;
  cp.set_vault(vault);
  cp.set_policy("daily");
  cp.mutable_spec()->add_backup_times("22:00");
  auto policy_made = b.create_policy(cp);
  ASSERT_TRUE(policy_made.is_ok()) << policy_made.status().message();
  v1::ProtectRequest p;
  p.set_vault(vault);
  p.set_vm(vm);
  p.set_policy("daily");
  auto r = b.protect(p);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
}

inline Result<v1::BackupNowResponse> backup_now(cli::BackupClient& b, const std::string& vault,
                                                const std::string& vm) {
  v1::BackupNowRequest req;
  req.set_vault(vault);
  req.set_vm(vm);
  return b.backup_now(req);
}

inline Result<v1::RestoreResponse> restore(cli::BackupClient& b, const std::string& vault,
                                           const std::string& vm, v1::RestoreKind kind,
                                           const std::string& target = "", uint64_t point = 0) {
  v1::RestoreRequest req;
  req.set_vault(vault);
  req.set_vm(vm);
  req.set_kind(kind);
  req.set_target_vm(target);
  req.set_point(point);
  return b.restore(req);
}

// Stop protection of `vm` in `vault` and delete its backup data (soft delete).
inline v1::StopProtectionRequest stop_deleting_data(const std::string& vault,
                                                    const std::string& vm) {
  v1::StopProtectionRequest stop;
  stop.set_vault(vault);
  stop.set_vm(vm);
  stop.set_delete_data(true);
  return stop;
}

inline const v1::BackupItemInfo* find_item(const v1::ListVaultsResponse& l,
                                           const std::string& vault, const std::string& vm) {
  for (const auto& v : l.vaults()) {
    if (v.name() != vault) continue;
    for (const auto& i : v.items()) {
      if (i.vm() == vm) return &i;
    }
  }
  return nullptr;
}

inline Status advance(cli::BackupClient& b, int64_t nanos) {
  v1::SetBackupClockRequest req;
  req.set_advance_nanos(nanos);
  return b.set_clock(req).status();
}

}  // namespace drsim::testing
