// The HTML drill report (cli/html_report.h): self-contained, escaped, robust to missing fields,
// and — when Debian's chromium is installed — rendered headless to a PNG a person can look at.
#include "cli/html_report.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"

namespace drsim::cli {
namespace {

using model::OpKind;
using model::OpRecord;
using model::Outcome;
using nlohmann::json;

#ifndef DRSIM_TEST_OUTPUT_DIR
#define DRSIM_TEST_OUTPUT_DIR "/tmp"
#endif

constexpr int64_t kStartNs = 1'795'601'226'000'000'000;
constexpr int64_t kMs = 1'000'000;
// The new region's name carries markup, which must come out escaped everywhere.
const std::string kNewRegion = "second<b>ary";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Removed when the test process exits, or kept (and printed) when a test failed.
std::filesystem::path temp_dir() {
  std::string dir = testing::make_temp_dir("drsim-html");
  EXPECT_FALSE(dir.empty()) << "cannot make a directory under "
                            << std::filesystem::temp_directory_path();
  return dir;
}

// 6 s of load at 400 ops/s: primary until the fault at 3 s, failures until the new region
// acknowledges its first write at 3.46 s, then the new region.
std::vector<OpRecord> synthetic_history() {
  std::vector<OpRecord> ops;
  const int64_t fault = kStartNs + 3000 * kMs;
  const int64_t recovered = fault + 461 * kMs;
  for (int i = 0; i < 2400; ++i) {
    OpRecord op;
    op.id = static_cast<uint64_t>(i + 1);
    op.kind = i % 10 == 9 ? OpKind::kGet : OpKind::kPut;
    op.workload = i % 2 ? "vm-web" : "vm-db";
    op.key = "key-" + std::to_string(i % 1000);
    op.value = "v" + std::to_string(i);
    op.invoke_ns = kStartNs + static_cast<int64_t>(i) * 2500'000;
    op.complete_ns = op.invoke_ns + 1 * kMs;
    if (op.complete_ns < fault) {
      op.outcome = Outcome::kOk;
      op.region = "primary";
      op.epoch = 1;
    } else if (op.complete_ns < recovered) {
      op.outcome = i % 50 == 0 ? Outcome::kIndeterminate : Outcome::kFail;
    } else {
      op.outcome = Outcome::kOk;
      op.region = kNewRegion;
      op.epoch = 2;
    }
    ops.push_back(op);
  }
  return ops;
}

// A fault too long for its label: shown shortened, in full in the tooltip.
const std::string kLongFault =
    "clock skew +250 ms on secondary, then -250 ms, then +1000 ms, then back to the NTP source "
    "(region clock jumps)";

// Four injected faults (as cli/drill_runner.cc writes them): two overlapping windows of 1 s and
// 2 s, the outage, and one that "never healed" (no end), whose description is too long to show.
json synthetic_faults() {
  auto at = [](int64_t ms) { return kStartNs + ms * kMs; };
  return json::array(
      {{{"description", "latency 200\u00b10 ms on repl.primary-secondary (up)"},
        {"target", "repl.primary-secondary"},
        {"start_unix_nanos", at(1000)},
        {"end_unix_nanos", at(2000)}},
       {{"description", "drop 30% on repl.primary-" + kNewRegion + " (down)"},
        {"target", "repl.primary-secondary"},
        {"start_unix_nanos", at(1500)},
        {"end_unix_nanos", at(3500)}},
       {{"description", "outage of primary (region stops answering)"},
        {"target", "primary"},
        {"start_unix_nanos", at(3000)},
        {"end_unix_nanos", at(5000)}},
       {{"description", kLongFault}, {"target", "secondary"}, {"start_unix_nanos", at(4000)}}});
}

// The active region's lag every 200 ms: primary at epoch 1 climbing to 37 writes until the
// fault at 3 s, nothing during the outage, then the new region at epoch 2 with a 1.2 s silence
// in the middle (which must break its line): 16 + 5 + 2 samples drawn. One more comes after
// the last operation, outside the timeline, and is not drawn.
constexpr size_t kLagSamples = 23;
json synthetic_lag() {
  json lag = json::array();
  auto sample = [&](int64_t ms, const std::string& region, int epoch, int writes) {
    lag.push_back({{"unix_nanos", kStartNs + ms * kMs},
                   {"region", region},
                   {"epoch", epoch},
                   {"lag_writes", writes},
                   {"lag_ms", writes * 0.5}});
  };
  for (int i = 0; i <= 15; ++i) sample(i * 200, "primary", 1, i * 37 / 15);
  for (int ms = 3600; ms <= 4400; ms += 200) sample(ms, kNewRegion, 2, 2);
  for (int ms = 5600; ms <= 5800; ms += 200) sample(ms, kNewRegion, 2, 1);
  sample(7000, kNewRegion, 2, 1);
  return lag;
}

// Drill steps as cli/drill_runner.cc writes them: the Site Recovery and Backup steps that did
// something carry a "timeline" label. Eight spread over the run, then five in the last 50 ms
// (the end of a run, where labels used to pile up against the right edge); a wait and a failed
// restore have none.
const std::vector<std::pair<int64_t, std::string>> kTimelineSteps = {
    {500, "protect vm-web"},       {1000, "test failover vm-web"}, {1300, "test failover cleanup"},
    {2000, "backup vm-db"},        {2100, "soft delete vm-db"},    {2200, "undelete vm-db"},
    {2300, "restore vm-db"},       {2400, "delete VM vm-db"},      {5950, "commit"},
    {5960, "re-protect"},          {5970, "failback"},             {5980, "backup vm-web"},
    {5990, "restore vm-web"}};
json synthetic_steps() {
  json steps = json::array();
  int n = 0;
  for (const auto& [ms, label] : kTimelineSteps) {
    steps.push_back({{"step", ++n},
                     {"action", "the step of " + label},
                     {"started_unix_nanos", kStartNs + ms * kMs},
                     {"outcome", "ok"},
                     {"timeline", label}});
  }
  steps.push_back({{"step", ++n},
                   {"action", "wait 1 s"},
                   {"started_unix_nanos", kStartNs + 2600 * kMs},
                   {"outcome", "ok"}});
  steps.push_back({{"step", ++n},
                   {"action", "drsim backup restore rsv vm-x --as new-vm"},
                   {"started_unix_nanos", kStartNs + 2700 * kMs},
                   {"outcome", "no recovery point"}});
  return steps;
}

json synthetic_report() {
  const int64_t fault = kStartNs + 3000 * kMs;
  json j;
  j["drill"] = "demo";
  j["fault"] = {{"kind", "kill"},
                {"region", "primary"},
                {"description", "primary region outage: SIGKILL drsim-primary (pid 8511)"},
                {"unix_nanos", fault}};
  j["failover"] = {{"automated_by_drill", true},
                   {"new_active", kNewRegion},
                   {"new_epoch", 2},
                   {"promoted_unix_nanos", fault + 281 * kMs}};
  j["config"] = {
      {"workloads", "vm-web:sync,vm-db:sync"}, {"probe_interval_ms", 100}, {"ttl_ms", 500}};
  j["writes"] = {
      {"attempted", 2160}, {"acknowledged", 1980}, {"failed", 176}, {"indeterminate", 4}};
  j["reads"] = {{"attempted", 240}, {"ok", 220}, {"failed", 20}, {"indeterminate", 0}};
  j["acknowledged_by_region"] = {{"primary", 1080}, {kNewRegion, 900}};
  j["rto_ms"] = 461.0;
  j["rto_parts_ms"] = {
      {"detection", 278.0}, {"promotion", 3.0}, {"routing", 97.0}, {"client_deadline", 40.0},
      {"client_ttl", 83.0}};
  j["failover_estimate_ms"] = {{"documented", 700}, {"strict", 950}};
  j["acknowledged_writes_lost"] = 0;
  j["lost"] = json::array();
  j["recovered_indeterminate"] = 0;
  j["stale_reads"] = 0;
  j["rpo"] = {{"writes", 0},
              {"max_ms", 0.0},
              {"workloads",
               {{{"workload", "vm-web"},
                 {"acked_seq_at_old", 540},
                 {"recovered_seq", 540},
                 {"writes", 0},
                 {"ms", 0.0}}}}};
  j["routing_events"] = {{{"unix_nanos", fault + 278 * kMs},
                          {"kind", "endpoint_status"},
                          {"endpoint", "primary"},
                          {"new_status", "Degraded"}},
                         {{"unix_nanos", fault + 378 * kMs},
                          {"kind", "route_changed"},
                          {"old_route", "primary"},
                          {"new_route", kNewRegion}}};
  j["expectations"] = {
      {{"name", "RTO measured and within the strict failover estimate + 1 s"},
       {"want", "<= 1950 ms"},
       {"got", "461 ms"},
       {"pass", true}},
      {{"name", "acknowledged writes lost (sync replication)"},
       {"want", "0"},
       {"got", "0"},
       {"pass", true}},
      {{"name", "final routing"}, {"want", kNewRegion}, {"got", "primary"}, {"pass", false}}};
  j["problems"] = json::array();
  j["passed"] = false;
  j["history_file"] = "/tmp/drsim-demo/history.jsonl";
  j["faults"] = synthetic_faults();
  j["replication_lag"] = synthetic_lag();
  return j;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// Every match of `re` in `text`, each as its capture groups (1..n).
std::vector<std::vector<std::string>> matches(const std::string& text, const std::string& re) {
  std::vector<std::vector<std::string>> out;
  const std::regex r(re);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), r); it != std::sregex_iterator();
       ++it) {
    std::vector<std::string> groups;
    for (size_t i = 1; i < it->size(); ++i) groups.push_back((*it)[i].str());
    out.push_back(groups);
  }
  return out;
}

