#include "common/region/region_metrics.h"

#include <chrono>

#include "common/net/prometheus_text.h"

namespace drsim::region {

namespace {

using grpc::health::v1::HealthCheckResponse;
using Prom = net::PrometheusText;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Site Recovery: each item's state and replication health, one series a value (1 for the
// current one).
void site_recovery_item_families(Prom& m, const std::string& region,
                                 const SiteRecoveryDriver::Figures& f) {
  using model::ProtectionState;
  using model::ReplicationHealth;
  m.family("drsim_site_recovery_item_state", Prom::Type::kGauge,
           "1 for the protected item's current state in this region's vault.");
  for (const auto& item : f.items) {
    for (auto s : {ProtectionState::kNotProtected, ProtectionState::kInitialReplication,
                   ProtectionState::kProtected, ProtectionState::kTestFailoverCleanupPending,
                   ProtectionState::kFailedOver, ProtectionState::kCommitted}) {
      m.sample(
          "drsim_site_recovery_item_state",
          {{"region", region}, {"item", item.item}, {"state", model::protection_state_name(s)}},
          item.state == s ? 1 : 0);
    }
  }
  m.family("drsim_site_recovery_item_health", Prom::Type::kGauge,
           "1 for the protected item's current replication health.");
  for (const auto& item : f.items) {
    for (auto h : {ReplicationHealth::kHealthy, ReplicationHealth::kWarning,
                   ReplicationHealth::kCritical, ReplicationHealth::kNotApplicable}) {
      m.sample(
          "drsim_site_recovery_item_health",
          {{"region", region}, {"item", item.item}, {"health", model::replication_health_name(h)}},
          item.health == h ? 1 : 0);
    }
  }
}

// Site Recovery: each item's RPO and the ages of its latest points (on drsim's clock).
void site_recovery_age_families(Prom& m, const std::string& region,
                                const SiteRecoveryDriver::Figures& f) {
  struct Age {
    const char* name;
    const char* help;
    std::optional<Duration> SiteRecoveryDriver::ItemFigures::*age;
  };
  const Age ages[] = {
      {"drsim_site_recovery_rpo_seconds",
       "The RPO a failover would get now: the newest recovery point's age (during a sync, the "
       "time since data last arrived). Absent while health is Not applicable.",
       &SiteRecoveryDriver::ItemFigures::rpo},
      {"drsim_site_recovery_latest_point_age_seconds",
       "Age of the item's latest processed recovery point. Absent when it has none.",
       &SiteRecoveryDriver::ItemFigures::latest_point_age},
      {"drsim_site_recovery_latest_app_consistent_point_age_seconds",
       "Age of the item's latest app-consistent recovery point. Absent when it has none.",
       &SiteRecoveryDriver::ItemFigures::latest_app_consistent_point_age},
  };
  for (const auto& age : ages) {
    m.family(age.name, Prom::Type::kGauge, age.help);
    for (const auto& item : f.items) {
      if (const auto& d = item.*age.age) {
        m.sample(age.name, {{"region", region}, {"item", item.item}}, seconds(*d));
      }
    }
  }
}

// Site Recovery: the items of this region's vault. Ages are on drsim's clock.
void site_recovery_families(Prom& m, const std::string& region,
                            const SiteRecoveryDriver::Figures& f) {
  m.family("drsim_site_recovery_time_scale", Prom::Type::kGauge,
           "How many times faster than real time the vault's clock (every age below) runs.");
  m.sample("drsim_site_recovery_time_scale", {{"region", region}}, f.time_scale);
  site_recovery_item_families(m, region, f);
  site_recovery_age_families(m, region, f);
  m.family("drsim_site_recovery_recovery_points", Prom::Type::kGauge,
           "Recovery points the item has (each a checkpoint on disk).");
  for (const auto& item : f.items) {
    m.sample("drsim_site_recovery_recovery_points", {{"region", region}, {"item", item.item}},
             static_cast<double>(item.points));
  }
  m.family("drsim_site_recovery_checkpoint_failures_total", Prom::Type::kCounter,
           "Recovery points dropped because their checkpoint failed.");
  m.sample("drsim_site_recovery_checkpoint_failures_total", {{"region", region}},
           static_cast<double>(f.checkpoint_failures));
}

// Backup: this region's vaults and the backup jobs this process ran.
void backup_families(Prom& m, const std::string& region, const BackupDriver::Figures& f) {
  using model::BackupProtectionState;
  m.family("drsim_backup_items", Prom::Type::kGauge,
           "Backup items of the vault by protection state.");
  for (const auto& v : f.vaults) {
    for (const auto& [state, count] : v.items) {
      m.sample("drsim_backup_items",
               {{"region", region},
                {"vault", v.vault},
                {"state", model::backup_protection_state_name(state)}},
               static_cast<double>(count));
    }
  }
  m.family("drsim_backup_soft_deleted_items", Prom::Type::kGauge,
           "Backup items whose data was deleted and is kept 14 days before the purge.");
  for (const auto& v : f.vaults) {
    m.sample("drsim_backup_soft_deleted_items", {{"region", region}, {"vault", v.vault}},
             static_cast<double>(v.items.at(BackupProtectionState::kSoftDeleted)));
  }
  // Every vault's series from 0, so a rate sees the first job.
  std::map<BackupDriver::JobKey, uint64_t> jobs = f.jobs;
  for (const auto& v : f.vaults) {
    for (auto trigger : {model::BackupTrigger::kScheduled, model::BackupTrigger::kOnDemand}) {
      for (auto result : {BackupDriver::JobResult::kCompleted, BackupDriver::JobResult::kFailed}) {
        jobs.try_emplace({v.vault, trigger, result}, 0);
      }
    }
  }
  m.family("drsim_backup_jobs_total", Prom::Type::kCounter,
           "Backup jobs this region ran since it started, by trigger and result.");
  for (const auto& [key, count] : jobs) {
    m.sample(
        "drsim_backup_jobs_total",
        {{"region", region},
         {"vault", key.vault},
         {"trigger", key.trigger == model::BackupTrigger::kScheduled ? "scheduled" : "on_demand"},
         {"result", key.result == BackupDriver::JobResult::kCompleted ? "completed" : "failed"}},
        static_cast<double>(count));
  }
}

// The region: who it is, its role and epoch, whether it serves writes, outages, bugs.
void region_families(Prom& m, const RegionNode& node, const v1::GetStatusResponse& st,
                     bool serving) {
  const std::string& region = st.region();
  m.family("drsim_region_info", Prom::Type::kGauge, "Always 1; labels name the region and peer.");
  m.sample("drsim_region_info", {{"region", region}, {"peer", node.options().peer_name}}, 1);
  m.family("drsim_region_role", Prom::Type::kGauge, "1 for the region's current role.");
  m.sample("drsim_region_role", {{"region", region}, {"role", "active"}},
           st.role() == v1::ROLE_ACTIVE ? 1 : 0);
  m.sample("drsim_region_role", {{"region", region}, {"role", "standby"}},
           st.role() == v1::ROLE_STANDBY ? 1 : 0);
  m.family("drsim_region_serving_writes", Prom::Type::kGauge,
           "1 while the region accepts client writes (what GET /health answers 200 for).");
  m.sample("drsim_region_serving_writes", {{"region", region}}, serving ? 1 : 0);
  m.family("drsim_region_epoch", Prom::Type::kGauge, "Epoch of the region's role.");
  m.sample("drsim_region_epoch", {{"region", region}}, static_cast<double>(st.epoch()));
  m.family("drsim_region_outage", Prom::Type::kGauge, "1 during an injected outage.");
  m.sample("drsim_region_outage", {{"region", region}}, st.outage() ? 1 : 0);
  m.family("drsim_region_bugs_total", Prom::Type::kCounter,
           "DRSIM_BUG reports counted by this process (any is a drsim bug: see the log).");
  m.sample("drsim_region_bugs_total", {{"region", region}},
           static_cast<double>(st.bugs_counted()));
}

// The stream, the clock and the lease.
void link_and_lease_families(Prom& m, const v1::GetStatusResponse& st) {
  const std::string& region = st.region();
  m.family("drsim_region_replication_connected", Prom::Type::kGauge,
           "1 while this region's outgoing replication stream is connected and welcomed.");
  m.sample("drsim_region_replication_connected", {{"region", region}},
           st.replication_connected() ? 1 : 0);
  m.family("drsim_region_clock_offset_seconds", Prom::Type::kGauge, "Injected wall-clock skew.");
  m.sample("drsim_region_clock_offset_seconds", {{"region", region}},
           static_cast<double>(st.clock_offset_ms()) / 1000.0);
  m.family(
      "drsim_region_lease_held", Prom::Type::kGauge,
      "1 while the active region holds its lease on being active (it may acknowledge writes).");
  m.sample("drsim_region_lease_held", {{"region", region}}, st.lease().state() == "held" ? 1 : 0);
  m.family("drsim_region_lease_expires_in_seconds", Prom::Type::kGauge,
           "How long the lease lasts without another renewal (0 when not held).");
  m.sample("drsim_region_lease_expires_in_seconds", {{"region", region}},
           st.lease().state() == "held" ? st.lease().expires_in_ms() / 1000.0 : 0.0);
}

// Each workload's replication: lag, seqs, and the write-to-ack lag of every write.
void workload_families(Prom& m, const RegionNode& node, const v1::GetStatusResponse& st) {
  const std::string& region = st.region();
  struct PerWorkload {
    const char* name;
    const char* help;
    double (*value)(const v1::WorkloadStatus&);
  };
  const PerWorkload per_workload[] = {
      {"drsim_region_replication_lag_writes",
       "Active region: writes not yet durable on the standby.",
       [](const v1::WorkloadStatus& w) { return static_cast<double>(w.lag_writes()); }},
      {"drsim_region_replication_lag_seconds",
       "Active region: age of the oldest write the standby has not acknowledged.",
       [](const v1::WorkloadStatus& w) { return w.lag_ms() / 1000.0; }},
      {"drsim_region_write_to_ack_p99_seconds",
       "Active region: 99th percentile of write-to-standby-ack lag since start.",
       [](const v1::WorkloadStatus& w) { return w.lag().p99_ms() / 1000.0; }},
      {"drsim_region_last_seq", "Newest seq written (active) or applied (standby).",
       [](const v1::WorkloadStatus& w) { return static_cast<double>(w.last_seq()); }},
      {"drsim_region_acked_seq", "Active region: newest seq the standby made durable.",
       [](const v1::WorkloadStatus& w) { return static_cast<double>(w.acked_seq()); }},
  };
  for (const auto& metric : per_workload) {
    m.family(metric.name, Prom::Type::kGauge, metric.help);
    for (const auto& w : st.workloads()) {
      m.sample(metric.name,
               {{"region", region},
                {"workload", w.name()},
                {"mode", w.mode() == v1::MODE_SYNC ? "sync" : "async"}},
               metric.value(w));
    }
  }
  m.family("drsim_region_write_to_ack_seconds", Prom::Type::kHistogram,
           "Active region: write-to-standby-ack lag of each write, since start (or since a "
           "GetStatus that reset the lag statistics).");
  for (const auto& w : node.write_to_ack()) {
    m.histogram("drsim_region_write_to_ack_seconds",
                {{"region", region},
                 {"workload", w.workload->name},
                 {"mode", w.workload->mode == ReplicationMode::kSync ? "sync" : "async"}},
                net::latency_seconds(*w.lag));
  }
}

// Counters: the stream's refusals and reconnects, and the gRPC calls served.
void call_families(Prom& m, const v1::GetStatusResponse& st, const net::RpcCounters& rpcs) {
  const std::string& region = st.region();
  m.family("drsim_region_replication_refusals_total", Prom::Type::kCounter,
           "Rejects this region's outgoing replication stream received (gaps, epochs).");
  m.sample("drsim_region_replication_refusals_total", {{"region", region}},
           static_cast<double>(st.replication_refusals()));
  m.family("drsim_region_replication_reconnects_total", Prom::Type::kCounter,
           "Outgoing replication streams opened after the first.");
  m.sample("drsim_region_replication_reconnects_total", {{"region", region}},
           static_cast<double>(st.replication_reconnects()));
  m.family("drsim_region_rpcs_total", Prom::Type::kCounter,
           "gRPC calls this region finished, by method and status code.");
  for (const auto& [key, count] : rpcs.snapshot()) {
    m.sample("drsim_region_rpcs_total",
             {{"region", region}, {"method", key.first}, {"code", key.second}},
             static_cast<double>(count));
  }
}

}  // namespace

net::HttpResponse metrics_response(RegionNode& node, net::HealthService& health,
                                   const net::RpcCounters& rpcs,
                                   const SiteRecoveryDriver& site_recovery,
                                   const BackupDriver& backup) {
  v1::GetStatusResponse st;
  node.status(false, &st);
  const std::string& region = st.region();
  bool serving = !st.outage() && health.status("drsim.v1.Workload") == HealthCheckResponse::SERVING;
  Prom m;
  region_families(m, node, st, serving);
  link_and_lease_families(m, st);
  workload_families(m, node, st);
  call_families(m, st, rpcs);
  site_recovery_families(m, region, site_recovery.figures());
  backup_families(m, region, backup.figures());
  net::HttpResponse r;
  r.content_type = net::kPrometheusContentType;
  r.body = m.text();
  return r;
}

}  // namespace drsim::region
