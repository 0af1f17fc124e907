// The drill report's timeline, one inline SVG: the RTO parts along the top, the injected faults
// in rows under them, operations per time bucket stacked by outcome and region with the
// outage band and the markers (fault, promotion, route changes, Site Recovery / Backup steps),
// and the replication lag of the active region on the same time axis below. Built in three
// steps: gather what the report and history say (TimelineData), lay it out (Frame), draw it
// part by part in the order the SVG stacks it.
#include "cli/html_timeline.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/html_report_parts.h"
#include "cli/html_timeline_parts.h"

namespace drsim::cli::html {

namespace timeline {

// 1, 2 or 5 × 10^k, so that `range` has about `target` steps.
double nice_step(double range, int target) {
  if (!(range > 0)) return 1;
  double raw = range / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double step = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  return step * mag;
}

std::string fmt_seconds(double s, double step) {
  // As many decimals as the step needs, no more.
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fmt::format("{:.{}f} s", s, std::clamp(decimals, 0, 3));
}

std::string fmt_bucket(int64_t ns) {
  if (ns % 1'000'000'000 == 0) return fmt::format("{} s", ns / 1'000'000'000);
  return fmt::format("{} ms", ns / 1'000'000);
}

namespace {

// Characters (code points) in UTF-8 text: fault descriptions carry "±" and arrows.
size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// `s` cut to at most `max_chars` characters, the last one "…" when anything was cut; never
// splits a multi-byte character.
std::string utf8_truncate(const std::string& s, size_t max_chars) {
  if (utf8_length(s) <= max_chars) return s;
  if (max_chars == 0) return "";
  const size_t keep = max_chars - 1;
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars == keep) break;
    ++chars;
  }
  std::string out = s.substr(0, i);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "\u2026";
}

}  // namespace

double text_width(const std::string& s) { return static_cast<double>(utf8_length(s)) * kCharWidth; }

namespace {

std::vector<FaultWindowMark> fault_windows(const json& report) {
  std::vector<FaultWindowMark> out;
  const json* faults = at(report, {"faults"});
  if (!faults || !faults->is_array()) return out;
  for (const json& f : *faults) {
    std::optional<int64_t> start = nanos_at(f, {"start_unix_nanos"});
    if (!start) continue;
    FaultWindowMark w;
    w.start_ns = *start;
    if (auto end = nanos_at(f, {"end_unix_nanos"}); end && *end >= *start) w.end_ns = end;
    w.description = string_at(f, {"description"}).value_or("");
    if (w.description.empty()) {
      std::string target = string_at(f, {"target"}).value_or("");
      w.description = target.empty() ? "fault" : "fault on " + target;
    }
    out.push_back(std::move(w));
  }
  std::stable_sort(out.begin(), out.end(), [](const FaultWindowMark& a, const FaultWindowMark& b) {
    return a.start_ns < b.start_ns;
  });
  return out;
}

std::vector<LagPoint> lag_points(const json& report) {
  std::vector<LagPoint> out;
  const json* lag = at(report, {"replication_lag"});
  if (!lag || !lag->is_array()) return out;
  for (const json& s : *lag) {
    std::optional<int64_t> ns = nanos_at(s, {"unix_nanos"});
    std::optional<double> writes = number_at(s, {"lag_writes"});
    if (!ns || !writes) continue;
    const json* epoch = at(s, {"epoch"});
    out.push_back({*ns, string_at(s, {"region"}).value_or(""), epoch ? show(epoch) : "",
                   std::max(0.0, *writes), number_at(s, {"lag_ms"})});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LagPoint& a, const LagPoint& b) { return a.ns < b.ns; });
  return out;
}

// The completion time of the first acknowledged write by `region` at or after `after_ns`.
std::optional<int64_t> first_ack_by(const std::vector<model::OpRecord>& history,
                                    const std::string& region, int64_t after_ns) {
  std::optional<int64_t> best;
  for (const auto& op : history) {
    if (op.outcome != model::Outcome::kOk || !model::is_write(op.kind) || op.region != region ||
        op.complete_ns < after_ns) {
      continue;
    }
    if (!best || op.complete_ns < *best) best = op.complete_ns;
  }
  return best;
}

// How many rotated marker labels fit side by side in the plot (one text height each: ~86).
constexpr size_t kMarkerLabelRoom =
    static_cast<size_t>((kPlotRight - kPlotLeft - 12) / kMarkerLabelGap) + 1;

