// BackupDriver's backups: scheduled and on-demand jobs, the snapshot and vault phases, and
// listing jobs and recovery points.
#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/region/backup_driver_parts.h"

namespace drsim::region {

namespace v1 = drsim::v1;
using namespace backup_driver_parts;

// ---------------------------------------------------------------- backups

Result<v1::VaultOp> BackupDriver::take_backup(const std::string& vault, const std::string& vm,
                                              bool on_demand, Time retain_until) {
  const model::RecoveryServicesVault* v = local_.registry.find(vault);
  if (v == nullptr)
    return not_found("no vault named " + vault + " in region " + node_.options().name);
  const model::BackupItem* item = v->item(vm);
  if (item == nullptr) return not_found("vault " + vault + " does not protect VM " + vm);
  if (item->state() != model::BackupProtectionState::kProtected) {
    return failed_precondition("VM " + vm + " is " +
                               model::backup_protection_state_name(item->state()) + " in vault " +
                               vault + "; resume protection to back it up");
  }
  // The previous point: its copy is what this one's changes are counted against.
  std::optional<storage::BlobRef> prev;
  uint64_t prev_written = 0;
  if (!item->points().empty()) {
    const model::BackupPoint& last = item->points().back();
    prev = storage::BlobRef{"", local_.points[{vault, vm}][last.id.value()].blob};
    prev_written = last.disks.front().written_mark;
  }
  auto blob = store_.next_blob_id();
  if (!blob.is_ok()) return blob.status();
  // One RocksDB snapshot: the copy is the workload exactly at one seq (crash-consistent across
  // its keys; app-consistent when the agent quiesced a running VM).
  auto snapshot = region_store_.snapshot();
  auto cursor = region_store_.load_cursor(vm, *snapshot);
  if (!cursor.is_ok()) return cursor.status();
  uint64_t used = 0, changed = 0, keys = 0;
  std::string start;
  for (;;) {
    auto page = region_store_.scan(vm, start, kCopyPageKeys, kCopyPageBytes, *snapshot);
    if (!page.is_ok()) return page.status();
    for (const auto& [k, val] : page->items) {
      used += k.size() + val.size();
      if (prev) {
        auto before = store_.read_blob(*prev, k, 1);
        if (!before.is_ok()) return before.status();
        bool same =
            !before->items.empty() && before->items[0].first == k && before->items[0].second == val;
        if (!same) changed += k.size() + val.size();
      }
    }
    keys += page->items.size();
    if (Status s = store_.put_blob({"", *blob}, page->items); !s.is_ok()) return s;
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  auto facts = facts_of(vm, used, prev ? prev_written + changed : used);
  if (!facts.is_ok()) return facts.status();
  v1::VaultOp op;
  auto* c = op.mutable_backup();
  c->set_vault(vault);
  *c->mutable_vm() = *facts;
  c->set_on_demand(on_demand);
  c->set_retain_until_nanos(to_nanos(retain_until));
  c->set_blob(*blob);
  c->set_source_seq(cursor->seq.value());
  c->set_keys(keys);
  c->set_geo_copy(v->redundancy() == model::StorageRedundancy::kGeoRedundant);
  return op;
}

Result<model::BackupJob> BackupDriver::run_backup(const std::string& vault, const std::string& vm,
                                                  bool on_demand, Time retain_until,
                                                  std::optional<Time> slot) {
  auto op = take_backup(vault, vm, on_demand, retain_until);
  if (!op.is_ok()) return op.status();
  const uint64_t blob = op->backup().blob();
  auto r = commit(std::move(op).value(), slot);
  if (!r.is_ok()) {
    (void)store_.delete_blob({"", blob});
    return r.status();
  }
  const model::BackupJob& job = *r->job;
  ++job_results_[{vault, job.trigger,
                  job.status.is_ok() ? JobResult::kCompleted : JobResult::kFailed}];
  if (job.status.is_ok()) {
    spdlog::info("backup: {} backup of {} in vault {}: point {} at {}",
                 on_demand ? "on-demand" : "scheduled", vm, vault, job.point->value(),
                 model::format_drill_time(job.at));
  } else {
    spdlog::warn("backup: {} backup of {} in vault {} failed: {}",
                 on_demand ? "on-demand" : "scheduled", vm, vault, job.status.message());
  }
  return job;
}

BackupDriver::Figures BackupDriver::figures() const {
  Figures out;
  for (const auto* v : local_.registry.list(node_.options().name)) {
    VaultFigures& f = out.vaults.emplace_back();
    f.vault = v->name();
    for (auto state : {model::BackupProtectionState::kProtected,
                       model::BackupProtectionState::kProtectionStopped,
                       model::BackupProtectionState::kSoftDeleted}) {
      f.items[state] = 0;
    }
    for (const auto* item : v->items()) ++f.items[item->state()];
  }
  out.jobs = job_results_;
  return out;
}

Result<v1::BackupNowResponse> BackupDriver::backup_now(const v1::BackupNowRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (req.retain_days() > kMaxOnDemandRetainDays) {
    return invalid_argument("retain_days: " + std::to_string(req.retain_days()) + " exceeds " +
                            std::to_string(kMaxOnDemandRetainDays));
  }
  const uint32_t days = req.retain_days() == 0 ? kDefaultOnDemandRetainDays : req.retain_days();
  auto job = run_backup(req.vault(), req.vm(), /*on_demand=*/true, now() + days * model::kDay);
  if (!job.is_ok()) return job.status();
  if (!job->status.is_ok()) return job->status;
  v1::BackupNowResponse resp;
  const model::BackupItem* item = local_.registry.find(req.vault())->item(req.vm());
  fill_point(local_, req.vault(), req.vm(), *item->point(*job->point), resp.mutable_point());
  return resp;
}

Result<v1::StopProtectionResponse> BackupDriver::stop_protection(
    const v1::StopProtectionRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  const model::RecoveryServicesVault* v = local_.registry.find(req.vault());
  const model::BackupItem* item = v == nullptr ? nullptr : v->item(req.vm());
  // Stop first (the brief: stop the backup job before deleting or retaining its data); an
  // already stopped item goes straight to deleting its data.
  if (!req.delete_data() || item == nullptr ||
      item->state() == model::BackupProtectionState::kProtected) {
    v1::VaultOp op;
    op.mutable_stop_protection()->set_vault(req.vault());
    op.mutable_stop_protection()->set_vm(req.vm());
    if (auto r = commit(std::move(op)); !r.is_ok()) return r.status();
  }
  v1::StopProtectionResponse resp;
  if (req.delete_data()) {
    v1::VaultOp op;
    op.mutable_delete_data()->set_vault(req.vault());
    op.mutable_delete_data()->set_vm(req.vm());
    auto r = commit(std::move(op));
    if (!r.is_ok()) return r.status();
    resp.set_purge_at(model::format_drill_time(r->deleted->purge_at));
    spdlog::info("backup: vault {}: backup data of {} soft-deleted ({} point(s)), purged at {}",
                 req.vault(), req.vm(), r->deleted->points, resp.purge_at());
  }
  return resp;
}

Result<v1::ItemResponse> BackupDriver::item_op(const v1::ItemRequest& req,
                                               v1::VaultOpItem* (v1::VaultOp::*kind)()) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  v1::VaultOp op;
  v1::VaultOpItem* item_op = (op.*kind)();
  item_op->set_vault(req.vault());
  item_op->set_vm(req.vm());
  if (auto r = commit(std::move(op)); !r.is_ok()) return r.status();
  v1::ItemResponse resp;
  const model::RecoveryServicesVault* v = local_.registry.find(req.vault());
  const model::BackupItem* item = v == nullptr ? nullptr : v->item(req.vm());
  if (item != nullptr) fill_item(local_, req.vault(), *item, resp.mutable_item());
  return resp;
}

Result<v1::ItemResponse> BackupDriver::undelete(const v1::ItemRequest& req) {
  return item_op(req, &v1::VaultOp::mutable_undelete);
}

Result<v1::ItemResponse> BackupDriver::resume_protection(const v1::ItemRequest& req) {
  return item_op(req, &v1::VaultOp::mutable_resume);
}

// ---------------------------------------------------------------- listing

void BackupDriver::fill_point(const VaultSet& set, const std::string& vault, const std::string& vm,
                              const model::BackupPoint& p, v1::RecoveryPointInfo* out) const {
  out->set_id(p.id.value());
  out->set_created_nanos(to_nanos(p.created));
  out->set_created(model::format_drill_time(p.created));
  out->set_consistency(model::consistency_name(p.consistency));
  out->set_on_demand(p.trigger == model::BackupTrigger::kOnDemand);
  out->set_expires(model::format_drill_time(p.expires_at));
  out->set_instant_restore(p.instant_restore_available(now()));
  out->set_in_paired_region(p.replicated_to_paired_region);
  out->set_used_bytes(p.used_bytes());
  auto it = set.points.find({vault, vm});
  if (it != set.points.end()) {
    if (auto d = it->second.find(p.id.value()); d != it->second.end()) {
      out->set_keys(d->second.keys);
      out->set_source_seq(d->second.source_seq);
    }
  }
}

void BackupDriver::fill_item(const VaultSet& set, const std::string& vault,
                             const model::BackupItem& item, v1::BackupItemInfo* out) const {
  out->set_vm(item.vm());
  out->set_state(model::backup_protection_state_name(item.state()));
  if (auto p = set.item_policy.find({vault, item.vm()}); p != set.item_policy.end()) {
    out->set_policy(p->second);
  }
  if (item.next_backup_due() != kNever) {
    out->set_next_backup(model::format_drill_time(item.next_backup_due()));
  }
  if (item.purge_at() != kNever) out->set_purge_at(model::format_drill_time(item.purge_at()));
  out->set_source_deleted(item.source() == model::SourceVm::kDeleted);
  for (const auto& p : item.points()) fill_point(set, vault, item.vm(), p, out->add_points());
}

void BackupDriver::fill_vault(const VaultSet& set, const model::RecoveryServicesVault& v,
                              v1::VaultInfo* out) const {
  out->set_name(v.name());
  out->set_region(v.region());
  out->set_paired_region(v.spec().paired_region);
  out->set_redundancy(model::storage_redundancy_name(v.redundancy()));
  out->set_cross_region_restore(v.cross_region_restore() == model::CrossRegionRestore::kEnabled);
  out->set_paired_copy(!set.region.empty());
  if (auto p = set.policies.find(v.name()); p != set.policies.end()) {
    for (const auto& [name, policy] : p->second) out->add_policies(name);
  }
  for (const auto* item : v.items()) fill_item(set, v.name(), *item, out->add_items());
}

Result<v1::ListVaultsResponse> BackupDriver::list_vaults() {
  if (Status s = check_serving(); !s.is_ok()) return s;
  v1::ListVaultsResponse resp;
  for (const auto* v : local_.registry.list(node_.options().name)) {
    fill_vault(local_, *v, resp.add_vaults());
  }
  for (const auto& [region, set] : paired_) {
    for (const auto* v : set.registry.list(region)) fill_vault(set, *v, resp.add_paired_copies());
  }
  resp.set_now(model::format_drill_time(now()));
  resp.set_now_nanos(to_nanos(now()));
  resp.set_time_scale(clock_->scale());
  return resp;
}

}  // namespace drsim::region
