// TmMonitorConfig: Azure's exact timing rules and drsim's scaled ones, path / header / status
// code validation per protocol, which HTTP status codes count as success, failover formulas.
#include <gtest/gtest.h>

#include <string>

#include "common/model/trafficmgr/monitor_config.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr auto kAzure = TmTimingRules::kAzure;
constexpr auto kScaled = TmTimingRules::kScaled;

TmMonitorConfig timing(Duration interval, Duration timeout) {
  TmMonitorConfig c;
  c.interval = interval;
  c.timeout = timeout;
  return c;
}

TmMonitorConfig tcp() {
  TmMonitorConfig c;
  c.protocol = TmProbeProtocol::kTcp;
  c.path = "";
  return c;
}

TEST(TmMonitorConfig, DefaultsAreAzureDefaultsAndValidInBothModes) {
  TmMonitorConfig c;
  EXPECT_EQ(c.protocol, TmProbeProtocol::kHttp);
  EXPECT_EQ(c.port, 80);
  EXPECT_EQ(c.path, "/");
  EXPECT_EQ(c.interval, 30s);
  EXPECT_EQ(c.timeout, 10s);
  EXPECT_EQ(c.tolerated_failures, 3u);
  EXPECT_EQ(c.success_threshold, 1u);
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  EXPECT_TRUE(c.validate(kScaled).is_ok());
}

TEST(TmMonitorConfig, AzureAcceptsTimeoutFiveToTenSecondsAtThirtySecondInterval) {
  for (auto t : {5s, 6s, 7s, 8s, 9s, 10s}) {
    EXPECT_TRUE(timing(30s, t).validate(kAzure).is_ok()) << t.count();
  }
  Status s = timing(30s, 11s).validate(kAzure);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "timeout: 11000ms must be whole seconds in 5s..10s at interval 30000ms");
  EXPECT_FALSE(timing(30s, 4s).validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, AzureAcceptsTimeoutFiveToNineSecondsAtTenSecondInterval) {
  for (auto t : {5s, 6s, 7s, 8s, 9s}) {
    EXPECT_TRUE(timing(10s, t).validate(kAzure).is_ok()) << t.count();
  }
  EXPECT_EQ(timing(10s, 10s).validate(kAzure).message(),
            "timeout: 10000ms must be whole seconds in 5s..9s at interval 10000ms");
  EXPECT_FALSE(timing(10s, 4s).validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, AzureRefusesIntervalsOtherThanTenOrThirtySeconds) {
  for (Duration interval : {Duration(100ms), Duration(9s), Duration(11s), Duration(20s),
                            Duration(31s), Duration(60s)}) {
    Status s = timing(interval, 5s).validate(kAzure);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message().rfind("interval: ", 0), 0u) << s.message();
  }
  EXPECT_EQ(timing(20s, 5s).validate(kAzure).message(),
            "interval: 20000ms must be 10s or 30s (scaled timing rules allow others)");
}

TEST(TmMonitorConfig, AzureRefusesFractionalSecondTimeout) {
  EXPECT_FALSE(timing(30s, 5500ms).validate(kAzure).is_ok());
  EXPECT_TRUE(timing(30s, 5500ms).validate(kScaled).is_ok());
}

TEST(TmMonitorConfig, ScaledAcceptsAnyPositiveIntervalWithTimeoutUpToIt) {
  EXPECT_TRUE(timing(100ms, 50ms).validate(kScaled).is_ok());
  EXPECT_TRUE(timing(100ms, 100ms).validate(kScaled).is_ok());
  EXPECT_TRUE(timing(1ms, 1ms).validate(kScaled).is_ok());
  EXPECT_TRUE(timing(1h, 30s).validate(kScaled).is_ok());
  EXPECT_EQ(timing(100ms, 101ms).validate(kScaled).message(),
            "timeout: 101ms must not exceed interval 100ms");
  EXPECT_EQ(timing(100ms, 0ms).validate(kScaled).message(), "timeout: 0ms must be positive");
  EXPECT_EQ(timing(0ms, 0ms).validate(kScaled).message(), "interval: 0ms must be positive");
  EXPECT_FALSE(timing(-5ms, 1ms).validate(kScaled).is_ok());
}

