// drsim drill run --junit: the JUnit XML a CI system reads (cli/junit_report.h).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/junit_report.h"

namespace drsim::cli {
namespace {

using nlohmann::json;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(JunitReport, OneTestCasePerExpectationPlusTheRunAndFailuresCarryWantAndGot) {
  json report = {{"drill", "demo"},
                 {"source", "deploy/drills/demo.yaml"},
                 {"duration_s", 12.5},
                 {"expectations",
                  {{{"name", "RTO"}, {"want", "<= 2550 ms"}, {"got", "1121 ms"}, {"pass", true}},
                   {{"name", "acknowledged writes lost"},
                    {"want", "0"},
                    {"got", "3"},
                    {"pass", false}}}},
                 {"problems", json::array()},
                 {"aborted", ""}};
  std::string xml = junit_xml(report);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"drsim.drill.demo\" tests=\"3\" failures=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("file=\"deploy/drills/demo.yaml\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("time=\"12.500\""), std::string::npos) << xml;
  EXPECT_EQ(count(xml, "<testcase "), 3u) << xml;
  EXPECT_NE(xml.find("name=\"RTO\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"want 0, got 3\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"drill ran to the end\"/>"), std::string::npos) << xml;
  EXPECT_EQ(count(xml, "<testsuite "), 1u);
  EXPECT_EQ(count(xml, "</testsuite>"), 1u);
}

TEST(JunitReport, ADrillThatStoppedOrCouldNotStartFailsTheRunCase) {
  std::string xml = junit_xml({{"drill", "x"},
                               {"problems", {"step 3: failover refused", "and more"}},
                               {"passed", false}});
  EXPECT_NE(xml.find("tests=\"1\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"step 3: failover refused\">step 3: failover refused\n"
                     "and more\n</failure>"),
            std::string::npos)
      << xml;
  xml = junit_xml({{"drill", "x"}, {"aborted", "abort_if: lost > 0"}});
  EXPECT_NE(xml.find("<failure message=\"aborted: abort_if: lost &gt; 0\">"), std::string::npos)
      << xml;
}

TEST(JunitReport, TextIsEscapedAndControlCharactersCannotBreakTheDocument) {
  std::string xml = junit_xml({{"drill", "a\"<b>&'c"},
                               {"expectations",
                                {{{"name", "x<y"},
                                  {"want", "\"q\""},
                                  {"got", std::string("bell\x07") + "&"},
                                  {"pass", false}}}}});
  EXPECT_NE(xml.find("drsim.drill.a&quot;&lt;b&gt;&amp;&apos;c"), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"x&lt;y\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("want &quot;q&quot;, got bell\xEF\xBF\xBD&amp;"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\x07'), std::string::npos);
}

}  // namespace
}  // namespace drsim::cli
