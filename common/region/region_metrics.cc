#include "common/region/region_metrics.h"

#include "common/net/prometheus_text.h"

namespace drsim::region {

using grpc::health::v1::HealthCheckResponse;
using Prom = net::PrometheusText;

net::HttpResponse metrics_response(RegionNode& node, net::HealthService& health,
                                   const net::RpcCounters& rpcs) {
  v1::GetStatusResponse st;
  node.status(false, &st);
  const std::string& region = st.region();
  bool serving = !st.outage() && health.status("drsim.v1.Workload") == HealthCheckResponse::SERVING;
  Prom m;
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
  m.family("drsim_region_replication_connected", Prom::Type::kGauge,
           "1 while this region's outgoing replication stream is connected and welcomed.");
  m.sample("drsim_region_replication_connected", {{"region", region}},
           st.replication_connected() ? 1 : 0);
  m.family("drsim_region_clock_offset_seconds", Prom::Type::kGauge, "Injected wall-clock skew.");
  m.sample("drsim_region_clock_offset_seconds", {{"region", region}},
           static_cast<double>(st.clock_offset_ms()) / 1000.0);
  m.family("drsim_region_lease_held", Prom::Type::kGauge,
           "1 while the active region holds its lease on being active (it may acknowledge writes).");
  m.sample("drsim_region_lease_held", {{"region", region}}, st.lease().state() == "held" ? 1 : 0);
  m.family("drsim_region_lease_expires_in_seconds", Prom::Type::kGauge,
           "How long the lease lasts without another renewal (0 when not held).");
  m.sample("drsim_region_lease_expires_in_seconds", {{"region", region}},
           st.lease().state() == "held" ? st.lease().expires_in_ms() / 1000.0 : 0.0);

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
  net::HttpResponse r;
  r.content_type = net::kPrometheusContentType;
  r.body = m.text();
  return r;
}

}  // namespace drsim::region