// Which markers (sorted by time) get a label when there are more than kMarkerLabelRoom: every
// fault, promotion and route change first (what the RTO is read from), then drill steps spread
// evenly over the run; the others keep their line and its tooltip.
std::vector<bool> labelled_markers(const std::vector<Marker>& markers) {
  std::vector<bool> labelled(markers.size(), markers.size() <= kMarkerLabelRoom);
  if (markers.size() <= kMarkerLabelRoom) return labelled;
  std::vector<size_t> steps;
  size_t room = kMarkerLabelRoom;
  for (size_t i = 0; i < markers.size(); ++i) {
    if (markers[i].css == "mk-step") {
      steps.push_back(i);
    } else if (room > 0) {
      labelled[i] = true;
      --room;
    }
  }
  for (size_t k = 0; k < room && k < steps.size(); ++k) {
    // The k-th of `room` picks evenly spaced over the steps, the first and the last included.
    const size_t at = room == 1 ? 0 : k * (steps.size() - 1) / (room - 1);
    labelled[steps[at]] = true;
  }
  return labelled;
}

// ---- What the timeline shows ----------------------------------------------------------------

// The fault, the promotion, the route changes and the drill's Site Recovery / Backup steps.
std::vector<Marker> collect_markers(const json& report, const TimelineData& t,
                                    bool* any_step_marker) {
  std::vector<Marker> markers;
  if (t.fault_ns) {
    std::string kind = string_at(report, {"fault", "kind"}).value_or("");
    markers.push_back({*t.fault_ns, kind.empty() ? "fault" : "fault (" + kind + ")", "mk-fault"});
  }
  if (auto promoted_ns = nanos_at(report, {"failover", "promoted_unix_nanos"})) {
    std::string label = "epoch change";
    if (const json* e = at(report, {"failover", "new_epoch"})) label = "epoch " + show(e);
    if (t.new_region) label += ": " + *t.new_region + " promoted";
    markers.push_back({*promoted_ns, label, "mk-epoch"});
  }
  if (const json* events = at(report, {"routing_events"}); events && events->is_array()) {
    for (const json& e : *events) {
      if (string_at(e, {"kind"}).value_or("") != "route_changed") continue;
      std::optional<int64_t> ns = nanos_at(e, {"unix_nanos"});
      if (!ns) continue;
      std::string to = string_at(e, {"new_route"}).value_or("");
      std::string label = to.empty() ? "route changed" : "route \u2192 " + to;
      // A "change" to the same endpoint is the Traffic Manager failing open (every endpoint
      // Degraded); say so, with the reason's first clause.
      std::string reason = string_at(e, {"reason"}).value_or("");
      if (!to.empty() && string_at(e, {"old_route"}).value_or("") == to && !reason.empty()) {
        label += " (" + reason.substr(0, reason.find(':')) + ")";
      }
      markers.push_back({*ns, label, "mk-route"});
    }
  }
  // Site Recovery and Backup steps of the drill (protect, test failover, commit, re-protect,
  // failback, backups, soft delete, restore, ...): the runner names the ones that did something.
  if (const json* steps = at(report, {"steps"}); steps && steps->is_array()) {
    for (const json& step : *steps) {
      std::optional<std::string> mark = string_at(step, {"timeline"});
      std::optional<int64_t> ns = nanos_at(step, {"started_unix_nanos"});
      if (!mark || mark->empty() || !ns) continue;
      markers.push_back({*ns, *mark, "mk-step"});
      *any_step_marker = true;
    }
  }
  // By time; more markers than labels fit (a long drill of many steps): some keep only their
  // line, and the legend counts them.
  std::sort(markers.begin(), markers.end(),
            [](const Marker& a, const Marker& b) { return a.ns < b.ns; });
  return markers;
}

// RTO parts laid end to end from the fault. They are clamped at zero in the report, so their
// sum is the RTO; a missing part leaves the later ones without a start and unshown.
std::vector<Segment> rto_segments(const json& report, std::optional<int64_t> fault_ns) {
  std::vector<Segment> segments;
  if (!fault_ns) return segments;
  int64_t cursor = *fault_ns;
  for (const RtoPart& part : kRtoParts) {
    std::optional<double> ms = number_at(report, {"rto_parts_ms", part.key});
    if (!ms) break;
    int64_t end = cursor + static_cast<int64_t>(std::max(0.0, *ms) * 1e6);
    segments.push_back({cursor, end, fmt::format("{} {:.0f} ms", part.label, *ms), part.color});
    cursor = end;
  }
  return segments;
}

// The end of the outage: the first write the new region acknowledged (the RTO's end mark),
// from the history; failing that, from the reported RTO.
std::optional<int64_t> recovered_at(const json& report, const std::vector<model::OpRecord>& history,
                                    const TimelineData& t) {
  std::optional<int64_t> recovered;
  if (t.fault_ns && t.new_region) recovered = first_ack_by(history, *t.new_region, *t.fault_ns);
  if (t.fault_ns && !recovered) {
    if (auto rto = number_at(report, {"rto_ms"})) {
      recovered = *t.fault_ns + static_cast<int64_t>(*rto * 1e6);
    }
  }
  return recovered;
}

