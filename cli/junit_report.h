// JUnit XML for a drill report, so CI systems (GitLab, Jenkins, GitHub test reporters) show drill
// results natively: `drsim drill run FILE --junit out.xml`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/core/status.h"

namespace drsim::cli {

// One <testsuite> named after the drill with one <testcase> per expectation ("want", "got" in the
// failure message) and one more, "drill ran to the end", that fails with the drill's problems or
// abort reason (a drill that stopped early, or could not start, fails it even with no
// expectation judged). Reads the keys the JSON report has: drill, source, expectations
// [{name, want, got, pass}], problems [..], aborted, duration_s. Text is XML-escaped; characters
// XML 1.0 cannot carry are replaced by U+FFFD.
std::string junit_xml(const nlohmann::json& report);

// Writes junit_xml(report) to `path`; INVALID_ARGUMENT naming "--junit PATH" and why on failure.
Status write_junit_file(const std::string& path, const nlohmann::json& report);

}  // namespace drsim::cli