// The plot's x extent in the SVG (cli/html_report.cc: kPlotLeft, kPlotRight).
constexpr double kPlotLeft = 64, kPlotRight = 1276;

struct SvgRect {
  double x, y, width;
  std::string title;
};

// The <rect class="..." x y width height><title>…</title> elements of a class (legend swatches,
// which have no title, are left out).
std::vector<SvgRect> rects_of_class(const std::string& html, const std::string& css) {
  std::vector<SvgRect> out;
  for (const auto& g : matches(html, "<rect class=\"" + css +
                                         "\" x=\"([-0-9.]+)\" y=\"([-0-9.]+)\" "
                                         "width=\"([-0-9.]+)\" height=\"[-0-9.]+\"><title>"
                                         "([^<]*)</title>")) {
    out.push_back({std::stod(g[0]), std::stod(g[1]), std::stod(g[2]), g[3]});
  }
  return out;
}

// "x,y x,y ..." as pairs.
std::vector<std::pair<double, double>> parse_points(const std::string& points) {
  std::vector<std::pair<double, double>> out;
  std::istringstream in(points);
  std::string pair;
  while (in >> pair) {
    size_t comma = pair.find(',');
    out.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
  }
  return out;
}

TEST(HtmlReport, SelfContainedEscapedWithTimelineAndExpectations) {
  auto dir = temp_dir();
  auto path = dir / "report.html";
  Status s = write_html_report(synthetic_report(), synthetic_history(), path.string());
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  std::string html = read_file(path);

  // Self-contained: nothing fetched at view time.
  for (const char* banned : {"http://", "https://", "<script", "@import", "url(", "<link"}) {
    EXPECT_EQ(html.find(banned), std::string::npos) << "found " << banned;
  }
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("</svg>"), std::string::npos);
  EXPECT_NE(html.find("class=\"expectations\""), std::string::npos);
  EXPECT_NE(html.find("FAILED"), std::string::npos);
  EXPECT_NE(html.find("RTO measured and within the strict failover estimate + 1 s"),
            std::string::npos);
  // The RTO parts are labelled along the timeline.
  EXPECT_NE(html.find("detection 278 ms"), std::string::npos);
  EXPECT_NE(html.find("client deadline 40 ms"), std::string::npos);
  EXPECT_NE(html.find("client TTL 83 ms"), std::string::npos);
  // Escaped: the region name and the "want" value never appear as markup.
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("second&lt;b&gt;ary"), std::string::npos);
  EXPECT_NE(html.find("&lt;= 1950 ms"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(HtmlReport, EveryInjectedFaultIsAShadedBandWithItsDescription) {
  Result<std::string> rendered = render_html_report(synthetic_report(), synthetic_history());
  ASSERT_TRUE(rendered.is_ok()) << rendered.status().to_string();
  const std::string& html = *rendered;

  // One band per fault across the operations plot and one across the lag panel, each with the
  // fault's description (escaped) and its window in a tooltip.
  const std::vector<SvgRect> bands = rects_of_class(html, "fault-band");
  ASSERT_EQ(bands.size(), 2 * synthetic_faults().size());
  std::map<std::string, double> width_by_fault;
  for (const SvgRect& b : bands) {
    EXPECT_GE(b.x, kPlotLeft - 0.05) << b.title;
    EXPECT_LE(b.x + b.width, kPlotRight + 0.15) << b.title;
    EXPECT_GT(b.width, 1.0) << b.title;
    width_by_fault[b.title.substr(0, b.title.find(": "))] = b.width;
  }
  const std::string latency = "latency 200\u00b10 ms on repl.primary-secondary (up)";
  const std::string drop = "drop 30% on repl.primary-second&lt;b&gt;ary (down)";
  ASSERT_TRUE(width_by_fault.count(latency)) << html;
  ASSERT_TRUE(width_by_fault.count(drop)) << html;
  // The bands share the plot's x axis: a 2 s window is twice as wide as a 1 s one.
  EXPECT_NEAR(width_by_fault[drop] / width_by_fault[latency], 2.0, 0.02);
  EXPECT_NE(html.find(latency + ": 1.00 s \u2192 2.00 s (1000 ms)"), std::string::npos);
  EXPECT_NE(html.find(kLongFault + ": 4.00 s \u2192 end of the drill"), std::string::npos);

  // Labelled bars above the plot, stacked so that overlapping windows never share a row.
  const std::vector<SvgRect> bars = rects_of_class(html, "fault-bar");
  ASSERT_EQ(bars.size(), synthetic_faults().size());
  for (size_t i = 0; i < bars.size(); ++i) {
    for (size_t k = i + 1; k < bars.size(); ++k) {
      bool overlap = bars[i].x < bars[k].x + bars[k].width && bars[k].x < bars[i].x + bars[i].width;
      if (overlap) {
        EXPECT_NE(bars[i].y, bars[k].y) << bars[i].title << " / " << bars[k].title;
      }
    }
  }
  const auto labels = matches(html,
                              "<text class=\"fault-label\" x=\"[-0-9.]+\" y=\"[-0-9.]+\">"
                              "<title>([^<]*)</title>([^<]*)</text>");
  ASSERT_EQ(labels.size(), synthetic_faults().size());
  EXPECT_EQ(labels[0][1], latency);
  EXPECT_EQ(labels[1][1], drop);
  // Too long to show: cut with an ellipsis; the tooltip has all of it.
  EXPECT_EQ(labels[3][1].find(kLongFault.substr(0, 40)), 0u) << labels[3][1];
  EXPECT_LT(labels[3][1].size(), kLongFault.size());
  EXPECT_EQ(labels[3][1].substr(labels[3][1].size() - 3), "\u2026");
  EXPECT_EQ(labels[3][0].find(kLongFault), 0u);

  // The first outage keeps its own marker and its outage band.
  EXPECT_NE(html.find("<line class=\"mk-fault\""), std::string::npos);
  EXPECT_EQ(rects_of_class(html, "band").size(), 1u);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
}

TEST(HtmlReport, ReplicationLagIsALinePerRegionWithTheEpochChangeMarked) {
  Result<std::string> rendered = render_html_report(synthetic_report(), synthetic_history());
  ASSERT_TRUE(rendered.is_ok()) << rendered.status().to_string();
  const std::string& html = *rendered;
  EXPECT_EQ(html.find("no replication lag samples"), std::string::npos);

  // primary at epoch 1, then the new region at epoch 2 in two runs (the 1.2 s silence).
  const auto lines = matches(html,
                             "<polyline class=\"lag-line\" stroke=\"[^\"]*\" "
                             "points=\"([^\"]*)\"><title>([^<]*)</title>");
  ASSERT_EQ(lines.size(), 3u) << html;
  EXPECT_EQ(lines[0][1].find("replication lag of primary \u00b7 epoch 1"), 0u) << lines[0][1];
  EXPECT_EQ(lines[1][1].find("replication lag of second&lt;b&gt;ary \u00b7 epoch 2"), 0u);
  size_t points = 0;
  for (const auto& line : lines) {
    auto xy = parse_points(line[0]);
    points += xy.size();
    for (size_t i = 0; i < xy.size(); ++i) {
      EXPECT_GE(xy[i].first, kPlotLeft - 0.05);
      EXPECT_LE(xy[i].first, kPlotRight + 0.05);
      if (i > 0) {
        EXPECT_GT(xy[i].first, xy[i - 1].first) << "time runs left to right";
      }
    }
  }
  EXPECT_EQ(points, kLagSamples);
  // primary's lag climbs, so its line rises (SVG y grows downwards).
  auto primary = parse_points(lines[0][0]);
  ASSERT_EQ(primary.size(), 16u);
  EXPECT_LT(primary.back().second, primary.front().second);

  // Labelled, with the axis max shown (at least the peak), and the region change marked.
  EXPECT_NE(html.find("peak 37 writes, max 18.5 ms behind"), std::string::npos);
  const auto axis_max = matches(html, "class=\"tick lag-max\"[^>]*>([0-9]+)</text>");
  ASSERT_EQ(axis_max.size(), 1u);
  EXPECT_GE(std::stoi(axis_max[0][0]), 37);
  EXPECT_EQ(count(html, "<line class=\"lag-epoch\""), 1u);
  EXPECT_NE(html.find("\u2192 second&lt;b&gt;ary \u00b7 epoch 2</text>"), std::string::npos);
}

TEST(HtmlReport, WithoutLagSamplesOrFaultsTheReportSaysSo) {
  json no_lag = synthetic_report();
  no_lag.erase("replication_lag");
  no_lag.erase("faults");
  json empty = synthetic_report();
  empty["replication_lag"] = json::array();
  empty["faults"] = json::array();
  json malformed = synthetic_report();
  malformed["replication_lag"] = {{{"unix_nanos", "later"}, {"lag_writes", 3}}, 7, nullptr};
  malformed["faults"] = {{{"description", "no window"}}, "x"};
  for (const json& report : {no_lag, empty, malformed}) {
    Result<std::string> html = render_html_report(report, synthetic_history());
    ASSERT_TRUE(html.is_ok()) << html.status().to_string();
    EXPECT_NE(html->find("no replication lag samples"), std::string::npos);
    EXPECT_EQ(html->find("class=\"lag-line\""), std::string::npos);
    EXPECT_EQ(html->find("class=\"fault-band\""), std::string::npos);
    EXPECT_NE(html->find("<line class=\"mk-fault\""), std::string::npos);
    EXPECT_NE(html->find("</svg>"), std::string::npos);
  }
}

// After a failback the writes are checked against the region active at the end, which the
// text report says; the HTML said the failover's region (issue 18).
TEST(HtmlReport, AfterAFailbackWritesAreCheckedAgainstTheFinalActiveRegion) {
  json report = synthetic_report();
  report["final_active"] = "primary";  // failed over to kNewRegion, then back
  Result<std::string> html = render_html_report(report, synthetic_history());
  ASSERT_TRUE(html.is_ok()) << html.status().to_string();
  EXPECT_NE(html->find("checked against the final state of primary"), std::string::npos);
  EXPECT_EQ(html->find("checked against the final state of second"), std::string::npos);
}

// Writes a failover to a recovery point gives up on purpose are shown with why, not as a fault
// (issue 18: a PASSED Site Recovery drill showed them in red, unexplained).
TEST(HtmlReport, WritesGivenUpByARecoveryPointFailoverAreExplainedNotFlagged) {
  json report = synthetic_report();
  report["acknowledged_writes_lost"] = 22;
  json flagged = report;
  report["lost_writes_given_up_by_recovery_point"] = true;
  Result<std::string> html = render_html_report(report, synthetic_history());
  ASSERT_TRUE(html.is_ok()) << html.status().to_string();
  EXPECT_NE(html->find("given up by design"), std::string::npos);
  EXPECT_EQ(html->find("<tr class=\"bad strong\"><th scope=\"row\">acknowledged writes lost"),
            std::string::npos);
  Result<std::string> bad = render_html_report(flagged, synthetic_history());
  ASSERT_TRUE(bad.is_ok());
  EXPECT_NE(bad->find("<tr class=\"bad strong\"><th scope=\"row\">acknowledged writes lost"),
            std::string::npos);
}

TEST(HtmlReport, ManyOverlappingFaultsNeverOverlapTheirLabels) {
  json report = synthetic_report();
  json faults = json::array();
  for (int i = 0; i < 12; ++i) {  // twelve windows open at once, twice the rows there are
    faults.push_back({{"description",
                       "latency " + std::to_string(100 + i) + " ms on repl.primary-secondary (up)"},
                      {"start_unix_nanos", kStartNs + (500 + 100 * i) * kMs},
                      {"end_unix_nanos", kStartNs + 5500 * kMs}});
  }
  report["faults"] = faults;
  Result<std::string> html = render_html_report(report, synthetic_history());
  ASSERT_TRUE(html.is_ok()) << html.status().to_string();
  // Every fault keeps its band; six get a labelled row, the rest are counted with their
  // descriptions in a tooltip.
  EXPECT_EQ(rects_of_class(*html, "fault-band").size(), 24u);
  EXPECT_EQ(rects_of_class(*html, "fault-bar").size(), 6u);
  const auto more = matches(*html, "<title>([^<]*)</title>\\+([0-9]+) more</text>");
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0][1], "6");
  for (int i = 6; i < 12; ++i) {
    EXPECT_NE(more[0][0].find("latency " + std::to_string(100 + i) + " ms"), std::string::npos);
  }
  // Labels on one row (same y) are at least their estimated width apart (6.6 px a character).
  std::map<std::string, std::vector<std::pair<double, size_t>>> by_row;
  for (const auto& g : matches(*html,
                               "<text class=\"fault-label\" x=\"([-0-9.]+)\" y=\"([-0-9.]+)\">"
                               "<title>[^<]*</title>([^<]*)</text>")) {
    by_row[g[1]].push_back({std::stod(g[0]), g[2].size()});
  }
  EXPECT_LE(by_row.size(), 6u);
  for (auto& [y, row] : by_row) {
    std::sort(row.begin(), row.end());
    for (size_t i = 1; i < row.size(); ++i) {
      EXPECT_GE(row[i].first, row[i - 1].first + 6.6 * static_cast<double>(row[i - 1].second))
          << "labels overlap on the row at y=" << y;
    }
  }
}

