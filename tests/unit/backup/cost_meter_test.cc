// CostMeter: usage integrated over the billing period and priced per item — snapshots and
// images on used GiB, backup storage by redundancy, the protected-instance fee by size tier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/model/backup/disk_snapshot.h"
#include "common/model/backup/vault.h"
#include "common/model/backup/vm_image.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr Time kT0 = kTimeZero + 24h;

TEST(PriceList, DefaultsAreValid) { EXPECT_TRUE(PriceList{}.validate().is_ok()); }

TEST(PriceList, NegativeOrNonFinitePriceNamesTheField) {
  PriceList p;
  p.backup_zrs_per_gib_month = -0.01;
  EXPECT_EQ(p.validate().message(),
            "backup_zrs_per_gib_month: -0.010000 must be a finite price >= 0");
  p = PriceList{};
  p.instance_unit_per_month = NAN;
  EXPECT_EQ(p.validate().code(), StatusCode::kInvalidArgument);
}

TEST(PriceList, TheCurrencyIsAnIso4217Code) {
  PriceList p;
  EXPECT_EQ(p.currency, "USD");
  p.currency = "EUR";
  EXPECT_TRUE(p.validate().is_ok());
  for (const char* bad : {"", "usd", "EURO", "U$D"}) {
    p.currency = bad;
    EXPECT_EQ(p.validate().message(), "currency: '" + std::string(bad) +
                                          "' must be an ISO 4217 code, three capital letters "
                                          "(USD, EUR)");
  }
}

TEST(PriceList, ProtectedInstanceFeeFollowsTheSizeTiers) {
  PriceList p;  // 5 up to 50 GiB, then 10 per started 500 GiB
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(0), 5);
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(50 * kGiB), 5);
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(50 * kGiB + 1), 10);
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(500 * kGiB), 10);
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(500 * kGiB + 1), 20);
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(1000 * kGiB), 20);
  EXPECT_DOUBLE_EQ(p.instance_fee_per_month(1001 * kGiB), 30);
}

