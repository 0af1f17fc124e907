// IP addresses and ranges for subnet routing: CIDR and first-last forms, IPv4 and IPv6,
// Azure's network-address and start-before-end rules, containment and overlap.
#include <gtest/gtest.h>

#include "common/model/trafficmgr/ip_range.h"

namespace drsim::model {
namespace {

TmIpAddress ip(const char* text) {
  Result<TmIpAddress> r = parse_ip_address(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().to_string();
  return r.is_ok() ? r.value() : TmIpAddress{};
}

TmIpRange range(const char* text) {
  Result<TmIpRange> r = parse_ip_range(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().to_string();
  return r.is_ok() ? r.value() : TmIpRange{};
}

TEST(TmIpRange, ParsesIpv4AndIpv6Addresses) {
  EXPECT_EQ(ip("10.1.2.3").family, TmIpFamily::kIpv4);
  EXPECT_EQ(ip("10.1.2.3").to_string(), "10.1.2.3");
  EXPECT_EQ(ip("2001:db8::1").family, TmIpFamily::kIpv6);
  EXPECT_EQ(ip("2001:DB8:0::1").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::ffff:1.2.3.4").family, TmIpFamily::kIpv6);
}

TEST(TmIpRange, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "1.2.3.4.5", "host.example", "1.2.3.4:80",
                          " 1.2.3.4", "2001:db8:::1"}) {
    Result<TmIpAddress> r = parse_ip_address(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(TmIpRange, CidrCoversItsWholeNetwork) {
  TmIpRange r = range("10.1.0.0/16");
  EXPECT_EQ(r.first, ip("10.1.0.0"));
  EXPECT_EQ(r.last, ip("10.1.255.255"));
  EXPECT_TRUE(r.contains(ip("10.1.77.3")));
  EXPECT_FALSE(r.contains(ip("10.2.0.0")));
  EXPECT_FALSE(r.contains(ip("10.0.255.255")));
  EXPECT_EQ(range("10.1.2.0/23").to_string(), "10.1.2.0-10.1.3.255");
}

TEST(TmIpRange, CidrMustNameTheNetworkAddress) {
  // Azure FAQ: 1.2.3.0/24 is valid, 1.2.3.4/24 is not.
  Result<TmIpRange> r = parse_ip_range("1.2.3.4/24");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "\"1.2.3.4/24\": the address before '/' must be the network address");
  EXPECT_FALSE(parse_ip_range("2001:db8::1/64").is_ok());
}

TEST(TmIpRange, CidrPrefixLengthsAtTheEdges) {
  EXPECT_TRUE(range("0.0.0.0/0").contains(ip("255.255.255.255")));
  TmIpRange host = range("1.2.3.4/32");
  EXPECT_EQ(host.first, host.last);
  EXPECT_TRUE(host.contains(ip("1.2.3.4")));
  EXPECT_TRUE(range("::/0").contains(ip("ffff::1")));
  EXPECT_TRUE(range("2001:db8::1/128").contains(ip("2001:db8::1")));
  EXPECT_TRUE(range("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
  for (const char* bad :
       {"1.2.3.0/33", "::/129", "1.2.3.0/", "1.2.3.0/x", "1.2.3.0/-1", "1.2.3.0/24/1", "/24"}) {
    EXPECT_FALSE(parse_ip_range(bad).is_ok()) << bad;
  }
}

TEST(TmIpRange, FirstLastRangeIsInclusive) {
  TmIpRange r = range("1.2.3.4-5.6.7.8");
  EXPECT_TRUE(r.contains(ip("1.2.3.4")));
  EXPECT_TRUE(r.contains(ip("5.6.7.8")));
  EXPECT_TRUE(r.contains(ip("3.0.0.0")));
  EXPECT_FALSE(r.contains(ip("1.2.3.3")));
  EXPECT_FALSE(r.contains(ip("5.6.7.9")));
  EXPECT_TRUE(range("1.2.3.4-1.2.3.4").contains(ip("1.2.3.4")));
  EXPECT_TRUE(range("2001:db8::1-2001:db8::ff").contains(ip("2001:db8::80")));
}

TEST(TmIpRange, FirstLastRangeRefusesReversedOrMixedEnds) {
  EXPECT_EQ(parse_ip_range("5.6.7.8-1.2.3.4").status().message(),
            "\"5.6.7.8-1.2.3.4\": the start is after the end");
  EXPECT_EQ(parse_ip_range("1.2.3.4-::1").status().message(),
            "\"1.2.3.4-::1\": both ends must be IPv4 or both IPv6");
  EXPECT_FALSE(parse_ip_range("1.2.3.4-").is_ok());
  EXPECT_FALSE(parse_ip_range("1.2.3.4").is_ok());
}

TEST(TmIpRange, Ipv4AddressIsNeverInsideAnIpv6Range) {
  EXPECT_FALSE(range("::/0").contains(ip("1.2.3.4")));
  EXPECT_FALSE(range("0.0.0.0/0").contains(ip("::1")));
  EXPECT_FALSE(range("::/0").overlaps(range("0.0.0.0/0")));
}

TEST(TmIpRange, OverlapIncludesASharedEndAddress) {
  EXPECT_TRUE(range("10.0.0.0/24").overlaps(range("10.0.0.255-10.0.1.5")));
  EXPECT_FALSE(range("10.0.0.0/24").overlaps(range("10.0.1.0/24")));
  EXPECT_TRUE(range("10.0.0.0/8").overlaps(range("10.5.0.0/16")));
  EXPECT_TRUE(range("10.5.0.0/16").overlaps(range("10.0.0.0/8")));
}

}  // namespace
}  // namespace drsim::model