// The x of every marker label (rotated text, translate(x y)), by its css class and text.
struct MarkerLabel {
  double x;
  std::string css, text;
};
std::vector<MarkerLabel> marker_labels(const std::string& html) {
  std::vector<MarkerLabel> out;
  for (const auto& g : matches(html, "<text class=\"mk-label (mk-[a-z]+)\" transform=\"translate\\("
                                     "([-0-9.]+) [-0-9.]+\\) rotate\\(-90\\)\" "
                                     "text-anchor=\"end\">([^<]*)</text>")) {
    out.push_back({std::stod(g[1]), g[0], g[2]});
  }
  std::sort(out.begin(), out.end(),
            [](const MarkerLabel& a, const MarkerLabel& b) { return a.x < b.x; });
  return out;
}

TEST(HtmlReport, SiteRecoveryAndBackupStepsAreMarkersAndNoTwoMarkerLabelsOverlap) {
  json report = synthetic_report();
  report["steps"] = synthetic_steps();
  Result<std::string> html = render_html_report(report, synthetic_history());
  ASSERT_TRUE(html.is_ok()) << html.status().to_string();
  EXPECT_EQ(matches(*html, "<line class=\"mk-step\"[^>]*><title>").size(), kTimelineSteps.size());
  for (const auto& [ms, label] : kTimelineSteps) {
    EXPECT_NE(html->find("<title>" + label + "</title></line>"), std::string::npos) << label;
  }
  EXPECT_EQ(html->find("<title>wait 1 s</title></line>"), std::string::npos);
  // Fault, epoch, route and the steps that did something: not the failed restore.
  EXPECT_EQ(matches(*html, "<line class=\"mk-[a-z]+\"[^>]*><title>").size(),
            kTimelineSteps.size() + 3);
  EXPECT_NE(html->find("Site Recovery / Backup step</text>"), std::string::npos);

  // Fault, epoch, route and the 13 steps: every label inside the plot, one text height (14 px)
  // from the next, the five at the very end of the run included.
  const auto labels = marker_labels(*html);
  ASSERT_EQ(labels.size(), kTimelineSteps.size() + 3);
  for (size_t i = 0; i < labels.size(); ++i) {
    EXPECT_GE(labels[i].x, kPlotLeft) << labels[i].text;
    EXPECT_LE(labels[i].x, kPlotRight) << labels[i].text;
    if (i > 0) {
      EXPECT_GE(labels[i].x, labels[i - 1].x + 14 - 0.05)
          << labels[i - 1].text << " and " << labels[i].text << " overlap";
    }
  }
  EXPECT_EQ(labels.back().text, "restore vm-web");
}

