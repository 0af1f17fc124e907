// CostMeter: what backups, snapshots and images cost over a billing period. The driver
// records the usage of every billed item whenever it changes (vault, snapshot and image
// models report it); the meter integrates it over time and prices it per item.
//
// Billing rules: storage is billed per GiB-month on the bytes stored (snapshots and images on
// the used size, backups on what the vault keeps); a month is 730 hours. A protected VM also
// pays a protected-instance fee per month by its size (Azure Backup pricing: up to 50 GB one
// small fee; above that one unit per started 500 GB).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

inline constexpr Duration kBillingMonth = std::chrono::hours(730);
inline constexpr uint64_t kSmallInstanceMaxBytes = uint64_t{50} << 30;
inline constexpr uint64_t kInstanceUnitBytes = uint64_t{500} << 30;

enum class ChargeKind {
  kSnapshot,  // disk snapshots, incl. Backup's instant-restore snapshots
  kBackupStorageLrs,
  kBackupStorageGrs,
  kBackupStorageZrs,
  kImage,
  kProtectedInstance,  // bytes = the instance's size; priced per instance-month
};
const char* charge_kind_name(ChargeKind kind);  // "snapshot", "backup-storage-grs", ...

// One billed thing at one moment: `bytes` of `kind` held for `item` (a VM, snapshot or image).
struct BilledUsage {
  std::string item;
  ChargeKind kind = ChargeKind::kSnapshot;
  uint64_t bytes = 0;
};

// Prices in `currency` per GiB-month, instance fees per month. The defaults are illustrative
// list prices; drills set their own.
struct PriceList {
  std::string currency = "USD";  // ISO 4217 code: three capital letters
  double snapshot_per_gib_month = 0.05;
  double backup_lrs_per_gib_month = 0.0224;
  double backup_grs_per_gib_month = 0.0448;
  double backup_zrs_per_gib_month = 0.028;
  double image_per_gib_month = 0.05;
  double small_instance_per_month = 5.0;  // instance up to 50 GiB
  double instance_unit_per_month = 10.0;  // per started 500 GiB above that

  // INVALID_ARGUMENT naming the field: every price finite and >= 0, the currency three capital
  // letters.
  Status validate() const;
  // Monthly protected-instance fee for an instance of `bytes`.
  double instance_fee_per_month(uint64_t bytes) const;
};

struct CostLine {
  std::string item;
  ChargeKind kind = ChargeKind::kSnapshot;
  double quantity = 0;  // GiB-months, or instance-months for kProtectedInstance
  double cost = 0;
};

struct CostReport {
  Time from;
  Time to;
  std::vector<CostLine> lines;  // by item, then kind
  double total = 0;
  double total_for(const std::string& item) const;
  const CostLine* line(const std::string& item, ChargeKind kind) const;
};

class CostMeter {
 public:
  // `usage` is what is billed from `now` until the next record. INVALID_ARGUMENT when `now`
  // is earlier than the previous record's.
  Status record(std::vector<BilledUsage> usage, Time now);

  // BilledUsage and cost per item over [from, to). Nothing is billed before the first record; the
  // last record holds until `to`. INVALID_ARGUMENT when to < from or prices are invalid.
  Result<CostReport> report(Time from, Time to, const PriceList& prices) const;

 private:
  struct Sample {
    Time at;
    std::vector<BilledUsage> usage;
  };
  std::vector<Sample> samples_;  // ascending `at`
};

}  // namespace drsim::model
