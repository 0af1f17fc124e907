// What the two halves of the HTML drill report share (cli/html_report.cc: the page and its
// tables; cli/html_timeline.cc: the timeline's SVG): JSON access that never throws, escaping,
// and the RTO parts with their labels and colours. Internal to those two files.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/html_report.h"

namespace drsim::cli::html {

using nlohmann::json;

// ---- JSON access that never throws ---------------------------------------------------------
// A report may come from an older drill, a failed one, or a hand-written file: every field is
// looked up defensively and a missing or mistyped one is treated as absent.

inline const json* at(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* key : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

inline std::optional<double> number_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

// Unix nanoseconds; 0 (the demo's "did not happen") and negatives are absent.
inline std::optional<int64_t> nanos_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_number()) return std::nullopt;
  int64_t ns = v->is_number_float() ? static_cast<int64_t>(v->get<double>()) : v->get<int64_t>();
  if (ns <= 0) return std::nullopt;
  return ns;
}

inline std::optional<std::string> string_at(const json& j,
                                            std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

inline std::optional<bool> bool_at(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  if (!v || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

// Any JSON value as text for a person (not yet escaped).
inline std::string show(const json* v) {
  if (!v || v->is_null()) return "n/a";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "yes" : "no";
  if (v->is_number_float()) return fmt::format("{:g}", v->get<double>());
  return v->dump();
}

inline std::string show_ms(std::optional<double> ms) {
  return ms ? fmt::format("{:.0f} ms", *ms) : "n/a";
}

inline std::string esc(const std::string& s) { return html_escape(s); }

template <typename... Args>
void append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  out += fmt::format(format, std::forward<Args>(args)...);
}

inline std::string region_label(const std::string& region) {
  return region.empty() ? "(no region)" : region;
}

// The parts of the RTO, in order: the summary table's rows and the timeline's lane.
struct RtoPart {
  const char* key;  // in report["rto_parts_ms"]
  const char* label;
  const char* color;
};
inline constexpr RtoPart kRtoParts[] = {{"detection", "detection", "#d37295"},
                                        {"promotion", "promotion", "#8cd17d"},
                                        {"routing", "routing", "#499894"},
                                        {"client_deadline", "client deadline", "#b6992d"},
                                        {"client_ttl", "client TTL", "#86bcb6"}};

}  // namespace drsim::cli::html