// More step markers than labels fit in the plot (one text height each: 86): every marker keeps
// its line and tooltip; the fault, promotion and route change keep their labels, the steps share
// the rest spread evenly (first and last included); no two labels overlap; the legend counts the
// unlabelled ones.
TEST(HtmlReport, MoreMarkersThanFitKeepEveryLineAndLabelOnlyWhatFits) {
  json report = synthetic_report();
  json steps = json::array();
  constexpr int kSteps = 150;
  for (int i = 0; i < kSteps; ++i) {
    steps.push_back({{"step", i + 1},
                     {"action", "backup now step " + std::to_string(i)},
                     {"started_unix_nanos", kStartNs + (100 + 38 * i) * kMs},
                     {"outcome", "ok"},
                     {"timeline", "backup " + std::to_string(i)}});
  }
  report["steps"] = steps;
  Result<std::string> html = render_html_report(report, synthetic_history());
  ASSERT_TRUE(html.is_ok()) << html.status().to_string();
  EXPECT_EQ(matches(*html, "<line class=\"mk-step\"[^>]*><title>").size(),
            static_cast<size_t>(kSteps));
  const auto labels = marker_labels(*html);
  constexpr size_t kRoom = 86;  // (kPlotRight - kPlotLeft - 12) / 14 + 1
  ASSERT_EQ(labels.size(), kRoom);
  std::set<std::string> classes;
  for (size_t i = 0; i < labels.size(); ++i) {
    classes.insert(labels[i].css);
    EXPECT_GE(labels[i].x, kPlotLeft) << labels[i].text;
    EXPECT_LE(labels[i].x, kPlotRight) << labels[i].text;
    if (i > 0) {
      EXPECT_GE(labels[i].x, labels[i - 1].x + 14 - 0.05)
          << labels[i - 1].text << " and " << labels[i].text << " overlap";
    }
  }
  EXPECT_EQ(classes, (std::set<std::string>{"mk-fault", "mk-epoch", "mk-route", "mk-step"}));
  bool first = false, last = false;
  for (const auto& l : labels) {
    first |= l.text == "backup 0";
    last |= l.text == "backup " + std::to_string(kSteps - 1);
  }
  EXPECT_TRUE(first && last);
  EXPECT_NE(html->find("Site Recovery / Backup step (" + std::to_string(kSteps - (kRoom - 3)) +
                       " unlabelled: more than fit; hover a line for its step)"),
            std::string::npos);
}

