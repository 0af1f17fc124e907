#include "common/model/backup/cost_meter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace drsim::model {

namespace {

constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;

double price_per_gib_month(const PriceList& p, ChargeKind kind) {
  switch (kind) {
    case ChargeKind::kSnapshot:
      return p.snapshot_per_gib_month;
    case ChargeKind::kBackupStorageLrs:
      return p.backup_lrs_per_gib_month;
    case ChargeKind::kBackupStorageGrs:
      return p.backup_grs_per_gib_month;
    case ChargeKind::kBackupStorageZrs:
      return p.backup_zrs_per_gib_month;
    case ChargeKind::kImage:
      return p.image_per_gib_month;
    case ChargeKind::kProtectedInstance:
      break;
  }
  return 0;
}

}  // namespace

const char* charge_kind_name(ChargeKind kind) {
  switch (kind) {
    case ChargeKind::kSnapshot:
      return "snapshot";
    case ChargeKind::kBackupStorageLrs:
      return "backup-storage-lrs";
    case ChargeKind::kBackupStorageGrs:
      return "backup-storage-grs";
    case ChargeKind::kBackupStorageZrs:
      return "backup-storage-zrs";
    case ChargeKind::kImage:
      return "image";
    case ChargeKind::kProtectedInstance:
      return "protected-instance";
  }
  return "unknown";
}

Status PriceList::validate() const {
  const std::pair<const char*, double> prices[] = {
      {"snapshot_per_gib_month", snapshot_per_gib_month},
      {"backup_lrs_per_gib_month", backup_lrs_per_gib_month},
      {"backup_grs_per_gib_month", backup_grs_per_gib_month},
      {"backup_zrs_per_gib_month", backup_zrs_per_gib_month},
      {"image_per_gib_month", image_per_gib_month},
      {"small_instance_per_month", small_instance_per_month},
      {"instance_unit_per_month", instance_unit_per_month},
  };
  for (const auto& [field, price] : prices) {
    if (!std::isfinite(price) || price < 0) {
      return invalid_argument(std::string(field) + ": " + std::to_string(price) +
                              " must be a finite price >= 0");
    }
  }
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return invalid_argument("currency: '" + currency +
                            "' must be an ISO 4217 code, three capital letters (USD, EUR)");
  }
  return Status::ok();
}

double PriceList::instance_fee_per_month(uint64_t bytes) const {
  if (bytes <= kSmallInstanceMaxBytes) return small_instance_per_month;
  const uint64_t units = (bytes + kInstanceUnitBytes - 1) / kInstanceUnitBytes;
  return static_cast<double>(units) * instance_unit_per_month;
}

double CostReport::total_for(const std::string& item) const {
  double sum = 0;
  for (const auto& l : lines) {
    if (l.item == item) sum += l.cost;
  }
  return sum;
}

const CostLine* CostReport::line(const std::string& item, ChargeKind kind) const {
  for (const auto& l : lines) {
    if (l.item == item && l.kind == kind) return &l;
  }
  return nullptr;
}

Status CostMeter::record(std::vector<BilledUsage> usage, Time now) {
  if (!samples_.empty() && now < samples_.back().at) {
    return invalid_argument("now: usage recorded earlier than the previous record");
  }
  samples_.push_back(Sample{now, std::move(usage)});
  return Status::ok();
}

Result<CostReport> CostMeter::report(Time from, Time to, const PriceList& prices) const {
  if (to < from) return invalid_argument("to: billing period ends before it starts");
  if (Status s = prices.validate(); !s.is_ok()) return s;
  std::map<std::pair<std::string, ChargeKind>, CostLine> lines;
  for (size_t i = 0; i < samples_.size(); ++i) {
    const Time start = std::max(samples_[i].at, from);
    const Time end = std::min(i + 1 < samples_.size() ? samples_[i + 1].at : to, to);
    if (end <= start) continue;
    const double months = std::chrono::duration<double>(end - start) / kBillingMonth;
    for (const BilledUsage& u : samples_[i].usage) {
      CostLine& line = lines[{u.item, u.kind}];
      line.item = u.item;
      line.kind = u.kind;
      if (u.kind == ChargeKind::kProtectedInstance) {
        line.quantity += months;
        line.cost += prices.instance_fee_per_month(u.bytes) * months;
      } else {
        const double gib_months = static_cast<double>(u.bytes) / kBytesPerGiB * months;
        line.quantity += gib_months;
        line.cost += price_per_gib_month(prices, u.kind) * gib_months;
      }
    }
  }
  CostReport report{.from = from, .to = to, .lines = {}, .total = 0};
  for (auto& [key, line] : lines) {
    report.total += line.cost;
    report.lines.push_back(std::move(line));
  }
  return report;
}

}  // namespace drsim::model