TEST(CostMeter, SnapshotOfA64GiBDiskWith10GiBUsedCostsTenGiBMonths) {
  ManagedDisk d("os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  DiskSnapshot s = take_full_snapshot(d, "os-snap", kT0);
  CostMeter meter;
  ASSERT_TRUE(
      meter.record({BilledUsage{s.name, ChargeKind::kSnapshot, s.stored_bytes}}, kT0).is_ok());
  auto report = meter.report(kT0, kT0 + kBillingMonth, PriceList{});
  ASSERT_TRUE(report.is_ok());
  const CostLine* line = report->line("os-snap", ChargeKind::kSnapshot);
  ASSERT_NE(line, nullptr);
  EXPECT_DOUBLE_EQ(line->quantity, 10.0);
  EXPECT_DOUBLE_EQ(line->cost, 10.0 * 0.05);
  EXPECT_DOUBLE_EQ(report->total, 0.5);
}

TEST(CostMeter, UsageChangesMidPeriodArePricedForTheTimeTheyHeld) {
  CostMeter meter;
  ASSERT_TRUE(meter.record({BilledUsage{"img", ChargeKind::kImage, 10 * kGiB}}, kT0).is_ok());
  ASSERT_TRUE(
      meter.record({BilledUsage{"img", ChargeKind::kImage, 30 * kGiB}}, kT0 + 365h).is_ok());
  auto report = meter.report(kT0, kT0 + kBillingMonth, PriceList{});
  ASSERT_TRUE(report.is_ok());
  // Half a month at 10 GiB, half at 30 GiB.
  EXPECT_DOUBLE_EQ(report->line("img", ChargeKind::kImage)->quantity, 20.0);
  EXPECT_DOUBLE_EQ(report->total, 20.0 * 0.05);
}

TEST(CostMeter, NothingIsBilledBeforeTheFirstRecordOrOutsideThePeriod) {
  CostMeter meter;
  ASSERT_TRUE(
      meter.record({BilledUsage{"s", ChargeKind::kSnapshot, 730 * kGiB}}, kT0 + 1h).is_ok());
  ASSERT_TRUE(meter.record({}, kT0 + 3h).is_ok());  // snapshot deleted
  auto report = meter.report(kT0, kT0 + 10h, PriceList{});
  ASSERT_TRUE(report.is_ok());
  // 730 GiB for 2 of 730 hours = 2 GiB-months.
  EXPECT_DOUBLE_EQ(report->line("s", ChargeKind::kSnapshot)->quantity, 2.0);
  auto later = meter.report(kT0 + 3h, kT0 + 10h, PriceList{});
  EXPECT_TRUE(later->lines.empty());
  EXPECT_DOUBLE_EQ(later->total, 0);
  // A period cutting into the interval bills the overlap only.
  EXPECT_DOUBLE_EQ(meter.report(kT0 + 2h, kT0 + 10h, PriceList{})->total, 1.0 * 0.05);
}

TEST(CostMeter, ReportRefusesAReversedPeriodBadPricesAndOutOfOrderRecords) {
  CostMeter meter;
  ASSERT_TRUE(meter.record({}, kT0).is_ok());
  EXPECT_EQ(meter.record({}, kT0 - 1ns).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(meter.report(kT0, kT0 - 1ns, PriceList{}).status().message(),
            "to: billing period ends before it starts");
  PriceList bad;
  bad.image_per_gib_month = -1;
  EXPECT_EQ(meter.report(kT0, kT0 + 1h, bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(CostMeter, BreakdownPerItemForABackedUpVmASnapshotAndAnImage) {
  RecoveryServicesVault vault(
      VaultSpec{.name = "rsv-east", .region = "eastus", .paired_region = "westus"});
  VirtualMachine vm{.name = "vm1", .region = "eastus", .disks = {}};
  vm.disks.emplace_back("vm1-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back("vm1-data0", DiskRole::kData, 128 * kGiB, 20 * kGiB);
  BackupPolicy policy;
  policy.backup_times = {0h};
  policy.instant_restore_days = 1;
  ASSERT_TRUE(vault.protect(vm, policy, kT0).is_ok());
  ASSERT_TRUE(vault.run_scheduled_backup(vm, kT0)->status.is_ok());
  DiskSnapshot snap = take_full_snapshot(vm.disks[1], "data-snap", kT0);

  CostMeter meter;
  auto usage_now = [&](Time now) {
    std::vector<BilledUsage> u = vault.usage(now);
    u.push_back(BilledUsage{snap.name, ChargeKind::kSnapshot, snap.stored_bytes});
    return u;
  };
  ASSERT_TRUE(meter.record(usage_now(kT0), kT0).is_ok());
  // The instant-restore snapshot ends after a day.
  ASSERT_TRUE(meter.record(usage_now(kT0 + 24h), kT0 + 24h).is_ok());
  auto report = meter.report(kT0, kT0 + kBillingMonth, PriceList{});
  ASSERT_TRUE(report.is_ok());

  const double month = 1.0, day = 24.0 / 730.0;
  EXPECT_DOUBLE_EQ(report->line("vm1", ChargeKind::kBackupStorageGrs)->quantity, 30 * month);
  EXPECT_NEAR(report->line("vm1", ChargeKind::kSnapshot)->quantity, 30 * day, 1e-9);
  EXPECT_DOUBLE_EQ(report->line("vm1", ChargeKind::kProtectedInstance)->quantity, month);
  EXPECT_DOUBLE_EQ(report->line("vm1", ChargeKind::kProtectedInstance)->cost, 5.0);
  EXPECT_EQ(report->line("vm1", ChargeKind::kBackupStorageLrs), nullptr);
  const double vm_cost = 30 * 0.0448 + 30 * day * 0.05 + 5.0;
  EXPECT_NEAR(report->total_for("vm1"), vm_cost, 1e-9);
  EXPECT_NEAR(report->total_for("data-snap"), 20 * 0.05, 1e-9);
  EXPECT_NEAR(report->total, vm_cost + 1.0, 1e-9);
  // Lines come by item, then kind.
  ASSERT_EQ(report->lines.size(), 4u);
  EXPECT_EQ(report->lines[0].item, "data-snap");
  EXPECT_EQ(report->lines[1].kind, ChargeKind::kSnapshot);
  EXPECT_EQ(report->lines[2].kind, ChargeKind::kBackupStorageGrs);
}

TEST(CostMeter, ImageIsBilledOnItsDisksUsedSize) {
  VirtualMachine vm{.name = "web1", .region = "eastus", .power = PowerState::kStopped, .disks = {}};
  vm.disks.emplace_back("web1-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back("web1-data0", DiskRole::kData, 1024 * kGiB, 90 * kGiB);
  auto image = capture_image(vm, "web-golden", kT0);
  ASSERT_TRUE(image.is_ok());
  CostMeter meter;
  ASSERT_TRUE(
      meter.record({BilledUsage{image->name, ChargeKind::kImage, image->billed_bytes()}}, kT0)
          .is_ok());
  auto report = meter.report(kT0, kT0 + 2 * kBillingMonth, PriceList{});
  EXPECT_DOUBLE_EQ(report->line("web-golden", ChargeKind::kImage)->quantity, 200.0);
  EXPECT_DOUBLE_EQ(report->total, 200.0 * 0.05);
}

TEST(ChargeKind, NamesAreStable) {
  EXPECT_STREQ(charge_kind_name(ChargeKind::kBackupStorageGrs), "backup-storage-grs");
  EXPECT_STREQ(charge_kind_name(ChargeKind::kProtectedInstance), "protected-instance");
}

}  // namespace
}  // namespace drsim::model