TEST(HtmlReport, MissingFieldsStillProduceAFile) {
  auto dir = temp_dir();
  const std::vector<json> reports = {
      json(),                                                          // null
      json::object(),                                                  // empty
      json::array({1, 2, 3}),                                          // not an object at all
      json{{"drill", "demo"}, {"rto_ms", nullptr}, {"passed", true}},  // null RTO, no failover
      json{{"writes", "many"},
           {"expectations", {{{"pass", "yes"}}, 7}},
           {"routing_events", {{{"kind", "route_changed"}}, nullptr}},
           {"fault", {{"unix_nanos", "soon"}}},
           {"faults", {{{"start_unix_nanos", "soon"}}, 3, {{"start_unix_nanos", -5}}}},
           {"replication_lag", {{{"unix_nanos", 1}, {"lag_writes", "many"}}, "x"}},
           {"rto_parts_ms", 5}},  // mistyped fields
      json{{"faults", "all of them"}, {"replication_lag", 42}},
      // A fault that ends before it starts, and lag without region or epoch.
      json{{"faults",
            {{{"description", "backwards"},
              {"start_unix_nanos", kStartNs + 2000 * kMs},
              {"end_unix_nanos", kStartNs + 1000 * kMs}}}},
           {"replication_lag", {{{"unix_nanos", kStartNs + 100 * kMs}, {"lag_writes", 4}}}}},
  };
  std::vector<std::vector<OpRecord>> histories = {{}, synthetic_history()};
  int n = 0;
  for (const json& report : reports) {
    for (const auto& history : histories) {
      auto path = dir / ("report-" + std::to_string(n++) + ".html");
      Status s;
      EXPECT_NO_THROW(s = write_html_report(report, history, path.string()));
      EXPECT_TRUE(s.is_ok()) << s.to_string();
      std::string html = read_file(path);
      EXPECT_NE(html.find("</html>"), std::string::npos) << path;
    }
  }
  // Only a path that cannot be written is an error, and it is a value.
  Status bad = write_html_report(json::object(), {}, (dir / "no/such/dir/report.html").string());
  EXPECT_FALSE(bad.is_ok());
  std::filesystem::remove_all(dir);
}

