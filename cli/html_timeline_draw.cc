// Drawing the timeline (cli/html_timeline_parts.h): each step appends its SVG for what
// gather() found at the places frame_for() chose.
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

namespace drsim::cli::html::timeline {

namespace {

// The x of each marker's (rotated) label, markers sorted by time: beside its line, at least
// kMarkerLabelGap after the previous label, and never past the plot's right edge — labels that
// would be pushed past it are laid out leftwards from it. Given at most kMarkerLabelRoom
// markers (labelled_markers chooses), no two labels overlap.
template <typename XOf>
std::vector<double> marker_label_xs(const std::vector<Marker>& markers, XOf x_of) {
  std::vector<double> xs;
  for (const auto& m : markers) {
    double x = x_of(m.ns) + 13;  // the text's baseline; glyphs sit to its left, beside the line
    if (!xs.empty()) x = std::max(x, xs.back() + kMarkerLabelGap);
    xs.push_back(x);
  }
  double limit = kPlotRight - 2;
  for (size_t i = xs.size(); i-- > 0;) {
    xs[i] = std::min(xs[i], limit);
    limit = xs[i] - kMarkerLabelGap;
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = std::max(xs[i], i == 0 ? kPlotLeft + 12 : xs[i - 1] + kMarkerLabelGap);
  }
  return xs;
}

}  // namespace

namespace {

struct LegendItem {
  std::string kind;  // "box", "band", or a marker css class
  std::string color;
  std::string text;
};

// What the legend explains, in order: the bars' colours, then the bands, markers and lag line
// this timeline shows.
std::vector<LegendItem> legend_items(const TimelineData& t) {
  std::vector<LegendItem> legend;
  for (const auto& r : t.regions) {
    legend.push_back({"box", t.region_color(r), "acknowledged by " + region_label(r)});
  }
  legend.push_back({"box", kFailColor, "failed"});
  legend.push_back({"box", kIndeterminateColor, "indeterminate"});
  if (t.fault_ns) {
    legend.push_back({"band", "",
                      "outage: fault \u2192 first write acknowledged by " +
                          t.new_region.value_or("the new region")});
  }
  if (!t.faults.empty()) legend.push_back({"fault-band", "", "injected fault in force"});
  legend.push_back({"mk-fault", "", "fault"});
  legend.push_back({"mk-epoch", "", "epoch change (promotion)"});
  legend.push_back({"mk-route", "", "routing change"});
  if (t.any_step_marker) {
    legend.push_back(
        {"mk-step", "",
         t.unlabelled_markers == 0
             ? "Site Recovery / Backup step"
             : fmt::format("Site Recovery / Backup step ({} unlabelled: more than fit; "
                           "hover a line for its step)",
                           t.unlabelled_markers)});
  }
  if (!t.lag.empty()) {
    legend.push_back({"lag", "", "replication lag (line in the active region\u2019s colour)"});
  }
  return legend;
}

// One item's swatch and text at (lx, ly), the text's baseline.
void draw_legend_item(std::string& svg, const TimelineData& t, const LegendItem& item, double lx,
                      double ly) {
  if (item.kind == "box") {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"18\" height=\"12\" fill=\"{}\"/>",
                       lx, ly - 10, item.color);
  } else if (item.kind == "band" || item.kind == "fault-band") {
    svg += fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"18\" height=\"12\"/>",
                       item.kind, lx, ly - 10);
  } else if (item.kind == "lag") {
    svg += fmt::format(
        "<polyline class=\"lag-line\" stroke=\"{}\" points=\"{:.1f},{:.1f} {:.1f},{:.1f} "
        "{:.1f},{:.1f} {:.1f},{:.1f}\"/>",
        t.regions.empty() ? kRegionColors[0] : t.region_color(t.regions.front()), lx, ly - 2,
        lx + 6, ly - 9, lx + 12, ly - 5, lx + 18, ly - 10);
  } else {
    svg +=
        fmt::format("<line class=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
                    item.kind, lx + 9, ly - 12, lx + 9, ly + 4);
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>", lx + 24, ly, esc(item.text));
}

}  // namespace

// The legend below the x axis, wrapped; sets `height` to the whole drawing's.
std::string draw_legend(const TimelineData& t, const Frame& f, double* height) {
  const double legend_top = f.lag_bottom + 52;
  double lx = kPlotLeft, ly = legend_top;
  std::string legend_svg;
  for (const auto& item : legend_items(t)) {
    double w = 24 + static_cast<double>(item.text.size()) * kCharWidth + 16;
    if (lx + w > kPlotRight && lx > kPlotLeft) {
      lx = kPlotLeft;
      ly += 20;
    }
    draw_legend_item(legend_svg, t, item, lx, ly);
    lx += w;
  }
  *height = ly + 14;
  return legend_svg;
}