std::optional<int64_t> first_invoke(const std::vector<model::OpRecord>& history) {
  std::optional<int64_t> first;
  for (const auto& op : history) {
    if (op.invoke_ns > 0 && (!first || op.invoke_ns < *first)) first = op.invoke_ns;
  }
  return first;
}

// The earliest and latest thing that happened: the first operation to the last completion,
// marker, fault window end, recovery or RTO part (lag samples do not count: the sampler runs a
// little before and after the load, which is not news). Nothing when there is nothing.
std::optional<std::pair<int64_t, int64_t>> time_span(const std::vector<model::OpRecord>& history,
                                                     const TimelineData& t) {
  std::optional<int64_t> t0, t_end;
  auto widen = [&](int64_t ns) {
    if (!t0 || ns < *t0) t0 = ns;
    if (!t_end || ns > *t_end) t_end = ns;
  };
  for (const auto& op : history) {
    if (op.complete_ns > 0 && t.first_invoke && op.complete_ns >= *t.first_invoke) {
      widen(op.complete_ns);
    }
  }
  if (t.first_invoke) widen(*t.first_invoke);
  for (const auto& m : t.markers) widen(m.ns);
  // A fault may start before the load or outlast it.
  for (const auto& f : t.faults) {
    widen(f.start_ns);
    if (f.end_ns) widen(*f.end_ns);
  }
  if (t.recovered_ns) widen(*t.recovered_ns);
  for (const auto& s : t.segments) widen(s.end_ns);
  if (!t0) return std::nullopt;
  return std::pair{*t0, *t_end};
}

// Availability buckets from the first operation to `t_end`, as wide as it takes (1-2-5 steps
// from kBaseBucketNs: 100 ms, 200 ms, 500 ms, 1 s, 2 s...) to stay under kMaxBuckets.
void bucket_availability(TimelineData& t, const std::vector<model::OpRecord>& history,
                         int64_t t_end) {
  const int64_t span = t_end - *t.first_invoke;
  while (static_cast<uint64_t>(span / t.bucket_ns) >= kMaxBuckets) {
    t.bucket_ns = std::to_string(t.bucket_ns)[0] == '2' ? t.bucket_ns / 2 * 5 : t.bucket_ns * 2;
  }
  t.buckets = model::availability(history, *t.first_invoke, t.bucket_ns);
}

// Regions in order of their first acknowledged operation, so that the old region is at the
// bottom of each bar and keeps its colour from run to run.
std::vector<std::string> regions_by_first_ack(const std::vector<model::OpRecord>& history) {
  std::vector<std::string> regions;
  for (const auto& op : history) {
    if (op.outcome == model::Outcome::kOk &&
        std::find(regions.begin(), regions.end(), op.region) == regions.end()) {
      regions.push_back(op.region);
    }
  }
  return regions;
}

}  // namespace

// What to draw, or nothing when there is nothing at all (no operation and no mark).
std::optional<TimelineData> gather(const json& report,
                                   const std::vector<model::OpRecord>& history) {
  TimelineData t;
  t.fault_ns = nanos_at(report, {"fault", "unix_nanos"});
  t.new_region = string_at(report, {"failover", "new_active"});
  t.recovered_ns = recovered_at(report, history, t);
  t.markers = collect_markers(report, t, &t.any_step_marker);
  t.labelled = labelled_markers(t.markers);
  t.unlabelled_markers = std::count(t.labelled.begin(), t.labelled.end(), false);
  t.segments = rto_segments(report, t.fault_ns);
  t.first_invoke = first_invoke(history);
  t.faults = fault_windows(report);
  auto span = time_span(history, t);
  if (!span) return std::nullopt;
  const auto [t0, t_end] = *span;
  // Time zero is the first operation; without a history, the earliest mark.
  t.origin = t.first_invoke.value_or(t0);
  t.x_min = t0;
  t.x_max = std::max(t_end, t.x_min + 1'000'000);  // at least 1 ms wide
  if (t.first_invoke) bucket_availability(t, history, t_end);
  t.regions = regions_by_first_ack(history);
  for (auto& p : lag_points(report)) {
    if (p.ns >= t.x_min && p.ns <= t.x_max) t.lag.push_back(std::move(p));
  }
  return t;
}

