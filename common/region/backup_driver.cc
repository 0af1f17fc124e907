#include "common/region/backup_driver.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "common/core/names.h"
#include "common/net/grpc_util.h"
#include "common/region/region_options.h"

namespace drsim::region {

using namespace std::chrono_literals;
namespace v1 = drsim::v1;

namespace {

constexpr size_t kCopyPageKeys = 1000;
constexpr size_t kCopyPageBytes = 1 << 20;
constexpr size_t kReplaceBatchOps = 500;
constexpr size_t kMaxReadLimit = 10000;
constexpr uint32_t kDefaultOnDemandRetainDays = 30;
constexpr uint32_t kMaxOnDemandRetainDays = 99 * 365;
// The schedule wakes at least this often (to persist the clock) and never spins faster.
constexpr auto kMaxTimerWait = 5s;
constexpr auto kMinTimerWait = 20ms;
constexpr auto kShipRetry = 1s;
constexpr auto kShipDeadline = 10s;
constexpr char kClockRecord[] = "clock";
constexpr char kVmRecord[] = "vm";

Time from_nanos(int64_t n) { return Time(Duration(n)); }
int64_t to_nanos(Time t) { return t.time_since_epoch().count(); }

std::string os_disk(const std::string& vm) { return vm + "-osdisk"; }

Result<Duration> parse_time_of_day(const std::string& field, const std::string& text) {
  // HH:MM or HH:MM:SS, two digits each.
  auto two = [&](size_t at) { return (text[at] - '0') * 10 + (text[at + 1] - '0'); };
  bool shape_ok = text.size() == 5 || text.size() == 8;
  for (size_t i = 0; shape_ok && i < text.size(); ++i) {
    shape_ok = i % 3 == 2 ? text[i] == ':' : std::isdigit(static_cast<unsigned char>(text[i]));
  }
  const int h = shape_ok ? two(0) : 0, m = shape_ok ? two(3) : 0;
  const int s = shape_ok && text.size() == 8 ? two(6) : 0;
  if (!shape_ok || h > 23 || m > 59 || s > 59) {
    return invalid_argument(field + ": \"" + text + "\" is not a time of day HH:MM (00:00-23:59)");
  }
  return Duration(std::chrono::hours(h) + std::chrono::minutes(m) + std::chrono::seconds(s));
}

Result<model::BackupPolicy> policy_from_proto(const v1::BackupPolicySpec& spec) {
  model::BackupPolicy p;
  p.backup_times.clear();
  for (int i = 0; i < spec.backup_times_size(); ++i) {
    auto t =
        parse_time_of_day("spec.backup_times[" + std::to_string(i) + "]", spec.backup_times(i));
    if (!t.is_ok()) return t.status();
    p.backup_times.push_back(*t);
  }
  if (spec.instant_restore_days() != 0) p.instant_restore_days = spec.instant_restore_days();
  if (spec.daily_days() != 0) p.daily_days = spec.daily_days();
  p.weekly_weeks = spec.weekly_weeks();
  if (spec.weekly_on() > 6) {
    return invalid_argument("spec.weekly_on: " + std::to_string(spec.weekly_on()) +
                            " must be 0 (Sunday) to 6 (Saturday)");
  }
  p.weekly_on = std::chrono::weekday{spec.weekly_on()};
  p.monthly_months = spec.monthly_months();
  if (spec.monthly_on_day() != 0) p.monthly_on_day = spec.monthly_on_day();
  p.yearly_years = spec.yearly_years();
  p.yearly_on = std::chrono::month{spec.yearly_month() == 0 ? 1 : spec.yearly_month()} /
                std::chrono::day{spec.yearly_day() == 0 ? 1 : spec.yearly_day()};
  if (Status s = p.validate(); !s.is_ok()) return invalid_argument("spec." + s.message());
  return p;
}

model::StorageRedundancy redundancy_from_proto(v1::StorageRedundancy r) {
  switch (r) {
    case v1::REDUNDANCY_LRS:
      return model::StorageRedundancy::kLocallyRedundant;
    case v1::REDUNDANCY_ZRS:
      return model::StorageRedundancy::kZoneRedundant;
    default:
      return model::StorageRedundancy::kGeoRedundant;
  }
}

model::VirtualMachine vm_from_facts(const v1::VmFacts& f, const std::string& region) {
  model::VirtualMachine vm{
      .name = f.vm(),
      .region = region,
      .agent = f.agent_missing() ? model::GuestAgent::kMissing : model::GuestAgent::kInstalled,
      .power = f.stopped() ? model::PowerState::kStopped : model::PowerState::kRunning,
      .disks = {}};
  vm.disks.emplace_back(os_disk(f.vm()), model::DiskRole::kOs,
                        std::max(f.disk_size_bytes(), f.used_bytes()), f.used_bytes(),
                        f.written_bytes());
  return vm;
}

const char* restore_source_name(model::RestoreSource s) {
  switch (s) {
    case model::RestoreSource::kInstantRestoreSnapshot:
      return "instant-restore snapshot";
    case model::RestoreSource::kVault:
      return "vault";
    case model::RestoreSource::kPairedRegionCopy:
      return "paired-region copy";
  }
  return "unknown";
}

}  // namespace

BackupDriver::BackupDriver(RegionNode& node, Scheduler& scheduler, const Clock& clock,
                           storage::RegionStore& region_store, storage::BackupStore& store,
                           BackupOptions options)
    : node_(node),
      region_store_(region_store),
      store_(store),
      options_(options),
      scheduler_(scheduler),
      process_clock_(clock) {}

BackupDriver::~BackupDriver() = default;

Status BackupDriver::check_name(const char* field, const std::string& name) {
  return validate_name(field, name);
}

Time BackupDriver::now() const { return clock_->now(); }

Status BackupDriver::check_serving() const {
  if (node_.in_outage()) {
    return unavailable("region " + node_.options().name + " is in an injected outage");
  }
  return Status::ok();
}

Status BackupDriver::start() {
  Time sim_start = kTimeZero;
  auto saved = store_.get_record(kClockRecord, "now");
  if (!saved.is_ok()) return saved.status();
  if (saved->has_value()) {
    char* end = nullptr;
    const long long nanos = std::strtoll((*saved)->c_str(), &end, 10);
    if (end == (*saved)->c_str() || *end != '\0' || nanos < 0) {
      return Status(StatusCode::kDataLoss, "the saved backup clock is corrupt");
    }
    sim_start = from_nanos(nanos);
  }
  clock_ = std::make_unique<ScaledClock>(process_clock_, sim_start, options_.time_scale);
  size_t replayed = 0;
  Status bad;
  Status s = store_.for_each_op([&](const std::string& region, const v1::VaultOp& op) {
    VaultSet& set = region.empty() ? local_ : paired_[region];
    set.region = region;
    if (region.empty()) catch_up_usage(from_nanos(op.at_nanos()));
    auto r = apply(set, op);
    // The same ops in the same order decide the same way; a refusal here is a bug.
    if (!r.is_ok() && bad.is_ok()) {
      bad = internal_error("replaying vault op " + std::to_string(op.seq()) + " of region '" +
                           region + "': " + r.status().message());
    }
    set.applied_seq = op.seq();
    if (region.empty()) {
      if (r.is_ok()) record_usage(from_nanos(op.at_nanos()));
      local_ops_.push_back(op);
      next_seq_ = op.seq() + 1;
    }
    ++replayed;
  });
  if (!s.is_ok()) return s;
  if (!bad.is_ok()) return bad;
  if (Status dropped = drop_unnamed_geo_blobs(); !dropped.is_ok()) return dropped;
  // The clock never runs behind an op it already applied.
  if (!local_ops_.empty() && from_nanos(local_ops_.back().at_nanos()) > now()) {
    clock_->restart_at(from_nanos(local_ops_.back().at_nanos()));
  }
  spdlog::info("backup: {} vault op(s) replayed; backup clock at {} (x{})", replayed,
               model::format_drill_time(now()), clock_->scale());
  node_.set_write_gate([this](const std::string& vm) { return admit_write(vm); });
  arm();
  ship_next();
  return Status::ok();
}

void BackupDriver::stop() {
  stopped_ = true;
  node_.set_write_gate(nullptr);
  if (timer_) scheduler_.cancel(*timer_);
  timer_.reset();
  if (in_flight_) in_flight_->TryCancel();
  in_flight_.reset();  // the call's state is the callback's: the shutdown waits for it to go
}

// ---------------------------------------------------------------- ops

Result<BackupDriver::Applied> BackupDriver::apply(VaultSet& set, const v1::VaultOp& op) {
  const Time at = from_nanos(op.at_nanos());
  const std::string& own = node_.options().name;
  const std::string region = set.region.empty() ? own : set.region;
  const std::string paired = set.region.empty() ? node_.options().peer_name : own;
  auto find_vault = [&](const std::string& name) -> Result<model::RecoveryServicesVault*> {
    model::RecoveryServicesVault* v = set.registry.find(name);
    if (v == nullptr) return not_found("no vault named " + name + " in region " + region);
    return v;
  };
  Applied applied;
  switch (op.kind_case()) {
    case v1::VaultOp::kCreateVault: {
      const auto& c = op.create_vault();
      model::VaultSpec spec{.name = c.vault(),
                            .region = region,
                            .paired_region = paired,
                            .redundancy = redundancy_from_proto(c.redundancy())};
      auto v = set.registry.create(spec);
      if (!v.is_ok()) return v.status();
      if (c.cross_region_restore()) {
        if (Status s = (*v)->enable_cross_region_restore(); !s.is_ok()) {
          (void)set.registry.remove(c.vault());
          return s;
        }
      }
      return applied;
    }
    case v1::VaultOp::kDeleteVault: {
      if (Status s = set.registry.remove(op.delete_vault().vault()); !s.is_ok()) return s;
      set.policies.erase(op.delete_vault().vault());
      return applied;
    }
    case v1::VaultOp::kCreatePolicy: {
      const auto& c = op.create_policy();
      auto v = find_vault(c.vault());
      if (!v.is_ok()) return v.status();
      auto policy = policy_from_proto(c.spec());
      if (!policy.is_ok()) return policy.status();
      auto& named = set.policies[c.vault()];
      if (named.contains(c.policy())) {
        return Status(StatusCode::kAlreadyExists,
                      "vault " + c.vault() + " already has a policy named " + c.policy());
      }
      named.emplace(c.policy(), *policy);
      return applied;
    }
    case v1::VaultOp::kProtect: {
      const auto& c = op.protect();
      auto v = find_vault(c.vault());
      if (!v.is_ok()) return v.status();
      auto named = set.policies.find(c.vault());
      if (named == set.policies.end() || !named->second.contains(c.policy())) {
        return not_found("policy: vault " + c.vault() + " has no policy named " + c.policy() +
                         "; create it first");
      }
      if (Status s = (*v)->protect(vm_from_facts(c.vm(), region), named->second.at(c.policy()), at);
          !s.is_ok()) {
        return s;
      }
      set.item_policy[{c.vault(), c.vm().vm()}] = c.policy();
      return applied;
    }
    case v1::VaultOp::kBackup: {
      const auto& c = op.backup();
      auto v = find_vault(c.vault());
      if (!v.is_ok()) return v.status();
      const model::VirtualMachine vm = vm_from_facts(c.vm(), region);
      auto job = c.on_demand()
                     ? (*v)->run_on_demand_backup(vm, from_nanos(c.retain_until_nanos()), at)
                     : (*v)->run_scheduled_backup(vm, at);
      if (!job.is_ok()) return job.status();
      if (job->point) {
        set.points[{c.vault(), vm.name}][job->point->value()] =
            PointData{c.blob(), c.source_seq(), c.keys()};
      } else {
        (void)store_.delete_blob({set.region, c.blob()});  // the job failed: no point
      }
      applied.job = *job;
      return applied;
    }
    case v1::VaultOp::kStopProtection: {
      auto v = find_vault(op.stop_protection().vault());
      if (!v.is_ok()) return v.status();
      if (Status s = (*v)->stop_protection(op.stop_protection().vm()); !s.is_ok()) return s;
      return applied;
    }
    case v1::VaultOp::kDeleteData: {
      const auto& c = op.delete_data();
      auto v = find_vault(c.vault());
      if (!v.is_ok()) return v.status();
      auto deleted = (*v)->delete_backup_data(c.vm(), at);
      if (!deleted.is_ok()) return deleted.status();
      if ((*v)->item(c.vm()) == nullptr) drop_points(set, c.vault(), c.vm(), std::nullopt);
      applied.deleted = *deleted;
      return applied;
    }
    case v1::VaultOp::kUndelete: {
      auto v = find_vault(op.undelete().vault());
      if (!v.is_ok()) return v.status();
      if (Status s = (*v)->undelete(op.undelete().vm(), at); !s.is_ok()) return s;
      return applied;
    }
    case v1::VaultOp::kResume: {
      auto v = find_vault(op.resume().vault());
      if (!v.is_ok()) return v.status();
      if (Status s = (*v)->resume_protection(op.resume().vm(), at); !s.is_ok()) return s;
      return applied;
    }
    case v1::VaultOp::kExpire: {
      const std::string& name = op.expire().vault();
      auto v = find_vault(name);
      if (!v.is_ok()) return v.status();
      model::VaultExpiry e = (*v)->expire(at);
      for (const auto& x : e.expired) drop_points(set, name, x.vm, x.point.value());
      for (const auto& p : e.purged) {
        drop_points(set, name, p.vm, std::nullopt);
        if (set.region.empty()) {
          spdlog::info("backup: vault {}: soft-deleted backup data of {} ({} point(s)) purged",
                       name, p.vm, p.points);
        }
      }
      return applied;
    }
    case v1::VaultOp::kDeleteVm: {
      const std::string& vm = op.delete_vm().vm();
      auto deleted = set.registry.delete_vm(vm, model::DeleteConfirmation::kConfirmed);
      if (!deleted.is_ok()) return deleted.status();
      // This region's hosted VM, or (from the paired region) the same VM as its standby copy.
      if (hosted(vm)) (set.region.empty() ? deleted_vms_ : deleted_in_peer_).insert(vm);
      applied.vm_deleted = *deleted;
      return applied;
    }
    case v1::VaultOp::kCaptureImage:
      // The image is the paired region's, but the VM it generalized is the same VM this region
      // holds as its standby copy: after a failover it must not start here either.
      if (!set.region.empty()) {
        if (hosted(op.capture_image().vm())) {
          generalized_in_peer_[op.capture_image().vm()] =
              op.capture_image().image() + " in region " + set.region;
        }
        return applied;
      }
      return apply_disk_op(op);
    case v1::VaultOp::kCreateSnapshot:
    case v1::VaultOp::kDeleteSnapshot:
      // Snapshots and images are this region's (locally redundant); a paired copy skips them.
      if (!set.region.empty()) return applied;
      return apply_disk_op(op);
    case v1::VaultOp::KIND_NOT_SET:
      break;
  }
  return invalid_argument("vault op " + std::to_string(op.seq()) + " has no kind");
}

void BackupDriver::drop_points(VaultSet& set, const std::string& vault, const std::string& vm,
                               std::optional<uint64_t> only) {
  auto it = set.points.find({vault, vm});
  if (it == set.points.end()) return;
  for (auto p = it->second.begin(); p != it->second.end();) {
    if (only && p->first != *only) {
      ++p;
      continue;
    }
    if (Status s = store_.delete_blob({set.region, p->second.blob}); !s.is_ok()) {
      spdlog::warn("backup: cannot delete the data of point {} of {}: {}", p->first, vm,
                   s.message());
    }
    p = it->second.erase(p);
  }
  if (it->second.empty()) set.points.erase(it);
}

Result<BackupDriver::Applied> BackupDriver::commit(v1::VaultOp op, std::optional<Time> at) {
  // Ops are applied in time order; a scheduled backup is recorded at its slot when the timer
  // woke a little late (it never runs before an op already applied).
  Time when = at.value_or(now());
  if (!local_ops_.empty()) when = std::max(when, from_nanos(local_ops_.back().at_nanos()));
  op.set_seq(next_seq_);
  op.set_at_nanos(to_nanos(when));
  catch_up_usage(when);
  auto r = apply(local_, op);
  if (!r.is_ok()) return r;
  if (Status s = store_.append_op("", op); !s.is_ok()) {
    // The models moved and the log did not: a restart would forget this change.
    spdlog::critical("backup: cannot log vault op {}: {}", op.seq(), s.to_string());
    std::abort();
  }
  local_.applied_seq = op.seq();
  record_usage(when);
  local_ops_.push_back(std::move(op));
  ++next_seq_;
  save_clock();
  ship_next();
  arm();
  return r;
}

// ---------------------------------------------------------------- VMs

bool BackupDriver::hosted(const std::string& vm) const {
  for (const auto& w : node_.options().workloads) {
    if (w.name == vm) return true;
  }
  return false;
}

Result<v1::VmInfo> BackupDriver::vm_info(const std::string& vm) {
  auto rec = store_.get_record(kVmRecord, vm);
  if (!rec.is_ok()) return rec.status();
  v1::VmInfo info;
  if (rec->has_value()) {
    if (!info.ParseFromString(**rec)) {
      return Status(StatusCode::kDataLoss, "settings of VM " + vm + " are corrupt");
    }
    return info;
  }
  if (deleted_vms_.contains(vm)) {
    return not_found("VM " + vm + " was deleted from region " + node_.options().name);
  }
  if (deleted_in_peer_.contains(vm)) {
    return not_found("VM " + vm + " was deleted in the paired region " +
                     node_.options().peer_name + " (this region held its standby copy)");
  }
  if (!hosted(vm)) {
    return not_found("no VM named " + vm + " in region " + node_.options().name +
                     " (hosted workloads and VMs restores created)");
  }
  info.set_name(vm);
  info.set_hosted(true);
  info.set_agent_installed(true);
  info.set_power(model::power_state_name(model::PowerState::kRunning));
  info.add_disks(os_disk(vm));
  return info;
}

Result<v1::VmFacts> BackupDriver::facts_of(const std::string& vm, uint64_t used_bytes,
                                           uint64_t written_bytes) {
  if (!hosted(vm)) {
    return not_found("VM " + vm + " is not a workload region " + node_.options().name +
                     " hosts; only hosted VMs can be protected");
  }
  auto info = vm_info(vm);
  if (!info.is_ok()) return info.status();
  v1::VmFacts f;
  f.set_vm(vm);
  f.set_agent_missing(!info->agent_installed());
  f.set_stopped(info->power() != model::power_state_name(model::PowerState::kRunning));
  f.set_disk_size_bytes(options_.disk_size_bytes);
  f.set_used_bytes(used_bytes);
  f.set_written_bytes(written_bytes);
  return f;
}

Status BackupDriver::set_vm(const v1::SetVmRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("vm", req.vm()); !s.is_ok()) return s;
  auto info = vm_info(req.vm());
  if (!info.is_ok()) return info.status();
  switch (req.setting_case()) {
    case v1::SetVmRequest::kAgentInstalled:
      info->set_agent_installed(req.agent_installed());
      break;
    case v1::SetVmRequest::kRunning:
      if (req.running() && generalized_in_peer_.contains(req.vm())) return admit_write(req.vm());
      if (info->power() == model::power_state_name(model::PowerState::kGeneralized)) {
        // Azure cannot start a VM captured into an image; stopping it changes nothing.
        if (!req.running()) break;
        model::VirtualMachine vm;
        vm.name = req.vm();
        vm.power = model::PowerState::kGeneralized;
        Status refused = vm.start();
        auto image = generalized_.find(req.vm());
        if (image == generalized_.end()) return refused;
        return Status(refused.code(),
                      refused.message() + ": drsim image create-vm " + image->second + " NEW-VM");
      }
      info->set_power(model::power_state_name(req.running() ? model::PowerState::kRunning
                                                            : model::PowerState::kStopped));
      break;
    case v1::SetVmRequest::SETTING_NOT_SET:
      return invalid_argument("setting: give agent_installed or running");
  }
  spdlog::info("backup: VM {}: agent {}, {}", req.vm(),
               info->agent_installed() ? "installed" : "missing", info->power());
  return store_.put_record(kVmRecord, req.vm(), info->SerializeAsString());
}

