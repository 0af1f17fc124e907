// /metrics of a whole topology (TestTopology: real daemons with mTLS, HTTP on loopback): the
// region's write-to-standby-ack histogram, the Site Recovery figures of the standby's vault once
// an item is protected, the Backup figures after an on-demand backup and a soft delete, and the
// Traffic Manager's probe-duration histogram — each family checked as Prometheus text and
// against the Grafana dashboard's queries.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "cli/backup_commands.h"
#include "cli/operator_transport.h"
#include "tests/integration/backup_fixture.h"
#include "tests/integration/https_client.h"
#include "tests/integration/web_fixture.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using webtest::expect_base_units_and_dashboard_names;
using webtest::metric_value;

// time_scale 30: the vault's ages run 30 times faster than real time, so they are well above 0
// when the test reads them; the next crash-consistent point (every 5 drsim minutes) is 10 s away.
constexpr char kTopology[] = R"(
workloads:
  - { name: vm-web, mode: sync }
  - { name: vm-db, mode: async }
site_recovery: { time_scale: 30 }
)";

// GET /metrics of `process` over HTTPS (the topology runs with mTLS), verified against the
// topology's CA as that process.
std::string metrics_of(TestTopology& topo, const std::string& process, const char* key) {
  const std::string address = topo.state().at(process).more(key);
  EXPECT_FALSE(address.empty()) << process << " has no " << key;
  std::ifstream in(cli::tls_dir_of(topo.home()) + "/ca.crt");
  const std::string ca((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  webtest::HttpsReply r = webtest::https_get(address, "/metrics", ca, process);
  EXPECT_EQ(r.status, 200) << process << " " << address << ": " << r.error;
  return r.body;
}

std::string region_metrics(TestTopology& topo, const std::string& region) {
  return metrics_of(topo, region, "http_address");
}

// Checks the histogram series `series` ("name{labels" without the closing brace, or "name"
// without labels): buckets cumulative and ending at +Inf = _count; returns _count.
double expect_histogram(const std::string& m, const std::string& name, const std::string& labels) {
  const std::string open = labels.empty() ? "{" : "{" + labels + ",";
  const std::string close = labels.empty() ? "" : "{" + labels + "}";
  auto count = metric_value(m, name + "_count" + close);
  EXPECT_TRUE(count.has_value()) << name << close << " missing:\n" << m;
  if (!count) return 0;
  double previous = 0;
  for (const char* le : {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                         "1", "2.5", "5", "10", "+Inf"}) {
    auto bucket = metric_value(m, name + "_bucket" + open + "le=\"" + le + "\"}");
    EXPECT_TRUE(bucket.has_value()) << name << " le=" << le << " missing:\n" << m;
    if (!bucket) continue;
    EXPECT_GE(*bucket, previous) << name << " le=" << le << " is not cumulative";
    previous = *bucket;
  }
  EXPECT_EQ(previous, *count) << name << ": the +Inf bucket is not the count";
  EXPECT_TRUE(metric_value(m, name + "_sum" + close).has_value()) << name;
  return *count;
}

TEST(RegionMetrics, WriteToAckIsAHistogramPerWorkloadOnTheActiveRegion) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  auto stub = topo.workload_stub("primary");
  constexpr int kPuts = 20;
  for (int i = 0; i < kPuts; ++i) {
    v1::PutResponse resp;
    grpc::Status s = put_key(*stub, "k" + std::to_string(i), &resp, std::chrono::seconds(10));
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const std::string m = region_metrics(topo, "primary");
  EXPECT_NE(m.find("# TYPE drsim_region_write_to_ack_seconds histogram\n"), std::string::npos) << m;
  // vm-web is sync: every put waited for the standby's ack, so each was sampled.
  const std::string web = "region=\"primary\",workload=\"vm-web\",mode=\"sync\"";
  EXPECT_GE(expect_histogram(m, "drsim_region_write_to_ack_seconds", web), kPuts);
  EXPECT_GT(metric_value(m, "drsim_region_write_to_ack_seconds_sum{" + web + "}").value_or(0), 0);
  expect_histogram(m, "drsim_region_write_to_ack_seconds",
                   "region=\"primary\",workload=\"vm-db\",mode=\"async\"");
  // The standby replicates to nobody: no series.
  const std::string standby = region_metrics(topo, "secondary");
  EXPECT_EQ(standby.find("drsim_region_write_to_ack_seconds_count"), std::string::npos) << standby;
  expect_base_units_and_dashboard_names(m, "drsim_region_", 10);
}

TEST(RegionMetrics, SiteRecoveryItemStateHealthRpoAndPointAgesOnTheVaultsRegion) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-web"));
  const std::string item = "region=\"secondary\",item=\"vm-web\"";
  // The first point is cut when initial replication completes; its checkpoint follows on the
  // vault's worker thread.
  std::string m;
  ASSERT_TRUE(wait_until(
      [&] {
        m = region_metrics(topo, "secondary");
        return metric_value(m, "drsim_site_recovery_latest_point_age_seconds{" + item + "}")
                   .has_value() &&
               metric_value(m, "drsim_site_recovery_recovery_points{" + item + "}").value_or(0) >=
                   1;
      },
      std::chrono::seconds(60)))
      << "no recovery point of vm-web with its checkpoint within 60 s:\n"
      << m;
  EXPECT_EQ(metric_value(m, "drsim_site_recovery_time_scale{region=\"secondary\"}"), 30.0);
  EXPECT_EQ(metric_value(m, "drsim_site_recovery_item_state{" + item + ",state=\"Protected\"}"),
            1.0)
      << m;
  EXPECT_EQ(metric_value(m, "drsim_site_recovery_item_state{" + item + ",state=\"FailedOver\"}"),
            0.0);
  EXPECT_EQ(metric_value(m, "drsim_site_recovery_item_health{" + item + ",health=\"Healthy\"}"),
            1.0)
      << m;
  // The RPO is the newest point's age: above 0, below the next point's 5 minutes plus the time
  // its checkpoint takes (drsim seconds; x30 real time on a loaded machine).
  auto rpo = metric_value(m, "drsim_site_recovery_rpo_seconds{" + item + "}");
  ASSERT_TRUE(rpo.has_value()) << m;
  EXPECT_GT(*rpo, 0.0);
  EXPECT_LT(*rpo, 15 * 60.0);
  auto age = metric_value(m, "drsim_site_recovery_latest_point_age_seconds{" + item + "}");
  EXPECT_GT(*age, 0.0);
  EXPECT_LT(*age, 15 * 60.0);
  EXPECT_EQ(metric_value(m, "drsim_site_recovery_checkpoint_failures_total{region=\"secondary\"}"),
            0.0);
  // vm-db is not protected: not listed.
  EXPECT_EQ(m.find("item=\"vm-db\""), std::string::npos);
  expect_base_units_and_dashboard_names(m, "drsim_site_recovery_", 4);
}

TEST(RegionMetrics, BackupJobsItemsAndSoftDeletedItemsOfTheRegionsVaults) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  put(*stub, "vm-web", "page", "home");
  ASSERT_NO_FATAL_FAILURE(protect(b, "rsv-metrics", "vm-web"));
  ASSERT_NO_FATAL_FAILURE(protect(b, "rsv-other", "vm-db"));
  auto first = backup_now(b, "rsv-metrics", "vm-web");
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  auto second = backup_now(b, "rsv-metrics", "vm-web");
  ASSERT_TRUE(second.is_ok()) << second.status().message();

  const std::string vault = "region=\"primary\",vault=\"rsv-metrics\"";
  std::string m = region_metrics(topo, "primary");
  EXPECT_EQ(metric_value(m, "drsim_backup_jobs_total{" + vault +
                                ",trigger=\"on_demand\",result=\"completed\"}"),
            2.0)
      << m;
  EXPECT_EQ(metric_value(m, "drsim_backup_jobs_total{" + vault +
                                ",trigger=\"on_demand\",result=\"failed\"}"),
            0.0);
  EXPECT_EQ(metric_value(m,
                         "drsim_backup_jobs_total{region=\"primary\",vault=\"rsv-other\","
                         "trigger=\"scheduled\",result=\"completed\"}"),
            0.0);
  EXPECT_EQ(metric_value(m, "drsim_backup_items{" + vault + ",state=\"Protected\"}"), 1.0);
  EXPECT_EQ(metric_value(m, "drsim_backup_soft_deleted_items{" + vault + "}"), 0.0);

  v1::StopProtectionRequest stop;
  stop.set_vault("rsv-metrics");
  stop.set_vm("vm-web");
  stop.set_delete_data(true);
  auto deleted = b.stop_protection(stop);
  ASSERT_TRUE(deleted.is_ok()) << deleted.status().message();
  m = region_metrics(topo, "primary");
  EXPECT_EQ(metric_value(m, "drsim_backup_soft_deleted_items{" + vault + "}"), 1.0) << m;
  EXPECT_EQ(metric_value(m, "drsim_backup_items{" + vault + ",state=\"SoftDeleted\"}"), 1.0);
  EXPECT_EQ(metric_value(m, "drsim_backup_items{" + vault + ",state=\"Protected\"}"), 0.0);
  EXPECT_EQ(
      metric_value(m, "drsim_backup_soft_deleted_items{region=\"primary\",vault=\"rsv-other\"}"),
      0.0);
  // The vaults live in the primary: the secondary exports none of them.
  const std::string secondary = region_metrics(topo, "secondary");
  EXPECT_EQ(secondary.find("vault=\"rsv-metrics\""), std::string::npos) << secondary;
  expect_base_units_and_dashboard_names(m, "drsim_backup_", 3);
}