// The operations plot's background, y grid and title; the lag panel's background; the x
// ticks (seconds since the first operation: the grid runs through both panels, the labels go
// once under the lag panel) and title.
void draw_axes(std::string& svg, const TimelineData& t, const Frame& f) {
  const double plot_w = kPlotRight - kPlotLeft;
  append(svg,
         "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"plot-bg\"/>",
         kPlotLeft, f.plot_top, plot_w, kPlotHeight);
  for (double v = 0; v <= f.y_max + 1e-9; v += f.y_step) {
    double y = f.y_of(v);
    append(svg, "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
           kPlotLeft, y, kPlotRight, y);
    append(svg, "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}</text>",
           kPlotLeft - 6, y + 4, v);
  }
  append(svg,
         "<text class=\"axis-title\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
         "text-anchor=\"middle\">operations per {}</text>",
         (f.plot_top + f.plot_bottom) / 2, fmt_bucket(t.bucket_ns));

  append(svg,
         "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"plot-bg\"/>",
         kPlotLeft, f.lag_top, plot_w, kLagPanelHeight);
  const double s_min = static_cast<double>(f.x_min - t.origin) / 1e9;
  const double s_max = static_cast<double>(f.x_max - t.origin) / 1e9;
  const double x_step = nice_step(s_max - s_min, 10);
  for (double s = std::ceil(s_min / x_step - 1e-9) * x_step; s <= s_max + 1e-9; s += x_step) {
    double x = f.x_of(t.origin + static_cast<int64_t>(std::llround(s * 1e9)));
    for (auto [y1, y2] :
         {std::pair{f.plot_top, f.plot_bottom}, std::pair{f.lag_top, f.lag_bottom}}) {
      append(svg, "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
             x, y1, x, y2);
      append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
             x, y2, x, y2 + 5);
    }
    append(svg, "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>",
           x, f.lag_bottom + 18, fmt_seconds(std::abs(s) < 1e-9 ? 0.0 : s, x_step));
  }
  append(svg,
         "<text class=\"axis-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">seconds "
         "since the first operation</text>",
         (kPlotLeft + kPlotRight) / 2, f.lag_bottom + 36);
}

// Injected faults: a band across both panels for each window, under everything else (bands of
// overlapping faults add up), and the labelled bars in their rows above the plot. Bands first,
// then bars, then labels: nothing drawn later covers a label.
void draw_faults(std::string& svg, const std::vector<FaultRow>& fault_rows, const Frame& f) {
  if (!fault_rows.empty()) {
    append(svg,
           "<text class=\"lane-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">faults</text>",
           kPlotLeft - 6, f.faults_top + 12);
  }
  std::string fault_bars, fault_labels, unlabelled;
  size_t unlabelled_count = 0;
  for (const FaultRow& r : fault_rows) {
    const double w = std::max(2.0, std::min(r.x2, kPlotRight) - r.x1);
    for (auto [y1, y2] :
         {std::pair{f.plot_top, f.plot_bottom}, std::pair{f.lag_top, f.lag_bottom}}) {
      append(svg,
             "<rect class=\"fault-band\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
             "height=\"{:.1f}\"><title>{}</title></rect>",
             r.x1, y1, w, y2 - y1, esc(r.full));
    }
    if (!r.row) {
      unlabelled += (unlabelled_count++ ? "\n" : "") + r.full;
      continue;
    }
    const double row_top = f.faults_top + static_cast<double>(*r.row) * kFaultRowHeight;
    append(fault_bars,
           "<rect class=\"fault-bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
           "height=\"{:.1f}\"><title>{}</title></rect>",
           r.x1, row_top + 1, w, kFaultRowHeight - 3, esc(r.full));
    append(fault_labels,
           "<text class=\"fault-label\" x=\"{:.1f}\" y=\"{:.1f}\"><title>{}</title>{}</text>",
           r.label_x, row_top + 12.5, esc(r.full), esc(r.text));
  }
  svg += fault_bars;
  svg += fault_labels;
  if (unlabelled_count) {
    append(svg,
           "<text class=\"muted-svg fault-more\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">"
           "<title>{}</title>+{} more</text>",
           kPlotLeft - 6,
           f.faults_top + static_cast<double>(f.fault_row_count) * kFaultRowHeight - 4,
           esc(unlabelled), unlabelled_count);
  }
}

