// The timeline's parts (cli/html_timeline.cc gathers and lays out, cli/html_timeline_draw.cc
// draws): its geometry, what it shows (TimelineData), where it goes (Frame) and the drawing
// steps. Internal to the HTML report.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/drill/history_checker.h"

namespace drsim::cli::html::timeline {

// ---- Timeline geometry ---------------------------------------------------------------------

inline constexpr double kSvgWidth = 1300;
inline constexpr double kPlotLeft = 64;
inline constexpr double kPlotRight = kSvgWidth - 24;
inline constexpr double kLaneTop = 8;  // RTO parts lane: one label row per part, then the bar
inline constexpr double kLaneRowHeight = 15;
inline constexpr double kPlotHeight = 300;
inline constexpr double kMarkerLabelGap = 14;  // between rotated marker labels: one text height
inline constexpr double kCharWidth = 6.6;  // 12 px sans-serif, an estimate for label placement
// Injected faults: a labelled bar each in rows above the plot, stacked so that no two overlap;
// labels are cut at kMaxFaultLabelChars (the full text is in a <title> tooltip), and faults
// beyond kMaxFaultRows rows keep only their band and are counted as "+N more".
inline constexpr double kFaultRowHeight = 17;
inline constexpr size_t kMaxFaultRows = 6;
inline constexpr size_t kMaxFaultLabelChars = 70;
inline constexpr size_t kMinFaultLabelChars = 24;
// The replication-lag panel under the operations plot, on the same x axis.
inline constexpr double kLagPanelHeight = 96;
// Samples come every 200 ms; a longer silence (region down, status call timing out) breaks
// the line instead of drawing a straight line across what was not measured.
inline constexpr int64_t kLagGapNs = 1'000'000'000;
inline constexpr int64_t kBaseBucketNs = 100'000'000;
// Long drills widen the buckets so that bars stay at least ~2 px wide.
inline constexpr size_t kMaxBuckets = 600;

inline constexpr const char* kRegionColors[] = {"#4e79a7", "#59a14f", "#76b7b2", "#b07aa1",
                                     "#9c755f", "#edc948", "#ff9da7", "#bab0ac"};
inline constexpr const char* kFailColor = "#e15759";
inline constexpr const char* kIndeterminateColor = "#f28e2b";
inline constexpr const char* kNoRegionOkColor = "#8c8c8c";

struct Marker {
  int64_t ns = 0;
  std::string label;
  std::string css;  // class of the line
};

// 1, 2 or 5 × 10^k, so that `range` has about `target` steps.
double nice_step(double range, int target);
// Seconds with as many decimals as `step` needs; a bucket width ("100 ms", "2 s").
std::string fmt_seconds(double s, double step);
std::string fmt_bucket(int64_t ns);
// The estimated width of `s` in the SVG's 12 px font (code points × kCharWidth).
double text_width(const std::string& s);

// One entry of report["faults"]: an injected fault and the window it was in force.
struct FaultWindowMark {
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // absent: in force until the end of the drill
  std::string description;
};

// One entry of report["replication_lag"]: the active region's lag at one moment.
struct LagPoint {
  int64_t ns = 0;
  std::string region;
  std::string epoch;  // as shown; only compared for equality
  double writes = 0;
  std::optional<double> ms;
};

// An RTO part laid along the lane above the plot.
struct Segment {
  int64_t start_ns, end_ns;
  std::string label;
  const char* color;
};

// Everything the report and the history say that the timeline draws, before any geometry.
struct TimelineData {
  std::optional<int64_t> fault_ns;
  std::optional<std::string> new_region;
  std::optional<int64_t> recovered_ns;  // the outage's end: the new region's first ack
  std::vector<Marker> markers;          // sorted by time
  std::vector<bool> labelled;           // which markers get a label
  long unlabelled_markers = 0;
  bool any_step_marker = false;
  std::vector<Segment> segments;
  std::vector<FaultWindowMark> faults;
  std::optional<int64_t> first_invoke;
  int64_t origin = 0, x_min = 0, x_max = 0;  // time zero, and the x range
  int64_t bucket_ns = kBaseBucketNs;
  std::vector<model::Bucket> buckets;
  std::vector<std::string> regions;  // in order of their first acknowledged operation
  std::vector<LagPoint> lag;         // inside the x range

  std::string region_color(const std::string& r) const {
    if (r.empty()) return kNoRegionOkColor;
    size_t i = std::find(regions.begin(), regions.end(), r) - regions.begin();
    size_t named = 0;
    for (size_t k = 0; k < i; ++k) named += regions[k].empty() ? 0 : 1;
    return kRegionColors[named % std::size(kRegionColors)];
  }
};


// A fault's labelled bar: in the first row where neither it nor its label overlaps what is
// there already; none past kMaxFaultRows (its band and tooltip remain, counted as "+N more").
struct FaultRow {
  double x1 = 0, x2 = 0, label_x = 0;
  std::optional<size_t> row;
  std::string text, full;
};

// The vertical layout and both axes' scales.
struct Frame {
  int64_t x_min = 0, x_max = 0;
  double y_step = 1, y_max = 1;
  double bar_top = 0, faults_top = 0, plot_top = 0, plot_bottom = 0;
  double lag_title_y = 0, lag_top = 0, lag_bottom = 0;
  size_t fault_row_count = 0;

  double x_of(int64_t ns) const {
    return kPlotLeft + static_cast<double>(ns - x_min) / static_cast<double>(x_max - x_min) *
                           (kPlotRight - kPlotLeft);
  }
  double y_of(double v) const { return plot_bottom - v / y_max * kPlotHeight; }
};

// What the report and the history say, or nothing when there is nothing at all (no
// operation and no mark); its layout (the fault rows into `fault_rows`).
std::optional<TimelineData> gather(const nlohmann::json& report,
                                   const std::vector<model::OpRecord>& history);
Frame frame_for(const TimelineData& t, std::vector<FaultRow>* fault_rows);

// The drawing steps (cli/html_timeline_draw.cc), in the order the SVG stacks them after its
// opening tag; draw_legend first, for the drawing's height, its text last.
std::string draw_legend(const TimelineData& t, const Frame& f, double* height);
void draw_axes(std::string& svg, const TimelineData& t, const Frame& f);
void draw_faults(std::string& svg, const std::vector<FaultRow>& fault_rows, const Frame& f);
void draw_lag(std::string& svg, const TimelineData& t, const Frame& f);
void draw_outage_and_bars(std::string& svg, const TimelineData& t, const Frame& f);
void draw_markers(std::string& svg, const TimelineData& t, const Frame& f);
void draw_rto_lane(std::string& svg, const TimelineData& t, const Frame& f);

}  // namespace drsim::cli::html::timeline
