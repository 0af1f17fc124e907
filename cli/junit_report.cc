#include "cli/junit_report.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace drsim::cli {
namespace {

using nlohmann::json;

// Escapes for attribute and text content alike; drops what XML 1.0 forbids (control characters
// other than tab, newline and carriage return).
std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xEF\xBF\xBD";  // U+FFFD
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string junit_xml(const json& report) {
  const std::string drill = str(report, "drill").empty() ? "drill" : str(report, "drill");
  const std::string classname = "drsim.drill." + drill;
  struct Case {
    std::string name, failure, detail;
  };
  std::vector<Case> cases;
  if (auto it = report.find("expectations"); it != report.end() && it->is_array()) {
    for (const auto& e : *it) {
      Case c{str(e, "name"), "", ""};
      if (!e.value("pass", false)) {
        c.failure = "want " + str(e, "want") + ", got " + str(e, "got");
      }
      cases.push_back(std::move(c));
    }
  }
  Case ran{"drill ran to the end", "", ""};
  if (!str(report, "aborted").empty()) {
    ran.failure = "aborted: " + str(report, "aborted");
  }
  if (auto it = report.find("problems"); it != report.end() && it->is_array()) {
    for (const auto& p : *it) {
      std::string line = p.is_string() ? p.get<std::string>() : p.dump();
      if (ran.failure.empty()) ran.failure = line;
      ran.detail += line + "\n";
    }
  }
  cases.push_back(std::move(ran));

  size_t failures = 0;
  for (const auto& c : cases) failures += c.failure.empty() ? 0 : 1;
  double seconds = report.value("duration_s", 0.0);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"drsim drills\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
                     "time=\"{:.3f}\">\n",
                     cases.size(), failures, seconds);
  out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
                     "skipped=\"0\" time=\"{:.3f}\"",
                     xml_escape(classname), cases.size(), failures, seconds);
  if (!str(report, "source").empty()) out += " file=\"" + xml_escape(str(report, "source")) + "\"";
  out += ">\n";
  for (const auto& c : cases) {
    out += "    <testcase classname=\"" + xml_escape(classname) + "\" name=\"" +
           xml_escape(c.name) + "\"";
    if (c.failure.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n      <failure message=\"" + xml_escape(c.failure) + "\">" +
           xml_escape(c.detail.empty() ? c.failure : c.detail) + "</failure>\n    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

Status write_junit_file(const std::string& path, const json& report) {
  std::ofstream out(path, std::ios::trunc);
  out << junit_xml(report);
  out.close();
  if (!out) return invalid_argument("--junit " + path + ": cannot write: " + std::strerror(errno));
  return Status::ok();
}

}  // namespace drsim::cli