// Runs argv with stdout and stderr to `log` and a bounded wait; kills its process group
// (chromium's helpers included) on timeout. Returns the exit status, or -1 on timeout.
int run_bounded(const std::vector<std::string>& args, const std::filesystem::path& log,
                std::chrono::seconds timeout) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    // chromium logs D-Bus errors by the dozen in a container; keep them out of the test log.
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) return -1;
  ::setpgid(pid, pid);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid, SIGKILL);  // helpers left behind in chromium's group, if any
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(HtmlReport, RendersInHeadlessChromium) {
  const std::filesystem::path chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) FAIL() << "chromium is not installed"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  const std::filesystem::path out_dir = DRSIM_TEST_OUTPUT_DIR;
  const auto html = out_dir / "report-screenshot.html";
  const auto png = out_dir / "report-screenshot.png";
  const auto log = out_dir / "report-screenshot.chromium.log";
  std::filesystem::remove(png);
  ASSERT_TRUE(write_html_report(synthetic_report(), synthetic_history(), html.string()).is_ok());
  // The page shot is the one with fault bands and the lag line (checked in detail above).
  const std::string text = read_file(html);
  ASSERT_EQ(rects_of_class(text, "fault-band").size(), 2 * synthetic_faults().size());
  ASSERT_NE(text.find("<polyline class=\"lag-line\""), std::string::npos);
  auto profile = temp_dir();
  int rc = run_bounded(
      {chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", "--user-data-dir=" + profile.string(), "--screenshot=" + png.string(),
       "--window-size=1400,1800", "file://" + html.string()},
      log, std::chrono::seconds(60));
  std::filesystem::remove_all(profile);
  ASSERT_NE(rc, -1) << "chromium did not finish within 60 s";
  ASSERT_TRUE(std::filesystem::exists(png))
      << "chromium exited " << rc << " without " << png << "; its output:\n"
      << read_file(log);
  EXPECT_GT(std::filesystem::file_size(png), 10u * 1024) << png;
}