namespace {

// ---- Where things go ------------------------------------------------------------------------

// Lays out the fault rows (Frame::x_of needs only the x range, set before).
std::vector<FaultRow> layout_fault_rows(const TimelineData& t, const Frame& f, size_t* row_count) {
  std::vector<FaultRow> fault_rows;
  std::vector<double> row_ends;  // right edge of what each row holds so far
  for (const auto& w : t.faults) {
    FaultRow r;
    r.x1 = std::min(f.x_of(w.start_ns), kPlotRight - 2);
    r.x2 = std::max(r.x1 + 2, w.end_ns ? f.x_of(*w.end_ns) : kPlotRight);
    const double from_s = static_cast<double>(w.start_ns - t.origin) / 1e9;
    r.full = w.end_ns ? fmt::format("{}: {:.2f} s \u2192 {:.2f} s ({:.0f} ms)", w.description,
                                    from_s, static_cast<double>(*w.end_ns - t.origin) / 1e9,
                                    static_cast<double>(*w.end_ns - w.start_ns) / 1e6)
                      : fmt::format("{}: {:.2f} s \u2192 end of the drill", w.description, from_s);
    r.text = utf8_truncate(w.description, kMaxFaultLabelChars);
    // On the bar from its start. Near the right edge a long label is shortened to the room
    // left, down to kMinFaultLabelChars; past that it moves left to stay inside the plot.
    const double room = kPlotRight - 2 - (r.x1 + 4);
    if (text_width(r.text) > room) {
      size_t fit = room > 0 ? static_cast<size_t>(room / kCharWidth) : 0;
      r.text = utf8_truncate(r.text, std::max(fit, kMinFaultLabelChars));
    }
    const double tw = text_width(r.text);
    r.label_x = std::max(kPlotLeft, std::min(r.x1 + 4, kPlotRight - 2 - tw));
    for (size_t i = 0; i < row_ends.size() && !r.row; ++i) {
      if (row_ends[i] + 10 <= std::min(r.x1, r.label_x)) r.row = i;
    }
    if (!r.row && row_ends.size() < kMaxFaultRows) {
      r.row = row_ends.size();
      row_ends.push_back(kPlotLeft);
    }
    if (r.row) row_ends[*r.row] = std::max(r.x2, r.label_x + tw);
    fault_rows.push_back(std::move(r));
  }
  *row_count = row_ends.size();
  return fault_rows;
}

}  // namespace

// From the top: the RTO lane (a label row per part, then its bar), the fault rows, the
// operations plot, the replication-lag panel (its title first).
Frame frame_for(const TimelineData& t, std::vector<FaultRow>* fault_rows) {
  Frame f;
  f.x_min = t.x_min;
  f.x_max = t.x_max;
  uint64_t y_top = 1;
  for (const auto& b : t.buckets) {
    model::OutcomeCounts c = b.total();
    y_top = std::max<uint64_t>(y_top, c.ok + c.fail + c.indeterminate);
  }
  f.y_step = std::max(1.0, nice_step(static_cast<double>(y_top), 5));
  // Headroom above the tallest bar keeps the top of the plot free for the marker labels.
  f.y_max = std::ceil(static_cast<double>(y_top) * 1.2 / f.y_step) * f.y_step;
  *fault_rows = layout_fault_rows(t, f, &f.fault_row_count);
  const double lane_rows = static_cast<double>(std::max<size_t>(t.segments.size(), 1));
  f.bar_top = kLaneTop + lane_rows * kLaneRowHeight + 4;
  f.faults_top = f.bar_top + 10 + 10;
  f.plot_top = f.faults_top + static_cast<double>(f.fault_row_count) * kFaultRowHeight +
               (t.faults.empty() ? 4 : 8);
  f.plot_bottom = f.plot_top + kPlotHeight;
  f.lag_title_y = f.plot_bottom + 22;
  f.lag_top = f.plot_bottom + 30;
  f.lag_bottom = f.lag_top + kLagPanelHeight;
  return f;
}

}  // namespace timeline

std::string render_timeline(const json& report, const std::vector<model::OpRecord>& history) {
  using namespace timeline;
  const std::optional<TimelineData> t = gather(report, history);
  if (!t) {
    return "<p class=\"muted\">No operations and no fault, failover or routing marks were "
           "recorded: nothing to draw.</p>";
  }
  std::vector<FaultRow> fault_rows;
  const Frame f = frame_for(*t, &fault_rows);
  double height = 0;
  const std::string legend = draw_legend(*t, f, &height);
  std::string svg;
  // No xmlns: inline SVG in HTML does not need one, and the page names no URL at all.
  append(svg,
         "<svg class=\"timeline\" viewBox=\"0 0 {:.0f} "
         "{:.0f}\" role=\"img\" aria-label=\"client operations over time\">",
         kSvgWidth, height);
  draw_axes(svg, *t, f);
  draw_faults(svg, fault_rows, f);
  draw_lag(svg, *t, f);
  draw_outage_and_bars(svg, *t, f);
  draw_markers(svg, *t, f);
  draw_rto_lane(svg, *t, f);
  svg += legend;
  svg += "</svg>";
  return svg;
}

}  // namespace drsim::cli::html
