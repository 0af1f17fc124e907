// Renders the drill report as one self-contained HTML page: header with the verdict, the
// expectations, a timeline (inline SVG: operations per bucket, the injected faults as bands,
// the replication lag on the same time axis under it) and the summary. Everything is built as
// text here so the page needs nothing at view time: no script, no font, no stylesheet.
#include "cli/html_report.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "cli/drill_report.h"
#include "cli/html_report_parts.h"
#include "cli/html_timeline.h"
#include "common/core/time.h"
#include "common/model/drill/history_checker.h"

namespace drsim::cli {

using nlohmann::json;

namespace {

using namespace html;

// ---- Tables --------------------------------------------------------------------------------

void row(std::string& h, const std::string& name, const std::string& value,
         const std::string& note = "", const std::string& css = "") {
  h += fmt::format(
      "<tr{}><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"note\">"
      "{}</td></tr>\n",
      css.empty() ? "" : " class=\"" + css + "\"", esc(name), esc(value), esc(note));
}

void group(std::string& h, const std::string& name) {
  h += fmt::format("<tr class=\"group\"><th colspan=\"3\" scope=\"rowgroup\">{}</th></tr>\n",
                   esc(name));
}

// The summary table's groups (render_summary).
void summary_operations(std::string& h, const json& report) {
  group(h, "Writes");
  for (const char* k : {"attempted", "acknowledged", "failed", "indeterminate"}) {
    row(h, k, show(at(report, {"writes", k})));
  }
  if (const json* by = at(report, {"acknowledged_by_region"}); by && by->is_object()) {
    for (const auto& [region, n] : by->items()) {
      row(h, "acknowledged by " + region_label(region), show(&n), "", "sub");
    }
  }
  if (auto a = number_at(report, {"availability"})) {
    row(h, "availability", fmt::format("{:.1f} %", *a * 100), "operations acknowledged");
  }
  group(h, "Reads");
  for (const char* k : {"attempted", "ok", "failed", "indeterminate"}) {
    row(h, k, show(at(report, {"reads", k})));
  }
}

void summary_recovery_time(std::string& h, const json& report, const std::string& new_name,
                           const std::string& old_region) {
  group(h, "Recovery time");
  row(h, "RTO", show_ms(number_at(report, {"rto_ms"})),
      "fault \u2192 first write acknowledged by " + new_name, "strong");
  const std::string old_name = old_region.empty() ? "the failed region" : old_region;
  const std::pair<const char*, std::string> notes[] = {
      {"detection", "fault \u2192 Traffic Manager marks " + old_name + " Degraded"},
      {"promotion", "Degraded \u2192 " + new_name + " promoted"},
      {"routing", "promoted \u2192 Traffic Manager answers " + new_name},
      {"client_deadline",
       "the first client to move blocked on the old region until its deadline or keepalive gave "
       "up"},
      {"client_ttl", "routing change \u2192 first client write there, less its deadline wait"}};
  for (size_t i = 0; i < std::size(kRtoParts); ++i) {
    row(h, kRtoParts[i].label, show_ms(number_at(report, {"rto_parts_ms", kRtoParts[i].key})),
        notes[i].second, "sub");
  }
  row(h, "documented estimate", show_ms(number_at(report, {"failover_estimate_ms", "documented"})),
      "TTL + tolerated \u00d7 interval", "sub");
  row(h, "strict estimate", show_ms(number_at(report, {"failover_estimate_ms", "strict"})),
      "(interval + timeout) \u00d7 (tolerated + 1) + TTL", "sub");
}

void summary_data(std::string& h, const json& report, const std::string& new_name) {
  group(h, "Data");
  const json* lost = at(report, {"acknowledged_writes_lost"});
  bool any_lost = lost && lost->is_number() && lost->get<double>() > 0;
  // Checked against the region active at the end (after a failback, not the failover's).
  const std::string final_name = string_at(report, {"final_active"}).value_or(new_name);
  // A failover to a recovery point gives up what was written after it: shown, not as a fault.
  const bool by_design = bool_at(report, {"lost_writes_given_up_by_recovery_point"}).value_or(false);
  row(h, "acknowledged writes lost", show(lost),
      "every acknowledged write checked against the final state of " + final_name +
          (by_design ? "; written after the recovery point failed over to: given up by design, "
                       "within the RPO"
                     : ""),
      any_lost && !by_design ? "bad strong" : "strong");
  row(h, "recovered", show(at(report, {"recovered_indeterminate"})),
      "indeterminate writes found applied");
  const json* stale = at(report, {"stale_reads"});
  row(h, "stale reads", show(stale), "",
      stale && stale->is_number() && stale->get<double>() > 0 ? "bad" : "");
  std::string rpo = show(at(report, {"rpo", "writes"})) + " writes";
  if (auto ms = number_at(report, {"rpo", "max_ms"})) rpo += ", " + show_ms(ms);
  row(h, "RPO", rpo, "newest write acknowledged by the old region \u2192 recovery point");
  if (const json* ws = at(report, {"rpo", "workloads"}); ws && ws->is_array()) {
    for (const json& w : *ws) {
      row(h, "RPO " + show(at(w, {"workload"})),
          show(at(w, {"writes"})) + " writes, " + show_ms(number_at(w, {"ms"})),
          "acked seq " + show(at(w, {"acked_seq_at_old"})) + ", recovered to seq " +
              show(at(w, {"recovered_seq"})),
          "sub");
    }
  }
}

std::string render_summary(const json& report) {
  std::string h = "<table class=\"summary\">\n";
  const std::string new_region = string_at(report, {"failover", "new_active"}).value_or("");
  const std::string old_region = string_at(report, {"fault", "region"}).value_or("");
  const std::string new_name = new_region.empty() ? "the new region" : new_region;
  summary_operations(h, report);
  summary_recovery_time(h, report, new_name, old_region);
  summary_data(h, report, new_name);
  h += "</table>\n";
  return h;
}

std::string render_expectations(const json& report) {
  const json* ex = at(report, {"expectations"});
  std::string h;
  if (!ex || !ex->is_array() || ex->empty()) {
    h += "<p class=\"muted\">No expectations in this report.</p>\n";
  } else {
    h += "<table class=\"expectations\">\n<thead><tr><th>result</th><th>expectation</th>"
         "<th>want</th><th>got</th></tr></thead>\n<tbody>\n";
    for (const json& e : *ex) {
      std::optional<bool> pass = bool_at(e, {"pass"});
      const char* verdict = !pass ? "?" : *pass ? "PASS" : "FAIL";
      const char* css = !pass ? "unknown" : *pass ? "pass" : "fail";
      h += fmt::format(
          "<tr><td><span class=\"badge {}\">{}</span></td><td>{}</td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
          css, verdict, esc(show(at(e, {"name"}))), esc(show(at(e, {"want"}))),
          esc(show(at(e, {"got"}))));
    }
    h += "</tbody></table>\n";
  }
  if (const json* problems = at(report, {"problems"}); problems && problems->is_array()) {
    for (const json& p : *problems) {
      h += fmt::format("<p class=\"problem\"><span class=\"badge fail\">FAIL</span> {}</p>\n",
                       esc(show(&p)));
    }
  }
  return h;
}

// The lost writes, if any: the evidence a person wants first when a drill fails.
std::string render_lost(const json& report) {
  const json* lost = at(report, {"lost"});
  if (!lost || !lost->is_array() || lost->empty()) return "";
  constexpr size_t kMaxShown = 50;
  std::string h = fmt::format("<h2>Acknowledged writes lost ({} shown of {})</h2>\n",
                              std::min(kMaxShown, lost->size()), lost->size());
  h += "<table class=\"lost\"><thead><tr><th>workload</th><th>key</th><th>acknowledged by</th>"
       "<th>seq</th><th>value</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < lost->size() && i < kMaxShown; ++i) {
    const json& l = (*lost)[i];
    std::string value = show(at(l, {"value"}));
    if (value.size() > 40) value = value.substr(0, 40) + "\u2026";
    h += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"mono\">{}</td></tr>\n",
        esc(show(at(l, {"workload"}))), esc(show(at(l, {"key"}))), esc(show(at(l, {"region"}))),
        esc(show(at(l, {"seq"}))), esc(value));
  }
  h += "</tbody></table>\n";
  return h;
}