// The page as chromium lays it out (`--dump-dom` after a script measured it): every marker label
// is drawn, inside the SVG, and no two of them overlap — the Site Recovery and Backup steps at
// the end of the run included.
TEST(HtmlReport, RenderedMarkerLabelsDoNotOverlapInHeadlessChromium) {
  const std::filesystem::path chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) FAIL() << "chromium is not installed"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  auto dir = temp_dir();
  const auto page = dir / "report.html";
  json report = synthetic_report();
  report["steps"] = synthetic_steps();
  Result<std::string> html = render_html_report(report, synthetic_history());
  ASSERT_TRUE(html.is_ok()) << html.status().to_string();
  // The measuring script goes in the test's copy only; the report itself has no script.
  std::string measured = *html;
  const size_t body_end = measured.rfind("</body>");
  ASSERT_NE(body_end, std::string::npos);
  measured.insert(body_end, R"(<script>
const svg = document.querySelector('svg').getBoundingClientRect();
const rows = [];
for (const t of document.querySelectorAll('text.mk-label:not(.lag-label)')) {
  const r = t.getBoundingClientRect();
  rows.push([r.left, r.top, r.right, r.bottom, t.textContent].join('|'));
}
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = [svg.left, svg.top, svg.right, svg.bottom].join('|') + '\n' + rows.join('\n');
document.body.appendChild(pre);
</script>)");
  {
    std::ofstream out(page, std::ios::binary);
    out << measured;
  }
  auto profile = temp_dir();
  const auto dom = dir / "dom.txt";
  int rc = run_bounded(
      {chromium.string(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", "--user-data-dir=" + profile.string(), "--window-size=1400,1800",
       "--dump-dom", "file://" + page.string()},
      dom, std::chrono::seconds(60));
  std::filesystem::remove_all(profile);
  ASSERT_NE(rc, -1) << "chromium did not finish within 60 s";
  const std::string text = read_file(dom);
  const auto block = matches(text, "<pre id=\"measured\">([^<]*)</pre>");
  ASSERT_EQ(block.size(), 1u) << "chromium exited " << rc << "; its output:\n" << text;
  struct Box {
    double left, top, right, bottom;
    std::string text;
  };
  std::vector<Box> boxes;
  std::istringstream lines(block[0][0]);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string part; std::getline(fields, part, '|');) f.push_back(part);
    ASSERT_GE(f.size(), 4u) << line;
    boxes.push_back({std::stod(f[0]), std::stod(f[1]), std::stod(f[2]), std::stod(f[3]),
                     f.size() > 4 ? f[4] : ""});
  }
  ASSERT_FALSE(boxes.empty());
  const Box svg = boxes.front();
  boxes.erase(boxes.begin());
  ASSERT_EQ(boxes.size(), kTimelineSteps.size() + 3);  // fault, epoch, route and the steps
  for (const auto& [ms, label] : kTimelineSteps) {
    EXPECT_TRUE(std::any_of(boxes.begin(), boxes.end(), [&](const Box& b) { return b.text == label; }))
        << label << " was not drawn";
  }
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& a = boxes[i];
    EXPECT_GT(a.right - a.left, 1.0) << a.text;
    EXPECT_GT(a.bottom - a.top, 10.0) << a.text;
    EXPECT_GE(a.left, svg.left) << a.text;
    EXPECT_LE(a.right, svg.right) << a.text;
    for (size_t k = i + 1; k < boxes.size(); ++k) {
      const Box& b = boxes[k];
      const bool apart = a.right <= b.left + 0.5 || b.right <= a.left + 0.5 ||
                         a.bottom <= b.top + 0.5 || b.bottom <= a.top + 0.5;
      EXPECT_TRUE(apart) << "\"" << a.text << "\" [" << a.left << ", " << a.right << "] and \""
                         << b.text << "\" [" << b.left << ", " << b.right << "] overlap";
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace drsim::cli