TEST(TmMonitorConfig, ToleratedFailuresAreZeroToNineInBothModes) {
  for (auto rules : {kAzure, kScaled}) {
    TmMonitorConfig c;
    for (uint32_t t = 0; t <= 9; ++t) {
      c.tolerated_failures = t;
      EXPECT_TRUE(c.validate(rules).is_ok()) << t;
    }
    c.tolerated_failures = 10;
    EXPECT_EQ(c.validate(rules).message(), "tolerated_failures: 10 is out of range 0..9");
  }
}

TEST(TmMonitorConfig, SuccessThresholdIsOneToTen) {
  TmMonitorConfig c;
  c.success_threshold = 0;
  EXPECT_EQ(c.validate(kScaled).message(), "success_threshold: 0 is out of range 1..10");
  c.success_threshold = 10;
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.success_threshold = 11;
  EXPECT_FALSE(c.validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, PortZeroIsRefused) {
  TmMonitorConfig c;
  c.port = 0;
  EXPECT_EQ(c.validate(kAzure).message(), "port: 0 is out of range 1..65535");
  c.port = 65535;
  EXPECT_TRUE(c.validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, HttpAndHttpsRequireAnAbsolutePath) {
  for (auto protocol : {TmProbeProtocol::kHttp, TmProbeProtocol::kHttps}) {
    TmMonitorConfig c;
    c.protocol = protocol;
    c.path = "";
    EXPECT_FALSE(c.validate(kAzure).is_ok());
    c.path = "health";
    EXPECT_FALSE(c.validate(kAzure).is_ok());
    c.path = "/health?probe=1";
    EXPECT_TRUE(c.validate(kAzure).is_ok());
    c.path = "/a b";
    EXPECT_FALSE(c.validate(kAzure).is_ok());
  }
  TmMonitorConfig c;
  c.path = "";
  EXPECT_EQ(c.validate(kAzure).message(), "path: \"\" must start with '/' for HTTP probes");
}

TEST(TmMonitorConfig, TcpAndGrpcRefuseAPath) {
  TmMonitorConfig c = tcp();
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.path = "/";
  EXPECT_EQ(c.validate(kAzure).message(), "path: \"/\" is not allowed for TCP probes");
  c.protocol = TmProbeProtocol::kGrpcHealth;
  EXPECT_EQ(c.validate(kAzure).message(), "path: \"/\" is not allowed for gRPC health probes");
  c.path = "";
  EXPECT_TRUE(c.validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, AtMostEightCustomHeaders) {
  TmMonitorConfig c;
  for (int i = 0; i < 8; ++i) c.custom_headers.push_back({"X-H" + std::to_string(i), "v"});
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.custom_headers.push_back({"X-H8", "v"});
  EXPECT_EQ(c.validate(kAzure).message(), "custom_headers: 9 headers, at most 8");
}

TEST(TmMonitorConfig, CustomHeaderNameMustBeAnHttpToken) {
  TmMonitorConfig c;
  for (const char* bad : {"", "X Bad", "X:Y", "X\tY", "Ä"}) {
    c.custom_headers = {{bad, "v"}};
    EXPECT_FALSE(c.validate(kAzure).is_ok()) << bad;
  }
  c.custom_headers = {{"X-Custom_1.a~!", "v"}};
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.custom_headers = {{"ok", "v"}, {"bad name", "v"}};
  EXPECT_EQ(c.validate(kAzure).message(),
            "custom_headers[1].name: \"bad name\" is not an HTTP header name");
}

TEST(TmMonitorConfig, CustomHeaderValueRefusesLineBreaks) {
  TmMonitorConfig c;
  c.custom_headers = {{"X-A", "1\r\nX-Injected: 1"}};
  EXPECT_EQ(c.validate(kAzure).message(), "custom_headers[0].value: has a control character");
  c.custom_headers = {{"X-A", "tab\tand space"}};
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.custom_headers = {{"X-A", ""}};
  EXPECT_TRUE(c.validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, HostHeaderRefusesAsterisk) {
  TmMonitorConfig c;
  c.custom_headers = {{"hOsT", "*.contoso.com"}};
  EXPECT_FALSE(c.validate(kAzure).is_ok());
  c.custom_headers = {{"Host", "www.contoso.com"}, {"X-Star", "*"}};
  EXPECT_TRUE(c.validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, HeadersAndStatusCodesAreOnlyForHttpProbes) {
  TmMonitorConfig c = tcp();
  c.custom_headers = {{"Host", "a"}};
  EXPECT_EQ(c.validate(kAzure).message(),
            "custom_headers: only HTTP and HTTPS probes send them, not TCP");
  c.custom_headers.clear();
  c.expected_status_codes = {{200, 299}};
  EXPECT_FALSE(c.validate(kAzure).is_ok());
  c.protocol = TmProbeProtocol::kGrpcHealth;
  EXPECT_FALSE(c.validate(kAzure).is_ok());
  c.protocol = TmProbeProtocol::kHttps;
  c.path = "/";
  EXPECT_TRUE(c.validate(kAzure).is_ok());
}

TEST(TmMonitorConfig, StatusCodeRangesAreAtMostEightWithinHundredToNineNineNine) {
  TmMonitorConfig c;
  c.expected_status_codes = {{100, 999}};
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.expected_status_codes = {{99, 200}};
  EXPECT_EQ(c.validate(kAzure).message(), "expected_status_codes[0]: 99-200 is outside 100..999");
  c.expected_status_codes = {{200, 1000}};
  EXPECT_FALSE(c.validate(kAzure).is_ok());
  c.expected_status_codes = {{200, 200}, {301, 300}};
  EXPECT_EQ(c.validate(kAzure).message(), "expected_status_codes[1]: 301-300 starts after it ends");
  c.expected_status_codes.assign(8, {200, 299});
  EXPECT_TRUE(c.validate(kAzure).is_ok());
  c.expected_status_codes.push_back({200, 299});
  EXPECT_EQ(c.validate(kAzure).message(), "expected_status_codes: 9 ranges, at most 8");
}

TEST(TmMonitorConfig, WithoutRangesOnlyStatus200IsSuccess) {
  TmMonitorConfig c;
  EXPECT_TRUE(is_expected_status_code(c, 200));
  for (int code : {199, 201, 204, 301, 302, 404, 500}) {
    EXPECT_FALSE(is_expected_status_code(c, code)) << code;
  }
}

TEST(TmMonitorConfig, ExpectedRangesAreInclusiveAndRedirectsFailUnlessListed) {
  TmMonitorConfig c;
  c.expected_status_codes = {{200, 299}, {301, 301}};
  for (int code : {200, 250, 299, 301}) EXPECT_TRUE(is_expected_status_code(c, code)) << code;
  for (int code : {199, 300, 302, 404, 503}) EXPECT_FALSE(is_expected_status_code(c, code)) << code;
}

TEST(TmMonitorConfig, ToMonitorConfigGivesHealthMonitorTheTiming) {
  TmMonitorConfig c = timing(10s, 9s);
  c.tolerated_failures = 0;
  MonitorConfig m = to_monitor_config(c);
  EXPECT_EQ(m.probe_interval, 10s);
  EXPECT_EQ(m.probe_timeout, 9s);
  EXPECT_EQ(m.tolerated_failures, 0u);
  EXPECT_TRUE(m.validate().is_ok());
}

TEST(TmMonitorConfig, FailoverEstimateMatchesTheDocumentedExample) {
  // facts.md: 10 + 3 × 10 = 40 s documented; (10 + 9) × 4 + 10 = 86 s worst case.
  TmMonitorConfig c = timing(10s, 9s);
  c.tolerated_failures = 3;
  TmFailoverEstimate e = estimate_failover(c, 10s);
  EXPECT_EQ(e.documented, 40s);
  EXPECT_EQ(e.worst_case, 86s);
}

TEST(TmMonitorConfig, FailoverEstimateWithZeroToleratedAndZeroTtl) {
  TmMonitorConfig c = timing(30s, 10s);
  c.tolerated_failures = 0;
  TmFailoverEstimate e = estimate_failover(c, 0s);
  EXPECT_EQ(e.documented, 0s);
  EXPECT_EQ(e.worst_case, 40s);
}

TEST(TmMonitorConfig, FailoverEstimateAtMillisecondScale) {
  TmMonitorConfig c = timing(100ms, 50ms);
  c.tolerated_failures = 2;
  TmFailoverEstimate e = estimate_failover(c, 500ms);
  EXPECT_EQ(e.documented, 700ms);
  EXPECT_EQ(e.worst_case, 950ms);
  EXPECT_GE(e.worst_case, e.documented);
}

TEST(TmMonitorConfig, ProtocolNames) {
  EXPECT_STREQ(tm_probe_protocol_name(TmProbeProtocol::kGrpcHealth), "gRPC health");
  EXPECT_STREQ(tm_probe_protocol_name(TmProbeProtocol::kHttps), "HTTPS");
}

}  // namespace
}  // namespace drsim::model