Result<v1::ListVmsResponse> BackupDriver::list_vms() {
  if (Status s = check_serving(); !s.is_ok()) return s;
  v1::ListVmsResponse resp;
  std::set<std::string> vm_disks;
  std::set<std::string> listed;
  for (const auto& w : node_.options().workloads) {
    listed.insert(w.name);
    if (deleted_vms_.contains(w.name) || deleted_in_peer_.contains(w.name)) continue;
    auto info = vm_info(w.name);
    if (!info.is_ok()) return info.status();
    *resp.add_vms() = *info;
  }
  Status bad;
  Status s = store_.for_each_record(kVmRecord, [&](const std::string& name, const std::string& v) {
    if (listed.contains(name)) return;
    v1::VmInfo info;
    if (!info.ParseFromString(v)) {
      bad = Status(StatusCode::kDataLoss, "settings of VM " + name + " are corrupt");
      return;
    }
    for (const auto& d : info.disks()) vm_disks.insert(d);
    *resp.add_vms() = std::move(info);
  });
  if (!s.is_ok()) return s;
  if (!bad.is_ok()) return bad;
  auto disks = store_.list_disks();
  if (!disks.is_ok()) return disks.status();
  for (const auto& d : *disks) {
    if (!vm_disks.contains(d)) resp.add_restored_disks(d);
  }
  return resp;
}

