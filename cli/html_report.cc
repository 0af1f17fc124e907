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

#include "common/core/time.h"
#include "common/model/drill/history_checker.h"

namespace drsim::cli {

using nlohmann::json;

namespace {

// ---- JSON access that never throws ---------------------------------------------------------
// A report may come from an older drill, a failed one, or a hand-written file: every field is
// looked up defensively and a missing or mistyped one is treated as absent.

const json* at(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* key : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

std::optional<double> number_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

// Unix nanoseconds; 0 (the demo's "did not happen") and negatives are absent.
std::optional<int64_t> nanos_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_number()) return std::nullopt;
  int64_t ns = v->is_number_float() ? static_cast<int64_t>(v->get<double>()) : v->get<int64_t>();
  if (ns <= 0) return std::nullopt;
  return ns;
}

std::optional<std::string> string_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<bool> bool_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

// Any JSON value as text for a person (not yet escaped).
std::string show(const json* v) {
  if (!v || v->is_null()) return "n/a";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "yes" : "no";
  if (v->is_number_float()) return fmt::format("{:g}", v->get<double>());
  return v->dump();
}

std::string show_ms(std::optional<double> ms) { return ms ? fmt::format("{:.0f} ms", *ms) : "n/a"; }

std::string esc(const std::string& s) { return html_escape(s); }

template <typename... Args>
void append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  out += fmt::format(format, std::forward<Args>(args)...);
}

// ---- Timeline geometry ---------------------------------------------------------------------

constexpr double kSvgWidth = 1300;
constexpr double kPlotLeft = 64;
constexpr double kPlotRight = kSvgWidth - 24;
constexpr double kLaneTop = 8;  // RTO parts lane: one label row per part, then the bar
constexpr double kLaneRowHeight = 15;
constexpr double kPlotHeight = 300;
constexpr double kMarkerLabelGap = 14;  // between rotated marker labels: one text height
constexpr double kCharWidth = 6.6;  // 12 px sans-serif, an estimate for label placement
// Injected faults: a labelled bar each in rows above the plot, stacked so that no two overlap;
// labels are cut at kMaxFaultLabelChars (the full text is in a <title> tooltip), and faults
// beyond kMaxFaultRows rows keep only their band and are counted as "+N more".
constexpr double kFaultRowHeight = 17;
constexpr size_t kMaxFaultRows = 6;
constexpr size_t kMaxFaultLabelChars = 70;
constexpr size_t kMinFaultLabelChars = 24;
// The replication-lag panel under the operations plot, on the same x axis.
constexpr double kLagPanelHeight = 96;
// Samples come every 200 ms; a longer silence (region down, status call timing out) breaks
// the line instead of drawing a straight line across what was not measured.
constexpr int64_t kLagGapNs = 1'000'000'000;
constexpr int64_t kBaseBucketNs = 100'000'000;
// Long drills widen the buckets so that bars stay at least ~2 px wide.
constexpr size_t kMaxBuckets = 600;

const char* const kRegionColors[] = {"#4e79a7", "#59a14f", "#76b7b2", "#b07aa1",
                                     "#9c755f", "#edc948", "#ff9da7", "#bab0ac"};
constexpr const char* kFailColor = "#e15759";
constexpr const char* kIndeterminateColor = "#f28e2b";
constexpr const char* kNoRegionOkColor = "#8c8c8c";

struct RtoPart {
  const char* key;  // in report["rto_parts_ms"]
  const char* label;
  const char* color;
};
constexpr RtoPart kRtoParts[] = {{"detection", "detection", "#d37295"},
                                 {"promotion", "promotion", "#8cd17d"},
                                 {"routing", "routing", "#499894"},
                                 {"client_deadline", "client deadline", "#b6992d"},
                                 {"client_ttl", "client TTL", "#86bcb6"}};

struct Marker {
  int64_t ns = 0;
  std::string label;
  std::string css;  // class of the line
};

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

