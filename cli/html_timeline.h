// The drill report's timeline (cli/html_timeline.cc): the inline SVG the HTML report
// (cli/html_report.cc) puts under "Timeline". Internal to the report.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/drill/history.h"

namespace drsim::cli::html {

// The timeline of `report` and its client `history` as one <svg> element, or a short
// paragraph saying there is nothing to draw. Every field of the report is optional.
std::string render_timeline(const nlohmann::json& report,
                            const std::vector<model::OpRecord>& history);

}  // namespace drsim::cli::html
