// The drill report for people: one self-contained report.html (inline CSS and inline SVG, no
// scripts, no fonts, nothing fetched) rendered from a drill's report JSON (cli/demo.cc builds
// it) and its client history. `drsim demo` writes it next to report.json.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/status.h"
#include "common/model/drill/history.h"
#include "common/model/drill/history_checker.h"

namespace drsim::cli {

// Writes the HTML report to `path`. Every field of `report` is optional: what is missing is
// shown as "n/a" (or its section left out), never thrown. Fails only when the file cannot be
// written, or (INTERNAL) if rendering hit an unexpected exception.
Status write_html_report(const nlohmann::json& report,
                         const std::vector<drsim::model::OpRecord>& history,
                         const std::string& path);

// The report as a string (what write_html_report writes); exposed for tests.
Result<std::string> render_html_report(const nlohmann::json& report,
                                       const std::vector<drsim::model::OpRecord>& history);

// report["rto_ms"] and report["rto_parts_ms"] (detection, promotion, routing, client_deadline,
// client_ttl) from `rto`, as the report reads them; a part not measured is null.
void put_rto(const drsim::model::RtoBreakdown& rto, nlohmann::json* report);

// `text` with & < > " ' replaced by entities, safe in HTML text, attributes and inline SVG.
std::string html_escape(const std::string& text);

}  // namespace drsim::cli