Result<v1::DeleteVmResponse> BackupDriver::delete_vm(const v1::DeleteVmRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("vm", req.vm()); !s.is_ok()) return s;
  auto info = vm_info(req.vm());
  if (!info.is_ok()) return info.status();
  if (!req.confirmed()) {
    // Changes nothing: the refusal says what deleting would mean.
    return local_.registry.delete_vm(req.vm(), model::DeleteConfirmation::kNotConfirmed)
        .status();
  }
  v1::VaultOp op;
  op.mutable_delete_vm()->set_vm(req.vm());
  auto applied = commit(std::move(op));
  if (!applied.is_ok()) return applied.status();
  // A restored VM's settings go (its name can be used again); its disks stay, as Azure keeps
  // a deleted VM's disks unless told otherwise.
  if (!info->hosted()) {
    if (Status s = store_.delete_record(kVmRecord, req.vm()); !s.is_ok()) return s;
  }
  const model::SourceVmDeleted& d = *applied->vm_deleted;
  spdlog::info("backup: VM {} deleted: {}", req.vm(), d.reason);
  v1::DeleteVmResponse resp;
  resp.set_vm(req.vm());
  resp.set_hosted(info->hosted());
  resp.set_restorable(d.recovery == model::VmRecovery::kRestorableFromBackup);
  resp.set_vault(d.vault);
  resp.set_points(d.points);
  resp.set_outcome(d.reason);
  return resp;
}

