#include "common/model/siterecovery/item.h"

#include <set>

namespace drsim::model {

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::kAzureVm:
      return "Azure VM";
    case SourceKind::kVmwareVm:
      return "VMware VM";
    case SourceKind::kHyperVVm:
      return "Hyper-V VM";
    case SourceKind::kPhysicalWindowsServer:
      return "physical Windows server";
    case SourceKind::kPhysicalLinuxServer:
      return "physical Linux server";
    case SourceKind::kAzureStackVm:
      return "Azure Stack VM";
    case SourceKind::kAwsWindowsInstance:
      return "AWS Windows instance";
  }
  return "unknown source";
}

std::string source_kind_with_article(SourceKind kind) {
  const std::string name = source_kind_name(kind);
  // "an Azure VM", "an AWS Windows instance": by the sound of the first letter.
  return (name.front() == 'A' ? "an " : "a ") + name;
}

SourceKind failback_kind(SourceKind kind, TargetKind replicated_to) {
  if (replicated_to == TargetKind::kSecondarySite) return kind;
  switch (kind) {
    case SourceKind::kPhysicalWindowsServer:
    case SourceKind::kPhysicalLinuxServer:
    case SourceKind::kAzureStackVm:
    case SourceKind::kAwsWindowsInstance:
      return SourceKind::kVmwareVm;
    case SourceKind::kAzureVm:
    case SourceKind::kVmwareVm:
    case SourceKind::kHyperVVm:
      return kind;
  }
  return kind;
}

const char* target_kind_name(TargetKind kind) {
  switch (kind) {
    case TargetKind::kAzureRegion:
      return "Azure region";
    case TargetKind::kSecondarySite:
      return "secondary site";
  }
  return "unknown target";
}

uint64_t ProtectedItemSpec::used_bytes() const {
  uint64_t total = os_disk.used_bytes;
  for (const auto& d : data_disks) total += d.used_bytes;
  return total;
}

namespace {

Status check_disk(const std::string& item, const std::string& field, const Disk& disk) {
  const std::string where = item + "." + field;
  if (disk.name.empty()) return invalid_argument(where + ".name: must not be empty");
  if (disk.capacity_bytes == 0) {
    return invalid_argument(where + ".capacity_bytes: disk '" + disk.name +
                            "' must be larger than 0");
  }
  if (disk.used_bytes > disk.capacity_bytes) {
    return invalid_argument(where + ".used_bytes: disk '" + disk.name + "' uses " +
                            std::to_string(disk.used_bytes) + " bytes, more than its capacity " +
                            std::to_string(disk.capacity_bytes));
  }
  return Status::ok();
}

}  // namespace

Status ProtectedItemSpec::validate() const {
  if (name.empty()) return invalid_argument("item.name: must not be empty");
  if (location.empty()) {
    return invalid_argument(name + ".location: name the source region or site");
  }
  if (Status s = check_disk(name, "os_disk", os_disk); !s.is_ok()) return s;
  std::set<std::string> seen{os_disk.name};
  for (size_t i = 0; i < data_disks.size(); ++i) {
    const std::string field = "data_disks[" + std::to_string(i) + "]";
    if (Status s = check_disk(name, field, data_disks[i]); !s.is_ok()) return s;
    if (!seen.insert(data_disks[i].name).second) {
      return invalid_argument(name + "." + field + ".name: disk '" + data_disks[i].name +
                              "' is named twice; disk names must be unique per item");
    }
  }
  return Status::ok();
}

namespace {

bool site_accepts(const ProtectedItemSpec& item) {
  switch (item.source) {
    case SourceKind::kVmwareVm:
    case SourceKind::kPhysicalWindowsServer:
    case SourceKind::kPhysicalLinuxServer:
      return true;
    case SourceKind::kHyperVVm:
      return item.hyperv_management == HyperVManagement::kVmm;
    case SourceKind::kAzureVm:
    case SourceKind::kAzureStackVm:
    case SourceKind::kAwsWindowsInstance:
      return false;
  }
  return false;
}

}  // namespace

Status check_replication_target(const ProtectedItemSpec& item, const ReplicationTarget& target) {
  const std::string where = item.name + ".target: ";
  if (target.name.empty()) return invalid_argument(where + "name the target region or site");
  if (target.name == item.location) {
    return invalid_argument(where + "'" + target.name + "' is where " + item.name +
                            " already runs; replicate to a different region or site");
  }
  if (target.kind == TargetKind::kSecondarySite && !site_accepts(item)) {
    std::string what = source_kind_with_article(item.source);
    if (item.source == SourceKind::kHyperVVm) what += " on a standalone Hyper-V host";
    return invalid_argument(
        where + what + " cannot replicate to secondary site '" + target.name +
        "': a secondary site accepts only VMware VMs, Hyper-V VMs managed by System Center VMM and "
        "physical servers; target an Azure region instead");
  }
  return Status::ok();
}

}  // namespace drsim::model