namespace {

// The lag panel's y scale: the samples' peak (writes, and ms behind when known), a tick step
// and the top of the axis.
struct LagScale {
  double peak = 0;
  std::optional<double> peak_ms;
  double step = 1;
  double max = 1;
  double y(const Frame& f, double v) const { return f.lag_bottom - v / max * kLagPanelHeight; }
};

LagScale lag_scale(const std::vector<LagPoint>& lag) {
  LagScale s;
  for (const auto& p : lag) {
    s.peak = std::max(s.peak, p.writes);
    if (p.ms) s.peak_ms = std::max(s.peak_ms.value_or(0.0), *p.ms);
  }
  s.step = std::max(1.0, nice_step(s.peak, 2));
  s.max = std::max(s.step, std::ceil(s.peak * 1.1 / s.step) * s.step);
  return s;
}

// The panel's title with the peak, its y ticks and grid, and the y axis's title.
void draw_lag_scale(std::string& svg, const LagScale& scale, const Frame& f) {
  append(svg,
         "<text x=\"{:.1f}\" y=\"{:.1f}\"><tspan class=\"lane-title\">Replication lag</tspan> "
         "of the active region, writes not yet on the standby (all workloads): peak {:.0f} "
         "write{}{}</text>",
         kPlotLeft, f.lag_title_y, scale.peak, scale.peak == 1 ? "" : "s",
         scale.peak_ms ? fmt::format(", max {:.1f} ms behind", *scale.peak_ms) : std::string());
  const long n_ticks = std::lround(scale.max / scale.step);
  for (long i = 0; i <= n_ticks; ++i) {
    const double v = static_cast<double>(i) * scale.step, y = scale.y(f, v);
    if (i > 0) {
      append(svg, "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
             kPlotLeft, y, kPlotRight, y);
    }
    append(svg,
           "<text class=\"tick{}\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}</text>",
           i == n_ticks ? " lag-max" : "", kPlotLeft - 6, y + 4, v);
  }
  append(svg,
         "<text class=\"axis-title\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
         "text-anchor=\"middle\">writes behind</text>",
         (f.lag_top + f.lag_bottom) / 2);
}

// The samples of one (region, epoch).
struct LagSeries {
  std::string region, epoch;
  std::vector<const LagPoint*> points;
};

// Series in order of their first sample; a sample of a (region, epoch) already seen (the old
// region answering again as active after a heal) continues that series.
std::vector<LagSeries> lag_series(const std::vector<LagPoint>& lag) {
  std::vector<LagSeries> series;
  for (const auto& p : lag) {
    auto it = std::find_if(series.begin(), series.end(), [&](const LagSeries& s) {
      return s.region == p.region && s.epoch == p.epoch;
    });
    if (it == series.end()) {
      series.push_back({p.region, p.epoch, {}});
      it = std::prev(series.end());
    }
    it->points.push_back(&p);
  }
  return series;
}

// The hover text of a series named `name`: its time span, samples and peak.
std::string lag_series_tip(const TimelineData& t, const LagSeries& s, const std::string& name) {
  double s_peak = 0;
  for (const LagPoint* p : s.points) s_peak = std::max(s_peak, p->writes);
  return fmt::format(
      "replication lag of {}: {:.1f} s \u2192 {:.1f} s, {} sample{}, peak {:.0f} write{}", name,
      static_cast<double>(s.points.front()->ns - t.origin) / 1e9,
      static_cast<double>(s.points.back()->ns - t.origin) / 1e9, s.points.size(),
      s.points.size() == 1 ? "" : "s", s_peak, s_peak == 1 ? "" : "s");
}

// A series as runs of samples no more than kLagGapNs apart: a polyline each, a dot for a run of
// one sample.
void draw_lag_runs(std::string& lines, const LagSeries& s, const std::string& color,
                   const std::string& tip, const LagScale& scale, const Frame& f) {
  size_t begin = 0;
  for (size_t i = 1; i <= s.points.size(); ++i) {
    if (i < s.points.size() && s.points[i]->ns - s.points[i - 1]->ns <= kLagGapNs) continue;
    if (i - begin == 1) {
      const LagPoint& p = *s.points[begin];
      append(lines,
             "<circle class=\"lag-dot\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\" fill=\"{}\">"
             "<title>{}</title></circle>",
             f.x_of(p.ns), scale.y(f, p.writes), color, esc(tip));
    } else {
      std::string points;
      for (size_t k = begin; k < i; ++k) {
        append(points, "{}{:.1f},{:.1f}", k == begin ? "" : " ", f.x_of(s.points[k]->ns),
               scale.y(f, s.points[k]->writes));
      }
      append(lines,
             "<polyline class=\"lag-line\" stroke=\"{}\" points=\"{}\"><title>{}</title>"
             "</polyline>",
             color, points, esc(tip));
    }
    begin = i;
  }
}

// The series' labels at their first samples, over the lines; a label that would run into the
// previous one goes a row lower (three rows, then back to the top).
class LagLabels {
 public:
  void add(const std::string& text, double x, const std::string& color, const Frame& f) {
    const double tw = text_width(text);
    double label_x = std::min(x + 4, kPlotRight - 4 - tw);
    row_ = last_end_ && label_x < *last_end_ + 8 ? (row_ + 1) % 3 : 0;
    last_end_ = label_x + tw;
    append(svg_,
           "<text class=\"mk-label lag-label\" x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text>",
           label_x, f.lag_top + 14 + row_ * 15, color, esc(text));
  }
  const std::string& svg() const { return svg_; }