Result<v1::ReadDiskResponse> BackupDriver::read_disk(const v1::ReadDiskRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (req.disk().empty()) return invalid_argument("disk: required");
  const size_t limit =
      req.limit() == 0 ? kCopyPageKeys : std::min<size_t>(req.limit(), kMaxReadLimit);
  v1::ReadDiskResponse resp;
  auto fill = [&](auto& page) {
    for (auto& [k, v] : page->items) {
      auto* item = resp.add_items();
      item->set_key(std::move(k));
      item->set_value(std::move(v));
    }
    resp.set_next_key(page->next_key);
  };
  // A hosted VM's OS disk is the live workload.
  for (const auto& w : node_.options().workloads) {
    if (req.disk() == os_disk(w.name)) {
      auto page = region_store_.scan(w.name, req.start_key(), limit);
      if (!page.is_ok()) return page.status();
      fill(page);
      return resp;
    }
  }
  auto exists = store_.disk_exists(req.disk());
  if (!exists.is_ok()) return exists.status();
  if (!*exists) {
    return not_found("disk: no disk named " + req.disk() + " in region " + node_.options().name);
  }
  auto page = store_.read_disk(req.disk(), req.start_key(), limit);
  if (!page.is_ok()) return page.status();
  fill(page);
  return resp;
}