// Key/value details (configuration, replication lag) shown as they are in the JSON.
std::string render_details(const json& report, const std::vector<model::OpRecord>& history) {
  std::string h = "<table class=\"details\">\n";
  if (const json* cfg = at(report, {"config"}); cfg && cfg->is_object()) {
    group(h, "Configuration");
    for (const auto& [k, v] : cfg->items()) row(h, k, show(&v));
  }
  if (const json* lag = at(report, {"replication_lag_before_fault"});
      lag && lag->is_object() && !lag->empty()) {
    group(h, "Replication just before the fault");
    for (const auto& [workload, w] : lag->items()) {
      row(h, workload, show(at(w, {"lag_writes"})) + " writes behind",
          "write \u2192 standby ack p50 " + show_ms(number_at(w, {"write_to_ack_p50_ms"})) +
              ", p99 " + show_ms(number_at(w, {"write_to_ack_p99_ms"})) + " over " +
              show(at(w, {"samples"})) + " writes");
    }
  }
  if (const json* steps = at(report, {"steps"}); steps && steps->is_array() && !steps->empty()) {
    // Step times relative to the first operation, like the timeline's x axis.
    std::optional<int64_t> origin;
    for (const auto& op : history) {
      if (op.invoke_ns > 0 && (!origin || op.invoke_ns < *origin)) origin = op.invoke_ns;
    }
    group(h, "Drill steps");
    for (const json& step : *steps) {
      std::string when;
      if (auto ns = nanos_at(step, {"started_unix_nanos"}); ns && origin) {
        when = fmt::format("at {:.2f} s", static_cast<double>(*ns - *origin) / 1e9);
      }
      std::string outcome = show(at(step, {"outcome"}));
      row(h, show(at(step, {"step"})) + ". " + show(at(step, {"action"})), outcome, when,
          outcome == "ok" || outcome == "n/a" ? "" : "bad");
    }
  }
  group(h, "Files");
  row(h, "history", fmt::format("{} operations", history.size()),
      string_at(report, {"history_file"}).value_or(""));
  h += "</table>\n";
  return h;
}

constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial,
       sans-serif; color: #1f2328; background: #fff; margin: 24px auto; max-width: 1320px;
       padding: 0 16px; line-height: 1.4; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; display: flex; align-items: center; gap: 12px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.subtitle { color: #57606a; margin: 0 0 4px; }
.muted { color: #6e7781; font-style: italic; }
.badge { display: inline-block; font-weight: 700; font-size: 12px; padding: 2px 8px;
         border-radius: 10px; letter-spacing: .03em; }
h1 .badge { font-size: 16px; padding: 3px 12px; border-radius: 14px; }
.badge.pass { background: #dafbe1; color: #116329; border: 1px solid #4ac26b; }
.badge.fail { background: #ffebe9; color: #a40e26; border: 1px solid #ff8182; }
.badge.unknown { background: #eaeef2; color: #424a53; border: 1px solid #afb8c1; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 32px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2;
         vertical-align: top; }
thead th { font-size: 12px; color: #57606a; font-weight: 600; border-bottom: 1px solid #d0d7de; }
th[scope=row] { font-weight: 400; }
.summary th[scope=row] { white-space: nowrap; }
tr.sub th[scope=row] { padding-left: 24px; color: #424a53; }
tr.strong th, tr.strong td.num { font-weight: 700; }
tr.bad td.num { color: #a40e26; }
tr.group th { font-weight: 700; background: #f6f8fa; font-size: 13px; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.note { color: #57606a; font-size: 12.5px; }
.mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.problem { margin: 6px 0; }
svg.timeline { width: 100%; height: auto; display: block; font-size: 12px;
               font-family: inherit; }
svg .plot-bg { fill: #fbfcfd; stroke: none; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .axis { stroke: #57606a; stroke-width: 1; }
svg .tick { fill: #424a53; }
svg .axis-title, svg .lane-title { fill: #1f2328; font-weight: 600; }
svg .muted-svg { fill: #6e7781; font-style: italic; }
svg .band { fill: #e15759; fill-opacity: .13; stroke: #e15759; stroke-opacity: .35; }
svg .mk-fault { stroke: #a40e26; stroke-width: 2; }
svg .mk-epoch { stroke: #6639ba; stroke-width: 2; }
svg .mk-route { stroke: #0969da; stroke-width: 2; stroke-dasharray: 6 3; }
svg text.mk-fault { fill: #a40e26; stroke: #fff; stroke-dasharray: none; }
svg text.mk-epoch { fill: #6639ba; stroke: #fff; }
svg text.mk-route { fill: #0550ae; stroke: #fff; stroke-dasharray: none; }
svg .mk-step { stroke: #1b7c83; stroke-width: 1.5; stroke-dasharray: 2 3; }
svg text.mk-step { fill: #1b7c83; stroke: #fff; stroke-dasharray: none; }
svg .mk-label { paint-order: stroke; stroke-width: 3px; font-weight: 600;
                stroke-linejoin: round; }
svg .lane-label { fill: #1f2328; }
svg .lead { stroke-width: 1; }
svg .fault-band { fill: #d4a72c; fill-opacity: .14; stroke: #bf8700; stroke-opacity: .7;
                  stroke-dasharray: 4 3; }
svg .fault-bar { fill: #d4a72c; fill-opacity: .35; stroke: #9a6700; stroke-width: 1; }
svg .fault-label { fill: #4d2d00; }
svg .lag-line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .lag-epoch { stroke: #6639ba; stroke-width: 1.5; stroke-dasharray: 5 3; }
svg text.lag-label { stroke: #fff; }
svg .lag-max { font-weight: 600; }
footer { margin-top: 28px; color: #6e7781; font-size: 12px; }
)css";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<std::string> render_html_report(const json& report,
                                       const std::vector<model::OpRecord>& history) {
  try {
    const std::string drill = string_at(report, {"drill"}).value_or("drill");
    const std::optional<bool> passed = bool_at(report, {"passed"});
    const char* verdict = !passed ? "UNKNOWN" : *passed ? "PASSED" : "FAILED";
    const char* verdict_css = !passed ? "unknown" : *passed ? "pass" : "fail";

    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h += fmt::format("<title>drsim drill {} \u2014 {}</title>\n", esc(drill), verdict);
    h += "<style>";
    h += kStyle;
    h += "</style>\n</head>\n<body>\n";
    h += fmt::format("<h1>drsim drill \u201c{}\u201d <span class=\"badge {}\">{}</span></h1>\n",
                     esc(drill), verdict_css, verdict);
    if (auto description = string_at(report, {"description"})) {
      h += fmt::format("<p class=\"subtitle\">{}</p>\n", esc(*description));
    }
    if (auto fault = string_at(report, {"fault", "description"})) {
      h += fmt::format("<p class=\"subtitle\">Fault: {}</p>\n", esc(*fault));
    } else if (auto region = string_at(report, {"fault", "region"}); region && !region->empty()) {
      std::string kind = string_at(report, {"fault", "kind"}).value_or("");
      h += fmt::format("<p class=\"subtitle\">Fault on {}{}</p>\n", esc(*region),
                       esc(kind.empty() ? "" : " (" + kind + ")"));
    } else {
      h += "<p class=\"subtitle\">Fault: none recorded</p>\n";
    }
    if (at(report, {"failover"})) {
      std::optional<bool> automated = bool_at(report, {"failover", "automated_by_drill"});
      std::string who = automated.value_or(false) ? "automated by the drill" : "failover";
      std::string to = string_at(report, {"failover", "new_active"}).value_or("?");
      h += fmt::format("<p class=\"subtitle\">Failover: {}; {} active at epoch {}</p>\n", esc(who),
                       esc(to), esc(show(at(report, {"failover", "new_epoch"}))));
    } else {
      h += "<p class=\"subtitle\">Failover: none recorded</p>\n";
    }

    h += "<h2>Timeline</h2>\n";
    h += render_timeline(report, history);
    h += "\n<div class=\"columns\">\n<section>\n<h2>Summary</h2>\n";
    h += render_summary(report);
    h += "</section>\n<section>\n<h2>Expectations</h2>\n";
    h += render_expectations(report);
    h += "<h2>Details</h2>\n";
    h += render_details(report, history);
    h += "</section>\n</div>\n";
    h += render_lost(report);
    h += "<footer>Generated by drsim from report.json and the client history; every figure is "
         "measured from what happened (docs/measuring.md).</footer>\n";
    h += "</body>\n</html>\n";
    return h;
  } catch (const json::exception& e) {
    return invalid_argument(std::string("report JSON: ") + e.what());
  } catch (const std::exception& e) {
    return internal_error(std::string("rendering the HTML report: ") + e.what());
  }
}

Status write_html_report(const json& report, const std::vector<model::OpRecord>& history,
                         const std::string& path) {
  Result<std::string> html = render_html_report(report, history);
  if (!html.is_ok()) return html.status();
  try {
    std::ofstream out(path, std::ios::trunc | std::ios::binary);
    if (!out) return unavailable("cannot write HTML report " + path);
    out << *html;
    if (!out.flush()) return unavailable("cannot write HTML report " + path);
  } catch (const std::exception& e) {
    return unavailable("cannot write HTML report " + path + ": " + e.what());
  }
  return Status::ok();
}

void put_rto(const drsim::model::RtoBreakdown& rto, nlohmann::json* report) {
  (*report)["rto_ms"] = ms_json(rto.total);
  (*report)["rto_parts_ms"] = {{"detection", ms_json(rto.detection)},
                               {"promotion", ms_json(rto.promotion)},
                               {"routing", ms_json(rto.routing)},
                               {"client_deadline", ms_json(rto.client_deadline)},
                               {"client_ttl", ms_json(rto.client_ttl)}};
}

}  // namespace drsim::cli
