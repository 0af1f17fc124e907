// Constants and conversions shared by SiteRecoveryDriver's parts (site_recovery_driver.cc,
// site_recovery_failover.cc, site_recovery_handover.cc); not for use elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/region/site_recovery_driver.h"

namespace drsim::region::site_recovery_parts {

namespace fs = std::filesystem;
using namespace drsim::v1;

inline constexpr std::chrono::milliseconds kTickEvery{100};
inline constexpr std::chrono::milliseconds kSourceStatusDeadline{1000};
inline constexpr size_t kMaxReasonBytes = 256;
inline constexpr uint64_t kDefaultOsDiskBytes = 128ull << 30;  // a common Azure OS disk

inline model::SourceKind to_model(drsim::v1::SourceKind k) {
  switch (k) {
    case SOURCE_KIND_VMWARE_VM:
      return model::SourceKind::kVmwareVm;
    case SOURCE_KIND_HYPERV_VM:
      return model::SourceKind::kHyperVVm;
    case SOURCE_KIND_PHYSICAL_WINDOWS:
      return model::SourceKind::kPhysicalWindowsServer;
    case SOURCE_KIND_PHYSICAL_LINUX:
      return model::SourceKind::kPhysicalLinuxServer;
    case SOURCE_KIND_AZURE_STACK_VM:
      return model::SourceKind::kAzureStackVm;
    case SOURCE_KIND_AWS_WINDOWS:
      return model::SourceKind::kAwsWindowsInstance;
    default:
      return model::SourceKind::kAzureVm;
  }
}

inline drsim::v1::SourceKind to_proto(model::SourceKind k) {
  switch (k) {
    case model::SourceKind::kVmwareVm:
      return SOURCE_KIND_VMWARE_VM;
    case model::SourceKind::kHyperVVm:
      return SOURCE_KIND_HYPERV_VM;
    case model::SourceKind::kPhysicalWindowsServer:
      return SOURCE_KIND_PHYSICAL_WINDOWS;
    case model::SourceKind::kPhysicalLinuxServer:
      return SOURCE_KIND_PHYSICAL_LINUX;
    case model::SourceKind::kAzureStackVm:
      return SOURCE_KIND_AZURE_STACK_VM;
    case model::SourceKind::kAwsWindowsInstance:
      return SOURCE_KIND_AWS_WINDOWS;
    case model::SourceKind::kAzureVm:
      return SOURCE_KIND_AZURE_VM;
  }
  return SOURCE_KIND_AZURE_VM;
}

inline model::Disk to_model(const DiskSpec& d) { return {d.name(), d.capacity_bytes(), d.used_bytes()}; }

inline Duration ms(uint64_t v) { return std::chrono::milliseconds(v); }

inline model::ReplicationPolicy to_model(const ReplicationPolicySpec& p) {
  model::ReplicationPolicy policy;
  if (p.retention_ms() > 0) policy.retention = ms(p.retention_ms());
  if (p.app_consistent_interval_ms() > 0) {
    policy.app_consistent_interval = ms(p.app_consistent_interval_ms());
  }
  if (p.rpo_threshold_ms() > 0) policy.rpo_threshold = ms(p.rpo_threshold_ms());
  return policy;
}

inline uint64_t to_ms_count(Duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

inline Result<model::RecoveryPointChoice> to_model(PointChoice c, uint64_t point_id) {
  using K = model::RecoveryPointChoiceKind;
  if (c == POINT_CHOICE_CUSTOM) {
    if (point_id == 0) return invalid_argument("point_id: a custom recovery point needs its id");
    return model::RecoveryPointChoice::custom_point(model::RecoveryPointId(point_id));
  }
  if (point_id != 0) {
    return invalid_argument("point_id: only a custom recovery point takes an id");
  }
  switch (c) {
    case POINT_CHOICE_LATEST:
      return model::RecoveryPointChoice::of(K::kLatest);
    case POINT_CHOICE_LATEST_APP_CONSISTENT:
      return model::RecoveryPointChoice::of(K::kLatestAppConsistent);
    case POINT_CHOICE_LATEST_MULTI_VM_PROCESSED:
      return model::RecoveryPointChoice::of(K::kLatestMultiVmProcessed);
    case POINT_CHOICE_LATEST_MULTI_VM_APP_CONSISTENT:
      return model::RecoveryPointChoice::of(K::kLatestMultiVmAppConsistent);
    case POINT_CHOICE_UNSPECIFIED:
    case POINT_CHOICE_LATEST_PROCESSED:
      return model::RecoveryPointChoice::of(K::kLatestProcessed);
    default:
      return invalid_argument("point: unknown recovery point choice " + std::to_string(c));
  }
}

inline uint64_t dir_bytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace drsim::region::site_recovery_parts