// ---------------------------------------------------------------- vaults and policies

Result<v1::CreateVaultResponse> BackupDriver::create_vault(const v1::CreateVaultRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (!v1::StorageRedundancy_IsValid(req.redundancy())) {
    return invalid_argument("redundancy: " + std::to_string(req.redundancy()) +
                            " is not GRS, LRS or ZRS");
  }
  v1::VaultOp op;
  auto* c = op.mutable_create_vault();
  c->set_vault(req.vault());
  c->set_redundancy(req.redundancy());
  c->set_cross_region_restore(req.cross_region_restore());
  auto r = commit(std::move(op));
  if (!r.is_ok()) return r.status();
  v1::CreateVaultResponse resp;
  fill_vault(local_, *local_.registry.find(req.vault()), resp.mutable_vault());
  spdlog::info("backup: vault {} created ({}{})", req.vault(), resp.vault().redundancy(),
               req.cross_region_restore() ? ", cross-region restore" : "");
  return resp;
}

Status BackupDriver::delete_vault(const v1::DeleteVaultRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  v1::VaultOp op;
  op.mutable_delete_vault()->set_vault(req.vault());
  return commit(std::move(op)).status();
}

Status BackupDriver::create_policy(const v1::CreatePolicyRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("policy", req.policy()); !s.is_ok()) return s;
  v1::VaultOp op;
  auto* c = op.mutable_create_policy();
  c->set_vault(req.vault());
  c->set_policy(req.policy());
  *c->mutable_spec() = req.spec();
  return commit(std::move(op)).status();
}

Result<v1::ProtectResponse> BackupDriver::protect(const v1::ProtectRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (Status s = check_name("vm", req.vm()); !s.is_ok()) return s;
  auto facts = facts_of(req.vm(), 0, 0);
  if (!facts.is_ok()) return facts.status();
  v1::VaultOp op;
  auto* c = op.mutable_protect();
  c->set_vault(req.vault());
  c->set_policy(req.policy());
  *c->mutable_vm() = *facts;
  auto r = commit(std::move(op));
  if (!r.is_ok()) return r.status();
  v1::ProtectResponse resp;
  const model::BackupItem* item = local_.registry.find(req.vault())->item(req.vm());
  resp.set_next_backup(model::format_drill_time(item->next_backup_due()));
  spdlog::info("backup: vault {} protects {} with policy {}; next backup {}", req.vault(), req.vm(),
               req.policy(), resp.next_backup());
  return resp;
}

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

// ---------------------------------------------------------------- restore

Result<uint64_t> BackupDriver::copy_blob_to_disk(const storage::BlobRef& blob,
                                                 const std::string& disk, uint64_t* bytes) {
  uint64_t keys = 0;
  std::string start;
  for (;;) {
    auto page = store_.read_blob(blob, start, kCopyPageKeys);
    if (!page.is_ok()) return page.status();
    for (const auto& [k, v] : page->items) *bytes += k.size() + v.size();
    keys += page->items.size();
    if (Status s = store_.put_disk(disk, page->items); !s.is_ok()) return s;
    if (page->next_key.empty()) return keys;
    start = std::move(page->next_key);
  }
}

