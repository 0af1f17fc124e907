// Constants and conversions shared by BackupDriver's parts (backup_driver*.cc); not for use
// elsewhere.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <string>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/region/backup_driver.h"

namespace drsim::region::backup_driver_parts {

using namespace std::chrono_literals;
namespace v1 = drsim::v1;

inline constexpr size_t kCopyPageKeys = 1000;
inline constexpr size_t kCopyPageBytes = 1 << 20;
inline constexpr size_t kReplaceBatchOps = 500;
inline constexpr size_t kMaxReadLimit = 10000;
inline constexpr uint32_t kDefaultOnDemandRetainDays = 30;
inline constexpr uint32_t kMaxOnDemandRetainDays = 99 * 365;
// The schedule wakes at least this often (to persist the clock) and never spins faster.
inline constexpr auto kMaxTimerWait = 5s;
inline constexpr auto kMinTimerWait = 20ms;
inline constexpr auto kShipRetry = 1s;
inline constexpr auto kShipDeadline = 10s;
inline constexpr char kClockRecord[] = "clock";
inline constexpr char kVmRecord[] = "vm";
// A snapshot blob entry: a key's value, or that the key was deleted since the previous
// snapshot of the chain.
inline constexpr char kPut = '\x01';
inline constexpr char kTombstone = '\x00';

inline Time from_nanos(int64_t n) { return Time(Duration(n)); }
inline int64_t to_nanos(Time t) { return t.time_since_epoch().count(); }

inline std::string os_disk(const std::string& vm) { return vm + "-osdisk"; }

inline Result<Duration> parse_time_of_day(const std::string& field, const std::string& text) {
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

inline Result<model::BackupPolicy> policy_from_proto(const v1::BackupPolicySpec& spec) {
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

inline model::StorageRedundancy redundancy_from_proto(v1::StorageRedundancy r) {
  switch (r) {
    case v1::REDUNDANCY_LRS:
      return model::StorageRedundancy::kLocallyRedundant;
    case v1::REDUNDANCY_ZRS:
      return model::StorageRedundancy::kZoneRedundant;
    default:
      return model::StorageRedundancy::kGeoRedundant;
  }
}

inline model::VirtualMachine vm_from_facts(const v1::VmFacts& f, const std::string& region) {
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

inline const char* restore_source_name(model::RestoreSource s) {
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

}  // namespace drsim::region::backup_driver_parts