TEST(TrafficManagerMetrics, ProbeDurationIsAHistogramPerEndpoint) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string series = "profile=\"drsim\",endpoint=\"primary\"";
  std::string m;
  // Probes every 100 ms; the topology is up once the primary was probed Online.
  ASSERT_TRUE(wait_until(
      [&] {
        m = metrics_of(topo, "trafficmgr", "dashboard_address");
        return metric_value(m, "drsim_tm_probe_duration_seconds_count{" + series + "}")
                   .value_or(0) >= 3;
      },
      std::chrono::seconds(20)))
      << m;
  EXPECT_NE(m.find("# TYPE drsim_tm_probe_duration_seconds histogram\n"), std::string::npos);
  EXPECT_GE(expect_histogram(m, "drsim_tm_probe_duration_seconds", series), 3);
  // The probe timeout is 50 ms: every probe took at most that (a timeout counts as 50 ms).
  const double count = *metric_value(m, "drsim_tm_probe_duration_seconds_count{" + series + "}");
  EXPECT_GE(metric_value(m, "drsim_tm_probe_duration_seconds_bucket{" + series + ",le=\"0.1\"}"),
            count)
      << m;
  EXPECT_GT(metric_value(m, "drsim_tm_probe_duration_seconds_sum{" + series + "}").value_or(0),
            0.0);
  expect_histogram(m, "drsim_tm_probe_duration_seconds",
                   "profile=\"drsim\",endpoint=\"secondary\"");
  expect_base_units_and_dashboard_names(m, "drsim_tm_", 7);
}

}  // namespace
}  // namespace drsim::testing