void BackupDriver::restore(const v1::RestoreRequest& req, RestoreDone done) {
  if (Status s = check_serving(); !s.is_ok()) return done(s);
  model::RestoreKind kind;
  switch (req.kind()) {
    case v1::RESTORE_CREATE_VM:
      kind = model::RestoreKind::kCreateVm;
      break;
    case v1::RESTORE_DISKS:
      kind = model::RestoreKind::kRestoreDisks;
      break;
    case v1::RESTORE_REPLACE_EXISTING:
      kind = model::RestoreKind::kReplaceExisting;
      break;
    default:
      return done(invalid_argument("kind: give create-vm, restore-disks or replace-existing"));
  }
  const std::string& own = node_.options().name;
  VaultSet* set = &local_;
  auto location = model::RestoreLocation::kVaultRegion;
  if (req.cross_region()) {
    if (Status s = check_name("source_region", req.source_region()); !s.is_ok()) return done(s);
    if (req.source_region() == own) {
      return done(invalid_argument("source_region: " + own +
                                   " is this region; cross-region restore runs in the paired "
                                   "region of the vault"));
    }
    auto it = paired_.find(req.source_region());
    if (it == paired_.end()) {
      return done(failed_precondition("region " + own + " holds no copy of the vaults of " +
                                      req.source_region() +
                                      " (none created, or never reached this region)"));
    }
    set = &it->second;
    location = model::RestoreLocation::kPairedRegion;
  }
  const std::string vault_region = set->region.empty() ? own : set->region;
  const model::RecoveryServicesVault* vault = set->registry.find(req.vault());
  if (vault == nullptr) {
    return done(not_found("no vault named " + req.vault() + " in region " + vault_region));
  }
  uint64_t point = req.point();
  if (point == 0) {
    const model::BackupItem* item = vault->item(req.vm());
    if (item == nullptr) {
      return done(not_found("vault " + req.vault() + " has no backup item for VM " + req.vm()));
    }
    if (item->points().empty()) {
      return done(failed_precondition("VM " + req.vm() + " has no recovery point yet"));
    }
    point = item->points().back().id.value();
  }
  if (kind == model::RestoreKind::kCreateVm) {
    if (Status s = check_name("target_vm", req.target_vm()); !s.is_ok()) return done(s);
  }
  auto plan = model::plan_restore(*vault,
                                  {.vm = req.vm(),
                                   .point = model::BackupPointId(point),
                                   .kind = kind,
                                   .location = location,
                                   .target_vm = req.target_vm()},
                                  now());
  if (!plan.is_ok()) return done(plan.status());
  auto data_of = set->points.find({req.vault(), req.vm()});
  if (data_of == set->points.end() || !data_of->second.contains(point)) {
    return done(internal_error("recovery point " + std::to_string(point) + " of " + req.vm() +
                               " has no data in region " + own));
  }
  const PointData data = data_of->second.at(point);
  const storage::BlobRef blob{set->region, data.blob};
  v1::RestoreResponse resp;
  resp.set_region(plan->region);
  resp.set_source(restore_source_name(plan->source));
  resp.set_consistency(model::consistency_name(plan->consistency));
  resp.set_point(point);
  resp.set_source_seq(data.source_seq);
  for (const auto& d : plan->disks) resp.add_disks(d.name());

  if (kind == model::RestoreKind::kReplaceExisting) {
    if (!hosted(req.vm())) {
      return done(failed_precondition("VM " + req.vm() + " is not hosted by region " + own));
    }
    return replace_existing(req.vm(), blob, std::move(resp), std::move(done));
  }
  if (kind == model::RestoreKind::kCreateVm) {
    auto existing = store_.get_record(kVmRecord, req.target_vm());
    if (!existing.is_ok()) return done(existing.status());
    if (hosted(req.target_vm()) || existing->has_value()) {
      return done(Status(StatusCode::kAlreadyExists, "target_vm: a VM named " + req.target_vm() +
                                                         " exists in region " + own +
                                                         "; name the new VM differently"));
    }
  }
  for (const auto& d : plan->disks) {
    auto exists = store_.disk_exists(d.name());
    if (!exists.is_ok()) return done(exists.status());
    if (*exists) {
      return done(
          Status(StatusCode::kAlreadyExists, "disk " + d.name() + " exists in region " + own +
                                                 " (restored before); read it with ReadDisk"));
    }
  }
  uint64_t bytes = 0;
  for (const auto& d : plan->disks) {
    auto keys = copy_blob_to_disk(blob, d.name(), &bytes);
    if (!keys.is_ok()) return done(keys.status());
    resp.set_keys(*keys);
  }
  resp.set_bytes(bytes);
  if (plan->new_vm) {
    v1::VmInfo info;
    info.set_name(plan->new_vm->name);
    info.set_hosted(false);
    info.set_agent_installed(plan->new_vm->agent == model::GuestAgent::kInstalled);
    info.set_power(model::power_state_name(plan->new_vm->power));
    for (const auto& d : plan->new_vm->disks) info.add_disks(d.name());
    if (Status s = store_.put_record(kVmRecord, info.name(), info.SerializeAsString());
        !s.is_ok()) {
      return done(s);
    }
    resp.set_new_vm(info.name());
  }
  spdlog::info("backup: restored point {} of {} ({}, from the {}): {} keys, {} bytes", point,
               req.vm(), model::restore_kind_name(kind), resp.source(), resp.keys(), resp.bytes());
  done(std::move(resp));
}