 private:
  std::string svg_;
  std::optional<double> last_end_;
  int row_ = 0;
};

}  // namespace

// Replication lag of the active region: one line per (region, epoch) so that a promotion
// shows as a change of colour with a mark, broken where the samples stop for a while. The
// axes go first: a lag of zero is a line on the x axis, and must stay visible.
void draw_lag(std::string& svg, const TimelineData& t, const Frame& f) {
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, f.lag_bottom, kPlotRight, f.lag_bottom);
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, f.lag_top, kPlotLeft, f.lag_bottom);
  if (t.lag.empty()) {
    append(svg,
           "<text class=\"lane-title\" x=\"{:.1f}\" y=\"{:.1f}\">Replication lag</text>"
           "<text class=\"muted-svg\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">"
           "no replication lag samples</text>",
           kPlotLeft, f.lag_title_y, (kPlotLeft + kPlotRight) / 2,
           (f.lag_top + f.lag_bottom) / 2 + 4);
    return;
  }
  const LagScale scale = lag_scale(t.lag);
  draw_lag_scale(svg, scale, f);
  const std::vector<LagSeries> series = lag_series(t.lag);
  std::string lines;
  LagLabels labels;  // last, over every line
  for (size_t si = 0; si < series.size(); ++si) {
    const LagSeries& s = series[si];
    const std::string color = t.region_color(s.region);
    const std::string name =
        region_label(s.region) + (s.epoch.empty() ? "" : " \u00b7 epoch " + s.epoch);
    draw_lag_runs(lines, s, color, lag_series_tip(t, s, name), scale, f);
    // Where the series starts: the first region plainly, each later one (a region change or an
    // epoch change) with a mark at its first sample.
    const double x = f.x_of(s.points.front()->ns);
    if (si > 0) {
      append(lines,
             "<line class=\"lag-epoch\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\">"
             "<title>{}</title></line>",
             x, f.lag_top, x, f.lag_bottom, esc("active from here: " + name));
    }
    labels.add(si > 0 ? "\u2192 " + name : name, x, color, f);
  }
  svg += lines;
  svg += labels.svg();
}

// The outage band (fault to the new region's first ack), under the bars; then the stacked
// bars: acknowledged by region (bottom, in region order), failed, indeterminate. A <title> per
// bar gives the exact counts on hover, without a script.
void draw_outage_and_bars(std::string& svg, const TimelineData& t, const Frame& f) {
  if (t.fault_ns) {
    double x1 = f.x_of(*t.fault_ns);
    double x2 = t.recovered_ns ? f.x_of(*t.recovered_ns) : kPlotRight;
    append(svg,
           "<rect class=\"band\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">"
           "<title>{}</title></rect>",
           x1, f.plot_top, std::max(1.0, x2 - x1), kPlotHeight,
           esc(t.recovered_ns ? fmt::format("outage: {:.0f} ms from the fault to the first write "
                                            "acknowledged by {}",
                                            (*t.recovered_ns - *t.fault_ns) / 1e6,
                                            t.new_region.value_or("the new region"))
                              : std::string("outage: no write acknowledged by the new region")));
  }
  for (const auto& b : t.buckets) {
    model::OutcomeCounts c = b.total();
    if (c.ok + c.fail + c.indeterminate == 0) continue;
    // The last bucket runs past the last completion: clip it at the plot's edge.
    double x1 = f.x_of(b.start_ns), x2 = std::min(kPlotRight, f.x_of(b.start_ns + t.bucket_ns));
    double gap = (x2 - x1) > 4 ? 1 : 0;
    double w = std::max(0.5, x2 - x1 - gap);
    std::string tip = fmt::format("{:.1f}\u2013{:.1f} s:", (b.start_ns - t.origin) / 1e9,
                                  (b.start_ns + t.bucket_ns - t.origin) / 1e9);
    append(svg, "<g>");
    double level = 0;
    auto stack = [&](uint64_t n, const std::string& color) {
      if (n == 0) return;
      double y1 = f.y_of(level + static_cast<double>(n));
      append(svg,
             "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>", x1,
             y1, w, f.y_of(level) - y1, color);
      level += static_cast<double>(n);
    };
    for (const auto& r : t.regions) {
      auto it = b.by_region.find(r);
      uint64_t n = it == b.by_region.end() ? 0 : it->second.ok;
      stack(n, t.region_color(r));
      if (n) tip += fmt::format(" {} ok {},", region_label(r), n);
    }
    stack(c.fail, kFailColor);
    stack(c.indeterminate, kIndeterminateColor);
    tip += fmt::format(" failed {}, indeterminate {}", c.fail, c.indeterminate);
    append(svg, "<title>{}</title></g>", esc(tip));
  }
}