std::string region_label(const std::string& region) {
  return region.empty() ? "(no region)" : region;
}

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

double text_width(const std::string& s) { return static_cast<double>(utf8_length(s)) * kCharWidth; }

// One entry of report["faults"]: an injected fault and the window it was in force.
struct FaultWindowMark {
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // absent: in force until the end of the drill
  std::string description;
};

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

// One entry of report["replication_lag"]: the active region's lag at one moment.
struct LagPoint {
  int64_t ns = 0;
  std::string region;
  std::string epoch;  // as shown; only compared for equality
  double writes = 0;
  std::optional<double> ms;
};

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

std::string render_timeline(const json& report, const std::vector<model::OpRecord>& history) {
  const std::optional<int64_t> fault_ns = nanos_at(report, {"fault", "unix_nanos"});
  const std::optional<std::string> new_region = string_at(report, {"failover", "new_active"});
  const std::optional<int64_t> promoted_ns = nanos_at(report, {"failover", "promoted_unix_nanos"});

  // The end of the outage: the first write the new region acknowledged (the RTO's end mark),
  // from the history; failing that, from the reported RTO.
  std::optional<int64_t> recovered_ns;
  if (fault_ns && new_region) recovered_ns = first_ack_by(history, *new_region, *fault_ns);
  if (fault_ns && !recovered_ns) {
    if (auto rto = number_at(report, {"rto_ms"})) {
      recovered_ns = *fault_ns + static_cast<int64_t>(*rto * 1e6);
    }
  }

  std::vector<Marker> markers;
  if (fault_ns) {
    std::string kind = string_at(report, {"fault", "kind"}).value_or("");
    markers.push_back({*fault_ns, kind.empty() ? "fault" : "fault (" + kind + ")", "mk-fault"});
  }
  if (promoted_ns) {
    std::string label = "epoch change";
    if (const json* e = at(report, {"failover", "new_epoch"})) label = "epoch " + show(e);
    if (new_region) label += ": " + *new_region + " promoted";
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
  bool any_step_marker = false;
  if (const json* steps = at(report, {"steps"}); steps && steps->is_array()) {
    for (const json& step : *steps) {
      std::optional<std::string> mark = string_at(step, {"timeline"});
      std::optional<int64_t> ns = nanos_at(step, {"started_unix_nanos"});
      if (!mark || mark->empty() || !ns) continue;
      markers.push_back({*ns, *mark, "mk-step"});
      any_step_marker = true;
    }
  }
  // By time; more markers than labels fit (a long drill of many steps): some keep only their
  // line, and the legend counts them.
  std::sort(markers.begin(), markers.end(),
            [](const Marker& a, const Marker& b) { return a.ns < b.ns; });
  const std::vector<bool> labelled = labelled_markers(markers);
  const auto unlabelled_markers = std::count(labelled.begin(), labelled.end(), false);

  // RTO parts laid end to end from the fault. They are clamped at zero in the report, so
  // their sum is the RTO; a missing part leaves the later ones without a start and unshown.
  struct Segment {
    int64_t start_ns, end_ns;
    std::string label;
    const char* color;
  };
  std::vector<Segment> segments;
  if (fault_ns) {
    int64_t cursor = *fault_ns;
    for (const RtoPart& part : kRtoParts) {
      std::optional<double> ms = number_at(report, {"rto_parts_ms", part.key});
      if (!ms) break;
      int64_t end = cursor + static_cast<int64_t>(std::max(0.0, *ms) * 1e6);
      segments.push_back({cursor, end, fmt::format("{} {:.0f} ms", part.label, *ms), part.color});
      cursor = end;
    }
  }

  // x range: the first operation (time zero) to the last thing that happened.
  std::optional<int64_t> t0, t_end;
  auto widen = [&](int64_t ns) {
    if (!t0 || ns < *t0) t0 = ns;
    if (!t_end || ns > *t_end) t_end = ns;
  };
  std::optional<int64_t> first_invoke;
  for (const auto& op : history) {
    if (op.invoke_ns > 0 && (!first_invoke || op.invoke_ns < *first_invoke)) {
      first_invoke = op.invoke_ns;
    }
  }
  for (const auto& op : history) {
    if (op.complete_ns > 0 && first_invoke && op.complete_ns >= *first_invoke) {
      widen(op.complete_ns);
    }
  }
  if (first_invoke) widen(*first_invoke);
  for (const auto& m : markers) widen(m.ns);
  // Fault windows widen the range (a fault may start before the load or outlast it); lag
  // samples do not: the sampler runs a little before and after the load, which is not news.
  const std::vector<FaultWindowMark> faults = fault_windows(report);
  for (const auto& f : faults) {
    widen(f.start_ns);
    if (f.end_ns) widen(*f.end_ns);
  }
  if (recovered_ns) widen(*recovered_ns);
  for (const auto& s : segments) widen(s.end_ns);
  if (!t0) {
    return "<p class=\"muted\">No operations and no fault, failover or routing marks were "
           "recorded: nothing to draw.</p>";
  }
  // Time zero is the first operation; without a history, the earliest mark.
  const int64_t origin = first_invoke.value_or(*t0);
  const int64_t x_min = *t0;
  const int64_t x_max = std::max(*t_end, x_min + 1'000'000);  // at least 1 ms wide
  const double plot_w = kPlotRight - kPlotLeft;
  auto x_of = [&](int64_t ns) {
    return kPlotLeft +
           static_cast<double>(ns - x_min) / static_cast<double>(x_max - x_min) * plot_w;
  };

  // Availability buckets from the first operation.
  int64_t bucket_ns = kBaseBucketNs;
  std::vector<model::Bucket> buckets;
  if (first_invoke) {
    const int64_t span = *t_end - *first_invoke;
    while (static_cast<uint64_t>(span / bucket_ns) >= kMaxBuckets) {
      // 1-2-5 steps: 100 ms, 200 ms, 500 ms, 1 s, 2 s...
      bucket_ns = std::to_string(bucket_ns)[0] == '2' ? bucket_ns / 2 * 5 : bucket_ns * 2;
    }
    buckets = model::availability(history, *first_invoke, bucket_ns);
  }
  // Regions in order of their first acknowledged operation, so that the old region is at the
  // bottom of each bar and keeps its colour from run to run.
  std::vector<std::string> regions;
  for (const auto& op : history) {
    if (op.outcome == model::Outcome::kOk &&
        std::find(regions.begin(), regions.end(), op.region) == regions.end()) {
      regions.push_back(op.region);
    }
  }
  auto region_color = [&](const std::string& r) -> std::string {
    if (r.empty()) return kNoRegionOkColor;
    size_t i = std::find(regions.begin(), regions.end(), r) - regions.begin();
    size_t named = 0;
    for (size_t k = 0; k < i; ++k) named += regions[k].empty() ? 0 : 1;
    return kRegionColors[named % std::size(kRegionColors)];
  };
  uint64_t y_top = 1;
  for (const auto& b : buckets) {
    model::OutcomeCounts t = b.total();
    y_top = std::max<uint64_t>(y_top, t.ok + t.fail + t.indeterminate);
  }
  const double y_step = std::max(1.0, nice_step(static_cast<double>(y_top), 5));
  // Headroom above the tallest bar keeps the top of the plot free for the marker labels.
  const double y_max = std::ceil(static_cast<double>(y_top) * 1.2 / y_step) * y_step;

  // Fault rows: each fault is a bar over its window with its description on it, in the first
  // row where neither overlaps what is already there. Past kMaxFaultRows a fault gets no row:
  // its band and tooltip remain, and the lane says how many went unlabelled.
  struct FaultRow {
    double x1 = 0, x2 = 0, label_x = 0;
    std::optional<size_t> row;
    std::string text, full;
  };
  std::vector<FaultRow> fault_rows;
  std::vector<double> row_ends;  // right edge of what each row holds so far
  for (const auto& f : faults) {
    FaultRow r;
    r.x1 = std::min(x_of(f.start_ns), kPlotRight - 2);
    r.x2 = std::max(r.x1 + 2, f.end_ns ? x_of(*f.end_ns) : kPlotRight);
    const double from_s = static_cast<double>(f.start_ns - origin) / 1e9;
    r.full = f.end_ns ? fmt::format("{}: {:.2f} s \u2192 {:.2f} s ({:.0f} ms)", f.description,
                                    from_s, static_cast<double>(*f.end_ns - origin) / 1e9,
                                    static_cast<double>(*f.end_ns - f.start_ns) / 1e6)
                      : fmt::format("{}: {:.2f} s \u2192 end of the drill", f.description, from_s);
    r.text = utf8_truncate(f.description, kMaxFaultLabelChars);
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

  const double lane_rows = static_cast<double>(std::max<size_t>(segments.size(), 1));
  const double bar_top = kLaneTop + lane_rows * kLaneRowHeight + 4;
  const double faults_top = bar_top + 10 + 10;
  const double plot_top = faults_top + static_cast<double>(row_ends.size()) * kFaultRowHeight +
                          (faults.empty() ? 4 : 8);
  const double plot_bottom = plot_top + kPlotHeight;
  auto y_of = [&](double v) { return plot_bottom - v / y_max * kPlotHeight; };
  // The replication-lag panel: its title, then the panel; the x tick labels go under it.
  const double lag_title_y = plot_bottom + 22;
  const double lag_top = plot_bottom + 30;
  const double lag_bottom = lag_top + kLagPanelHeight;
  std::vector<LagPoint> lag;
  for (auto& p : lag_points(report)) {
    if (p.ns >= x_min && p.ns <= x_max) lag.push_back(std::move(p));
  }

  std::string svg;

  // Legend entries, laid out (and wrapped) below the x axis.
  struct LegendItem {
    std::string kind;  // "box", "band", or a marker css class
    std::string color;
    std::string text;
  };
  std::vector<LegendItem> legend;
  for (const auto& r : regions) {
    legend.push_back({"box", region_color(r), "acknowledged by " + region_label(r)});
  }
  legend.push_back({"box", kFailColor, "failed"});
  legend.push_back({"box", kIndeterminateColor, "indeterminate"});
  if (fault_ns) {
    legend.push_back({"band", "",
                      "outage: fault \u2192 first write acknowledged by " +
                          new_region.value_or("the new region")});
  }
  if (!faults.empty()) legend.push_back({"fault-band", "", "injected fault in force"});
  legend.push_back({"mk-fault", "", "fault"});
  legend.push_back({"mk-epoch", "", "epoch change (promotion)"});
  legend.push_back({"mk-route", "", "routing change"});
  if (any_step_marker) {
    legend.push_back({"mk-step", "",
                      unlabelled_markers == 0
                          ? "Site Recovery / Backup step"
                          : fmt::format("Site Recovery / Backup step ({} unlabelled: more than fit; "
                                        "hover a line for its step)",
                                        unlabelled_markers)});
  }
  if (!lag.empty()) {
    legend.push_back({"lag", "", "replication lag (line in the active region\u2019s colour)"});
  }
  const double legend_top = lag_bottom + 52;
  double lx = kPlotLeft, ly = legend_top;
  std::string legend_svg;
  for (const auto& item : legend) {
    double w = 24 + static_cast<double>(item.text.size()) * kCharWidth + 16;
    if (lx + w > kPlotRight && lx > kPlotLeft) {
      lx = kPlotLeft;
      ly += 20;
    }
    if (item.kind == "box") {
      legend_svg +=
          fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"18\" height=\"12\" fill=\"{}\"/>",
                      lx, ly - 10, item.color);
    } else if (item.kind == "band" || item.kind == "fault-band") {
      legend_svg +=
          fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"18\" height=\"12\"/>",
                      item.kind, lx, ly - 10);
    } else if (item.kind == "lag") {
      legend_svg += fmt::format(
          "<polyline class=\"lag-line\" stroke=\"{}\" points=\"{:.1f},{:.1f} {:.1f},{:.1f} "
          "{:.1f},{:.1f} {:.1f},{:.1f}\"/>",
          regions.empty() ? kRegionColors[0] : region_color(regions.front()), lx, ly - 2, lx + 6,
          ly - 9, lx + 12, ly - 5, lx + 18, ly - 10);
    } else {
      legend_svg += fmt::format(
          "<line class=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", item.kind,
          lx + 9, ly - 12, lx + 9, ly + 4);
    }
    legend_svg +=
        fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>", lx + 24, ly, esc(item.text));
    lx += w;
  }
  const double height = ly + 14;

  // No xmlns: inline SVG in HTML does not need one, and the page names no URL at all.
  append(svg,
         "<svg class=\"timeline\" viewBox=\"0 0 {:.0f} "
         "{:.0f}\" role=\"img\" aria-label=\"client operations over time\">",
         kSvgWidth, height);
  append(svg,
         "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"plot-bg\"/>",
         kPlotLeft, plot_top, plot_w, kPlotHeight);

  // y grid and ticks.
  for (double v = 0; v <= y_max + 1e-9; v += y_step) {
    double y = y_of(v);
    append(svg, "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
           kPlotLeft, y, kPlotRight, y);
    append(svg, "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}</text>",
           kPlotLeft - 6, y + 4, v);
  }
  append(svg,
         "<text class=\"axis-title\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
         "text-anchor=\"middle\">operations per {}</text>",
         (plot_top + plot_bottom) / 2, fmt_bucket(bucket_ns));

  // x ticks: seconds since the first operation; the grid runs through both panels, the labels
  // go once under the lag panel.
  append(svg,
         "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"plot-bg\"/>",
         kPlotLeft, lag_top, plot_w, kLagPanelHeight);
  const double s_min = static_cast<double>(x_min - origin) / 1e9;
  const double s_max = static_cast<double>(x_max - origin) / 1e9;
  const double x_step = nice_step(s_max - s_min, 10);
  for (double s = std::ceil(s_min / x_step - 1e-9) * x_step; s <= s_max + 1e-9; s += x_step) {
    double x = x_of(origin + static_cast<int64_t>(std::llround(s * 1e9)));
    for (auto [y1, y2] : {std::pair{plot_top, plot_bottom}, std::pair{lag_top, lag_bottom}}) {
      append(svg, "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
             x, y1, x, y2);
      append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
             x, y2, x, y2 + 5);
    }
    append(svg, "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>",
           x, lag_bottom + 18, fmt_seconds(std::abs(s) < 1e-9 ? 0.0 : s, x_step));
  }
  append(svg,
         "<text class=\"axis-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">seconds "
         "since the first operation</text>",
         (kPlotLeft + kPlotRight) / 2, lag_bottom + 36);

  // Injected faults: a band across both panels for each window, under everything else (bands
  // of overlapping faults add up), and the labelled bars in their rows above the plot.
  if (!fault_rows.empty()) {
    append(svg,
           "<text class=\"lane-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">faults</text>",
           kPlotLeft - 6, faults_top + 12);
  }
  // Bands first, then bars, then labels: nothing drawn later covers a label.
  std::string fault_bars, fault_labels, unlabelled;
  size_t unlabelled_count = 0;
  for (const FaultRow& r : fault_rows) {
    const double w = std::max(2.0, std::min(r.x2, kPlotRight) - r.x1);
    for (auto [y1, y2] : {std::pair{plot_top, plot_bottom}, std::pair{lag_top, lag_bottom}}) {
      append(svg,
             "<rect class=\"fault-band\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
             "height=\"{:.1f}\"><title>{}</title></rect>",
             r.x1, y1, w, y2 - y1, esc(r.full));
    }
    if (!r.row) {
      unlabelled += (unlabelled_count++ ? "\n" : "") + r.full;
      continue;
    }
    const double row_top = faults_top + static_cast<double>(*r.row) * kFaultRowHeight;
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
           kPlotLeft - 6, faults_top + static_cast<double>(row_ends.size()) * kFaultRowHeight - 4,
           esc(unlabelled), unlabelled_count);
  }

  // Replication lag of the active region: one line per (region, epoch) so that a promotion
  // shows as a change of colour with a mark, broken where the samples stop for a while. The
  // axes go first: a lag of zero is a line on the x axis, and must stay visible.
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, lag_bottom, kPlotRight, lag_bottom);
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, lag_top, kPlotLeft, lag_bottom);
  if (lag.empty()) {
    append(svg,
           "<text class=\"lane-title\" x=\"{:.1f}\" y=\"{:.1f}\">Replication lag</text>"
           "<text class=\"muted-svg\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">"
           "no replication lag samples</text>",
           kPlotLeft, lag_title_y, (kPlotLeft + kPlotRight) / 2, (lag_top + lag_bottom) / 2 + 4);
  } else {
    double peak = 0;
    std::optional<double> peak_ms;
    for (const auto& p : lag) {
      peak = std::max(peak, p.writes);
      if (p.ms) peak_ms = std::max(peak_ms.value_or(0.0), *p.ms);
    }
    const double lag_step = std::max(1.0, nice_step(peak, 2));
    const double lag_max = std::max(lag_step, std::ceil(peak * 1.1 / lag_step) * lag_step);
    auto lag_y = [&](double v) { return lag_bottom - v / lag_max * kLagPanelHeight; };
    append(svg,
           "<text x=\"{:.1f}\" y=\"{:.1f}\"><tspan class=\"lane-title\">Replication lag</tspan> "
           "of the active region, writes not yet on the standby (all workloads): peak {:.0f} "
           "write{}{}</text>",
           kPlotLeft, lag_title_y, peak, peak == 1 ? "" : "s",
           peak_ms ? fmt::format(", max {:.1f} ms behind", *peak_ms) : std::string());
    const long n_ticks = std::lround(lag_max / lag_step);
    for (long i = 0; i <= n_ticks; ++i) {
      const double v = static_cast<double>(i) * lag_step, y = lag_y(v);
      if (i > 0) {
        append(svg,
               "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
               kPlotLeft, y, kPlotRight, y);
      }
      append(svg,
             "<text class=\"tick{}\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}</text>",
             i == n_ticks ? " lag-max" : "", kPlotLeft - 6, y + 4, v);
    }
    append(svg,
           "<text class=\"axis-title\" transform=\"translate(16 {:.1f}) rotate(-90)\" "
           "text-anchor=\"middle\">writes behind</text>",
           (lag_top + lag_bottom) / 2);

    // Series in order of their first sample; a sample of a (region, epoch) already seen (the
    // old region answering again as active after a heal) continues that series.
    struct LagSeries {
      std::string region, epoch;
      std::vector<const LagPoint*> points;
    };
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
    std::string lines, labels;  // labels last, over every line
    std::optional<double> last_label_end;
    int label_row = 0;
    for (size_t si = 0; si < series.size(); ++si) {
      const LagSeries& s = series[si];
      const std::string color = region_color(s.region);
      const std::string name =
          region_label(s.region) + (s.epoch.empty() ? "" : " \u00b7 epoch " + s.epoch);
      double s_peak = 0;
      for (const LagPoint* p : s.points) s_peak = std::max(s_peak, p->writes);
      const std::string tip = fmt::format(
          "replication lag of {}: {:.1f} s \u2192 {:.1f} s, {} sample{}, peak {:.0f} write{}", name,
          static_cast<double>(s.points.front()->ns - origin) / 1e9,
          static_cast<double>(s.points.back()->ns - origin) / 1e9, s.points.size(),
          s.points.size() == 1 ? "" : "s", s_peak, s_peak == 1 ? "" : "s");
      // Runs of samples no more than kLagGapNs apart.
      size_t begin = 0;
      for (size_t i = 1; i <= s.points.size(); ++i) {
        if (i < s.points.size() && s.points[i]->ns - s.points[i - 1]->ns <= kLagGapNs) continue;
        if (i - begin == 1) {
          const LagPoint& p = *s.points[begin];
          append(lines,
                 "<circle class=\"lag-dot\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\" fill=\"{}\">"
                 "<title>{}</title></circle>",
                 x_of(p.ns), lag_y(p.writes), color, esc(tip));
        } else {
          std::string points;
          for (size_t k = begin; k < i; ++k) {
            append(points, "{}{:.1f},{:.1f}", k == begin ? "" : " ", x_of(s.points[k]->ns),
                   lag_y(s.points[k]->writes));
          }
          append(lines,
                 "<polyline class=\"lag-line\" stroke=\"{}\" points=\"{}\"><title>{}</title>"
                 "</polyline>",
                 color, points, esc(tip));
        }
        begin = i;
      }
      // Where the series starts: the first region plainly, each later one (a region change or
      // an epoch change) with a mark at its first sample.
      const double x = x_of(s.points.front()->ns);
      if (si > 0) {
        append(lines,
               "<line class=\"lag-epoch\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\">"
               "<title>{}</title></line>",
               x, lag_top, x, lag_bottom, esc("active from here: " + name));
      }
      const std::string text = si > 0 ? "\u2192 " + name : name;
      const double tw = text_width(text);
      double label_x = std::min(x + 4, kPlotRight - 4 - tw);
      label_row = last_label_end && label_x < *last_label_end + 8 ? (label_row + 1) % 3 : 0;
      last_label_end = label_x + tw;
      append(labels,
             "<text class=\"mk-label lag-label\" x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text>",
             label_x, lag_top + 14 + label_row * 15, color, esc(text));
    }
    svg += lines;
    svg += labels;
  }

  // The outage band, under the bars.
  if (fault_ns) {
    double x1 = x_of(*fault_ns);
    double x2 = recovered_ns ? x_of(*recovered_ns) : kPlotRight;
    append(svg,
           "<rect class=\"band\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">"
           "<title>{}</title></rect>",
           x1, plot_top, std::max(1.0, x2 - x1), kPlotHeight,
           esc(recovered_ns ? fmt::format("outage: {:.0f} ms from the fault to the first write "
                                          "acknowledged by {}",
                                          (*recovered_ns - *fault_ns) / 1e6,
                                          new_region.value_or("the new region"))
                            : std::string("outage: no write acknowledged by the new region")));
  }

  // Stacked bars: acknowledged by region (bottom, in region order), then failed, then
  // indeterminate. A <title> per bar gives the exact counts on hover, without a script.
  for (const auto& b : buckets) {
    model::OutcomeCounts t = b.total();
    if (t.ok + t.fail + t.indeterminate == 0) continue;
    // The last bucket runs past the last completion: clip it at the plot's edge.
    double x1 = x_of(b.start_ns), x2 = std::min(kPlotRight, x_of(b.start_ns + bucket_ns));
    double gap = (x2 - x1) > 4 ? 1 : 0;
    double w = std::max(0.5, x2 - x1 - gap);
    std::string tip = fmt::format("{:.1f}\u2013{:.1f} s:", (b.start_ns - origin) / 1e9,
                                  (b.start_ns + bucket_ns - origin) / 1e9);
    append(svg, "<g>");
    double level = 0;
    auto stack = [&](uint64_t n, const std::string& color) {
      if (n == 0) return;
      double y1 = y_of(level + static_cast<double>(n));
      append(svg,
             "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>", x1,
             y1, w, y_of(level) - y1, color);
      level += static_cast<double>(n);
    };
    for (const auto& r : regions) {
      auto it = b.by_region.find(r);
      uint64_t n = it == b.by_region.end() ? 0 : it->second.ok;
      stack(n, region_color(r));
      if (n) tip += fmt::format(" {} ok {},", region_label(r), n);
    }
    stack(t.fail, kFailColor);
    stack(t.indeterminate, kIndeterminateColor);
    tip += fmt::format(" failed {}, indeterminate {}", t.fail, t.indeterminate);
    append(svg, "<title>{}</title></g>", esc(tip));
  }

  // Markers over the bars. Labels run down beside their line, in the line's colour; marks a few
  // ms apart (promotion, then routing; a run of drill steps) would put labels on top of each
  // other, so a label that would overlap the previous one moves right by one text height. Near
  // the end of the run the labels pile up against the right edge instead: there they are laid
  // out from the edge leftwards, still one text height apart.
  std::vector<Marker> with_label;
  for (size_t i = 0; i < markers.size(); ++i) {
    if (labelled[i]) with_label.push_back(markers[i]);
  }
  const std::vector<double> label_xs = marker_label_xs(with_label, x_of);
  std::string labels;  // drawn after every line, so that no line crosses a label's halo
  size_t next_label = 0;
  for (size_t i = 0; i < markers.size(); ++i) {
    const Marker& m = markers[i];
    double x = x_of(m.ns);
    append(svg,
           "<line class=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\">"
           "<title>{}</title></line>",
           m.css, x, plot_top, x, plot_bottom, esc(m.label));
    if (!labelled[i]) continue;
    append(labels,
           "<text class=\"mk-label {}\" transform=\"translate({:.1f} {:.1f}) "
           "rotate(-90)\" text-anchor=\"end\">{}</text>",
           m.css, label_xs[next_label++], plot_top + 6, esc(m.label));
  }
  svg += labels;
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, plot_bottom, kPlotRight, plot_bottom);
  append(svg, "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
         kPlotLeft, plot_top, kPlotLeft, plot_bottom);

  // RTO parts along the top: a bar of segments, each labelled on its own row so that short
  // parts (promotion takes a few ms) stay readable.
  append(svg, "<text class=\"lane-title\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">RTO</text>",
         kPlotLeft - 6, bar_top + 9);
  if (segments.empty()) {
    append(svg, "<text class=\"muted-svg\" x=\"{:.1f}\" y=\"{:.1f}\">RTO parts not measured</text>",
           kPlotLeft + 4, bar_top + 9);
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    double x1 = x_of(s.start_ns), x2 = x_of(s.end_ns);
    double w = std::max(2.0, x2 - x1);
    append(svg,
           "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"10\" fill=\"{}\">"
           "<title>{}</title></rect>",
           x1, bar_top, w, s.color, esc(s.label));
    double row_y = kLaneTop + (static_cast<double>(i) + 1) * kLaneRowHeight - 3;
    double text_w = static_cast<double>(s.label.size()) * kCharWidth;
    bool fits_right = x1 + 8 + text_w <= kPlotRight;
    double lead_x = x1 + std::min(w, 2.0) / 2;
    append(svg,
           "<line class=\"lead\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
           "stroke=\"{}\"/>",
           lead_x, row_y - 9, lead_x, bar_top, s.color);
    append(svg, "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"8\" height=\"8\" fill=\"{}\"/>",
           fits_right ? lead_x + 3 : lead_x - 11, row_y - 8, s.color);
    append(svg, "<text class=\"lane-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{}</text>",
           fits_right ? lead_x + 14 : lead_x - 14, row_y, fits_right ? "start" : "end",
           esc(s.label));
  }
  svg += legend_svg;
  svg += "</svg>";
  return svg;
}

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

std::string render_summary(const json& report) {
  std::string h = "<table class=\"summary\">\n";
  const std::string new_region = string_at(report, {"failover", "new_active"}).value_or("");
  const std::string old_region = string_at(report, {"fault", "region"}).value_or("");
  const std::string new_name = new_region.empty() ? "the new region" : new_region;

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

}  // namespace drsim::cli