void BackupDriver::replace_existing(const std::string& vm, const storage::BlobRef& blob,
                                    v1::RestoreResponse resp, RestoreDone done) {
  // The point's keys and the live ones; the difference is written through the region's write
  // path, so the restore is sequenced and replicated like any client write.
  std::map<std::string, std::string> want;
  std::string start;
  for (;;) {
    auto page = store_.read_blob(blob, start, kCopyPageKeys);
    if (!page.is_ok()) return done(page.status());
    for (auto& [k, v] : page->items) want.emplace(std::move(k), std::move(v));
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  uint64_t bytes = 0;
  for (const auto& [k, v] : want) bytes += k.size() + v.size();
  resp.set_keys(want.size());
  resp.set_bytes(bytes);
  std::vector<v1::WriteOp> ops;
  std::set<std::string> live_keys;
  start.clear();
  for (;;) {
    auto page = region_store_.scan(vm, start, kCopyPageKeys);
    if (!page.is_ok()) return done(page.status());
    for (const auto& [k, v] : page->items) {
      live_keys.insert(k);
      auto it = want.find(k);
      if (it == want.end()) {
        auto* del = ops.emplace_back().mutable_delete_();
        del->set_workload(vm);
        del->set_key(k);
      } else if (it->second != v) {
        auto* put = ops.emplace_back().mutable_put();
        put->set_workload(vm);
        put->set_key(k);
        put->set_value(it->second);
      }
    }
    if (page->next_key.empty()) break;
    start = std::move(page->next_key);
  }
  for (const auto& [k, v] : want) {
    if (live_keys.contains(k)) continue;
    auto* put = ops.emplace_back().mutable_put();
    put->set_workload(vm);
    put->set_key(k);
    put->set_value(v);
  }
  auto job = std::make_shared<ReplaceJob>();
  job->ops = std::move(ops);
  job->resp = std::move(resp);
  job->done = std::move(done);
  job->vm = vm;
  ReplaceJob::next(node_, job);
}

// Writes the changes of a replace-existing restore in batches, one after the other; the
// pending write's callback keeps the job alive.
void BackupDriver::ReplaceJob::next(RegionNode& node, const std::shared_ptr<ReplaceJob>& job) {
  if (job->written == job->ops.size()) {
    spdlog::info("backup: replaced the state of {} with point {}: {} change(s)", job->vm,
                 job->resp.point(), job->ops.size());
    job->done(std::move(job->resp));
    return;
  }
  const size_t end = std::min(job->ops.size(), job->written + kReplaceBatchOps);
  std::vector<v1::WriteOp> batch(job->ops.begin() + job->written, job->ops.begin() + end);
  node.write(std::move(batch), [&node, job, end](WriteOutcome out) {
    if (!out.status.is_ok()) {
      job->done(Status(out.status.code(), "replace existing of " + job->vm + " stopped after " +
                                              std::to_string(job->written) + " of " +
                                              std::to_string(job->ops.size()) +
                                              " changes: " + out.status.message()));
      return;
    }
    job->written = end;
    next(node, job);
  });
}

// ---------------------------------------------------------------- clock and schedule

Result<v1::SetBackupClockResponse> BackupDriver::set_clock(const v1::SetBackupClockRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (req.time_scale() != 0) {
    if (Status s = clock_->set_scale(req.time_scale()); !s.is_ok()) return s;
  }
  if (req.advance_nanos() != 0) {
    if (Status s = clock_->advance(Duration(req.advance_nanos())); !s.is_ok()) {
      return s;
    }
  }
  spdlog::info("backup: clock at {} (x{})", model::format_drill_time(now()), clock_->scale());
  on_tick();  // what the jump made due happens before the answer
  v1::SetBackupClockResponse resp;
  resp.set_now(model::format_drill_time(now()));
  resp.set_now_nanos(to_nanos(now()));
  resp.set_time_scale(clock_->scale());
  return resp;
}

void BackupDriver::save_clock() {
  if (Status s = store_.put_record(kClockRecord, "now", std::to_string(to_nanos(now())));
      !s.is_ok()) {
    spdlog::warn("backup: cannot save the backup clock: {}", s.message());
  }
}

void BackupDriver::arm() {
  if (stopped_) return;
  if (timer_) scheduler_.cancel(*timer_);
  Time next = kNever;
  for (const auto* v : local_.registry.list(node_.options().name)) {
    next = std::min(next, v->next_deadline());
  }
  Duration wait = clock_->base_delay_until(next);
  wait = std::clamp<Duration>(wait, kMinTimerWait, kMaxTimerWait);
  timer_ = scheduler_.schedule_after(wait, [this] {
    timer_.reset();
    on_tick();
  });
}

void BackupDriver::on_tick() {
  if (stopped_) return;
  if (node_.in_outage()) {  // a region in an outage runs no backups
    arm();
    return;
  }
  std::vector<std::string> vaults;
  for (const auto* v : local_.registry.list(node_.options().name)) vaults.push_back(v->name());
  for (const auto& name : vaults) {
    const Time t = now();
    const model::RecoveryServicesVault* v = local_.registry.find(name);
    for (const auto& vm : v->due_backups(t)) {
      const Time slot = v->item(vm)->next_backup_due();
      auto job = run_backup(name, vm, /*on_demand=*/false, kNever, slot);
      if (!job.is_ok() && !warned_.contains(vm)) {
        warned_.insert(vm);
        spdlog::warn("backup: scheduled backup of {} in vault {} not run: {}", vm, name,
                     job.status().message());
      }
    }
    v = local_.registry.find(name);
    if (v != nullptr && v->next_deadline() <= now()) {
      v1::VaultOp op;
      op.mutable_expire()->set_vault(name);
      if (auto r = commit(std::move(op)); !r.is_ok()) {
        spdlog::warn("backup: expiry in vault {}: {}", name, r.status().message());
      }
    }
  }
  save_clock();
  arm();
}

// ---------------------------------------------------------------- paired region

v1::Backup::Stub* BackupDriver::peer() {
  const std::string& address = node_.options().peer_address;
  if (address.empty()) return nullptr;
  if (address != peer_address_ || !peer_stub_) {
    peer_stub_ = v1::Backup::NewStub(node_.peer_channel(address));
    peer_address_ = address;
    peer_applied_known_ = false;
  }
  return peer_stub_.get();
}

template <typename Request, typename Response, typename Method, typename Then>
void BackupDriver::call_peer(Method method, Request req, Then then) {
  struct Call {
    grpc::ClientContext ctx;
    Request req;
    Response resp;
  };
  auto call = node_.loop_gate()->make_call<Call>("backup shipping");
  call->req = std::move(req);
  net::set_deadline(call->ctx,
                    std::chrono::duration_cast<std::chrono::milliseconds>(kShipDeadline));
  in_flight_ = std::shared_ptr<grpc::ClientContext>(call, &call->ctx);
  shipping_ = true;
  // Through the loop gate: the answer may come after the daemon's loop has gone.
  method(peer()->async(), &call->ctx, &call->req, &call->resp,
         [this, gate = node_.loop_gate(), call, then](grpc::Status s) {
           gate->post([this, call, then, s] {
             if (stopped_) return;
             in_flight_.reset();
             shipping_ = false;
             if (!s.ok()) return ship_failed(net::from_grpc(s));
             if (!ship_error_.empty()) {
               spdlog::info("backup: paired region {} reachable again", node_.options().peer_name);
               ship_error_.clear();
             }
             then(call->resp);
           });
         });
}

void BackupDriver::ship_next() {
  if (shipping_ || stopped_ || retry_scheduled_ || node_.in_outage() || peer() == nullptr) return;
  if (!peer_applied_known_) return ship_op(nullptr);  // asks what the peer has
  if (peer_applied_ >= local_ops_.size()) return;
  auto op = std::make_shared<v1::VaultOp>(local_ops_[peer_applied_]);  // seq peer_applied_ + 1
  if (op->has_backup() && op->backup().geo_copy()) {
    ship_blob(op, "");
  } else {
    ship_op(op);
  }
}

void BackupDriver::ship_blob(std::shared_ptr<v1::VaultOp> op, std::string start_key) {
  auto page = store_.read_blob({"", op->backup().blob()}, start_key, kCopyPageKeys);
  if (!page.is_ok()) return ship_failed(page.status());
  v1::GeoBlobChunk chunk;
  chunk.set_source_region(node_.options().name);
  chunk.set_blob(op->backup().blob());
  for (auto& [k, v] : page->items) {
    auto* item = chunk.add_items();
    item->set_key(std::move(k));
    item->set_value(std::move(v));
  }
  chunk.set_last(page->next_key.empty());
  call_peer<v1::GeoBlobChunk, v1::GeoBlobChunkResponse>(
      [](auto* a, auto... args) { a->GeoPutBlob(args...); }, std::move(chunk),
      [this, op, next = std::move(page->next_key)](const v1::GeoBlobChunkResponse&) {
        if (next.empty()) return ship_op(op);
        ship_blob(op, next);
      });
}

void BackupDriver::ship_op(std::shared_ptr<v1::VaultOp> op) {
  v1::GeoOpsRequest req;
  req.set_source_region(node_.options().name);
  if (op) *req.add_ops() = *op;
  call_peer<v1::GeoOpsRequest, v1::GeoOpsResponse>(
      [](auto* a, auto... args) { a->GeoApplyOps(args...); }, std::move(req),
      [this](const v1::GeoOpsResponse& resp) {
        peer_applied_ = resp.applied_seq();
        peer_applied_known_ = true;
        ship_next();
      });
}

void BackupDriver::ship_failed(const Status& why) {
  if (why.code() == StatusCode::kOutOfRange) peer_applied_known_ = false;
  if (ship_error_ != why.message()) {
    spdlog::warn("backup: paired-region copy to {} waits: {}", node_.options().peer_name,
                 why.message());
    ship_error_ = why.message();
  }
  retry_scheduled_ = true;
  scheduler_.schedule_after(kShipRetry, [this] {
    retry_scheduled_ = false;
    ship_next();
  });
}

std::optional<std::pair<std::pair<std::string, std::string>, uint64_t>>
BackupDriver::point_naming(const VaultSet& set, uint64_t blob) {
  for (const auto& [item, points] : set.points) {
    for (const auto& [id, data] : points) {
      if (data.blob == blob) return std::make_pair(item, id);
    }
  }
  return std::nullopt;
}

const BackupDriver::VaultSet& BackupDriver::paired_copy(const std::string& source) const {
  static const VaultSet kNoCopy;
  auto set = paired_.find(source);
  return set == paired_.end() ? kNoCopy : set->second;
}

Status BackupDriver::drop_unnamed_geo_blobs() {
  auto stored = store_.list_blobs();
  if (!stored.is_ok()) return stored.status();
  std::map<std::string, std::vector<uint64_t>> by_source;
  for (const auto& b : *stored) {
    if (!b.region.empty()) by_source[b.region].push_back(b.id);
  }
  for (const auto& [source, blobs] : by_source) {
    const VaultSet& copy = paired_copy(source);
    auto drop = model::unnamed_geo_blobs(
        blobs, [&](uint64_t b) { return point_naming(copy, b).has_value(); });
    for (uint64_t b : drop) {
      if (Status s = store_.delete_blob({source, b}); !s.is_ok()) return s;
    }
    if (!drop.empty()) {
      spdlog::info("backup: dropped {} blob(s) of {}'s paired copy that no recovery point names",
                   drop.size(), source);
    }
  }
  return Status::ok();
}

Status BackupDriver::geo_put_blob(const v1::GeoBlobChunk& chunk) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  const std::string& src = chunk.source_region();
  if (Status s = check_name("source_region", src); !s.is_ok()) return s;
  if (src == node_.options().name) {
    return invalid_argument("source_region: " + src + " is this region");
  }
  for (int i = 0; i < chunk.items_size(); ++i) {
    if (chunk.items(i).key().empty()) {
      return invalid_argument("items[" + std::to_string(i) + "].key: must not be empty");
    }
  }
  const VaultSet& copy = paired_copy(src);
  const auto decision = geo_intake_[src].on_chunk(
      chunk.blob(), [&](uint64_t b) { return point_naming(copy, b).has_value(); });
  if (decision.kind == model::GeoChunkDecision::Kind::kRefuseNamed) {
    // The source ships a point's data before the op that names it, and never again: data an
    // applied op names is a recovery point, immutable here as in the source's vault.
    const auto named = *point_naming(copy, chunk.blob());
    return failed_precondition(
        "blob: " + std::to_string(chunk.blob()) + " holds recovery point " +
        std::to_string(named.second) + " of " + named.first.second + " in vault " +
        named.first.first + " of " + src +
        "'s paired copy; a recovery point's data does not change");
  }
  if (decision.drop_blob) {
    if (Status s = store_.delete_blob({src, *decision.drop_blob}); !s.is_ok()) return s;
  }
  return store_.put_blob({src, chunk.blob()}, [&] {
    storage::KeyValues items;
    for (const auto& kv : chunk.items()) items.emplace_back(kv.key(), kv.value());
    return items;
  }());
}

Result<v1::GeoOpsResponse> BackupDriver::geo_apply_ops(const v1::GeoOpsRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  const std::string& src = req.source_region();
  if (Status s = check_name("source_region", src); !s.is_ok()) return s;
  if (src == node_.options().name) {
    return invalid_argument("source_region: " + src + " is this region");
  }
  VaultSet& set = paired_[src];
  set.region = src;
  for (const auto& op : req.ops()) {
    if (op.seq() <= set.applied_seq) continue;  // a resend
    if (op.seq() != set.applied_seq + 1) {
      return out_of_range("ops: seq " + std::to_string(op.seq()) + " after " +
                          std::to_string(set.applied_seq) + "; resend from " +
                          std::to_string(set.applied_seq + 1));
    }
    if (Status s = store_.append_op(src, op); !s.is_ok()) return s;
    if (auto r = apply(set, op); !r.is_ok()) {
      // The source applied it; the same models must agree. Logged, and the copy moves on.
      spdlog::error("backup: paired copy of {}: op {} refused: {}", src, op.seq(),
                    r.status().message());
    }
    set.applied_seq = op.seq();
  }
  v1::GeoOpsResponse resp;
  resp.set_applied_seq(set.applied_seq);
  return resp;
}

}  // namespace drsim::region