// Markers over the bars, then the plot's axes. Labels run down beside their line, in the
// line's colour; marks a few ms apart (promotion, then routing; a run of drill steps) would put
// labels on top of each other, so a label that would overlap the previous one moves right by
// one text height. Near the end of the run the labels pile up against the right edge instead:
// there they are laid out from the edge leftwards, still one text height apart.
void draw_markers(std::string& svg, const TimelineData& t, const Frame& f) {
  std::vector<Marker> with_label;
  for (size_t i = 0; i < t.markers.size(); ++i) {
    if (t.labelled[i]) with_label.push_back(t.markers[i]);
  }
  const std::vector<double> label_xs =
      marker_label_xs(with_label, [&](int64_t ns) { return f.x_of(ns); });
  std::string labels;  // drawn after every line, so that no line crosses a label's halo
  size_t next_label = 0;
  for (size_t i = 0; i < t.markers.size(); ++i) {
    const Marker& m = t.markers[i];
    double x = f.x_of(m.ns);
    append(svg,
           "<line class=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\">"
           "<title>{}</title></line>",
           m.css, x, f.plot_top, x, f.plot_bottom, esc(m.label));
    if (!t.labelled[i]) continue;
    append(labels,
           "<text class=\"mk-label {}\" transform=\"translate({:.1f} {:.1f}) "
           "rotate(-90)\" text-anchor=\"end\">{}</text>",
           m.css, label_xs[next_label++], f.plot_top + 6, esc(m.label));
  }
  svg += labels;
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, f.plot_bottom, kPlotRight, f.plot_bottom);
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, f.plot_top, kPlotLeft, f.plot_bottom);
}

// RTO parts along the top: a bar of segments, each labelled on its own row so that short parts
// (promotion takes a few ms) stay readable.
void draw_rto_lane(std::string& svg, const TimelineData& t, const Frame& f) {
  append(svg, "<text class=\"lane-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">RTO</text>",
         kPlotLeft - 6, f.bar_top + 9);
  if (t.segments.empty()) {
    append(svg, "<text class=\"muted-svg\" x=\"{:.1f}\" y=\"{:.1f}\">RTO parts not measured</text>",
           kPlotLeft + 4, f.bar_top + 9);
  }
  for (size_t i = 0; i < t.segments.size(); ++i) {
    const Segment& s = t.segments[i];
    double x1 = f.x_of(s.start_ns), x2 = f.x_of(s.end_ns);
    double w = std::max(2.0, x2 - x1);
    append(svg,
           "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"10\" fill=\"{}\">"
           "<title>{}</title></rect>",
           x1, f.bar_top, w, s.color, esc(s.label));
    double row_y = kLaneTop + (static_cast<double>(i) + 1) * kLaneRowHeight - 3;
    double text_w = static_cast<double>(s.label.size()) * kCharWidth;
    bool fits_right = x1 + 8 + text_w <= kPlotRight;
    double lead_x = x1 + std::min(w, 2.0) / 2;
    append(svg,
           "<line class=\"lead\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
           "stroke=\"{}\"/>",
           lead_x, row_y - 9, lead_x, f.bar_top, s.color);
    append(svg, "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"8\" height=\"8\" fill=\"{}\"/>",
           fits_right ? lead_x + 3 : lead_x - 11, row_y - 8, s.color);
    append(svg, "<text class=\"lane-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{}</text>",
           fits_right ? lead_x + 14 : lead_x - 14, row_y, fits_right ? "start" : "end",
           esc(s.label));
  }
}

}  // namespace drsim::cli::html::timeline
