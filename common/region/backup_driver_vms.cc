// BackupDriver's VMs: creating, listing and deleting the workload VMs a region knows, and their
// facts (agent, power, disk).
#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/region/backup_driver_parts.h"

namespace drsim::region {

namespace v1 = drsim::v1;
using namespace backup_driver_parts;

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

}  // namespace drsim::region
