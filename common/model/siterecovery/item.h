// What Site Recovery protects and where it may replicate to: a VM or physical server with its
// disks (the protected item), and a replication target (an Azure region or a secondary site).
// The vault checks both before replication starts, so later layers only see valid items.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"

namespace drsim::model {

// The machines Site Recovery replicates (facts.md, Site Recovery "Sources").
enum class SourceKind {
  kAzureVm,
  kVmwareVm,
  kHyperVVm,
  kPhysicalWindowsServer,
  kPhysicalLinuxServer,
  kAzureStackVm,
  kAwsWindowsInstance,
};
// "Azure VM", "VMware VM", "Hyper-V VM", ... — the words of the facts sheet.
const char* source_kind_name(SourceKind kind);

// "a VMware VM", "an Azure VM": the name with its article, for messages.
std::string source_kind_with_article(SourceKind kind);

// Only meaningful for Hyper-V VMs: a secondary site accepts them only when System Center VMM
// manages their host.
enum class HyperVManagement { kStandaloneHost, kVmm };

// Site Recovery itself does not need it here; Backup does (facts.md, Backup), and drills share
// one item description between the two.
enum class VmAgent { kInstalled, kMissing };

struct Disk {
  std::string name = {};
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
};

struct ProtectedItemSpec {
  std::string name = {};  // "vm-web"
  SourceKind source = SourceKind::kAzureVm;
  std::string location = {};  // the source Azure region or on-premises site
  HyperVManagement hyperv_management = HyperVManagement::kStandaloneHost;
  Disk os_disk = {};
  std::vector<Disk> data_disks = {};
  VmAgent vm_agent = VmAgent::kInstalled;

  // Bytes a full replication copies (initial replication, or a re-protect without the original
  // disks): the used size of every disk.
  uint64_t used_bytes() const;
  // INVALID_ARGUMENT "<item>.<field>: reason": a name and location, an OS disk, every disk named
  // once with 0 < capacity and used <= capacity.
  Status validate() const;
};

enum class TargetKind { kAzureRegion, kSecondarySite };
const char* target_kind_name(TargetKind kind);  // "Azure region" / "secondary site"

// What a source comes back as when it fails back from an Azure region: physical servers
// (Windows or Linux), Azure Stack VMs and AWS Windows instances fail back to on-premises VMware
// VMs only (there is no failback to a physical server, nor to Azure Stack or AWS); Azure,
// VMware and Hyper-V VMs come back as themselves. From a secondary site an item comes back as
// itself. Applied at re-protect, when the reverse replication picks its target.
SourceKind failback_kind(SourceKind kind, TargetKind replicated_to);

struct ReplicationTarget {
  TargetKind kind = TargetKind::kAzureRegion;
  std::string name;  // "westeurope", "dc-east"
};

// Whether `item` may replicate to `target`. An Azure region accepts every source kind; a
// secondary site accepts only VMware VMs, Hyper-V VMs managed by VMM and physical servers
// (facts.md). The target must also differ from the item's location. INVALID_ARGUMENT saying
// what is allowed otherwise.
Status check_replication_target(const ProtectedItemSpec& item, const ReplicationTarget& target);

}  // namespace drsim::model
