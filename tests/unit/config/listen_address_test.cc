#include "common/config/listen_address.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace drsim::config {
namespace {

TEST(ParseHostPort, AcceptsNamesIpv4AndBracketedIpv6) {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
  };
  const std::vector<Case> good = {
      {"localhost:8080", "localhost", 8080},
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"10.1.2.3:65535", "10.1.2.3", 65535},
      {"db.example.test:1", "db.example.test", 1},
      {"[::1]:0", "::1", 0},
      {"[::1]:53", "::1", 53},
      {"[fe80::1%eth0]:443", "fe80::1%eth0", 443},
      {"[2001:db8::7]:00080", "2001:db8::7", 80},
  };
  for (const auto& c : good) {
    auto parsed = parse_host_port("--listen", c.text);
    ASSERT_TRUE(parsed.is_ok()) << c.text << ": " << parsed.status().message();
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_TRUE(validate_listen_address("--listen", c.text).is_ok()) << c.text;
  }
}

TEST(ParseHostPort, RefusesNamingWhatTheTextAndWhy) {
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> bad = {
      {"", "is not host:port (no colon)"},
      {"localhost", "is not host:port (no colon)"},
      {":80", "host is empty"},
      {"127.0.0.1:", "port is missing"},
      {"127.0.0.1:http", "port 'http' is not a number in 0..65535"},
      {"127.0.0.1:-1", "port '-1' is not a number in 0..65535"},
      {"127.0.0.1: 80", "port ' 80' is not a number in 0..65535"},
      {"127.0.0.1:80 ", "port '80 ' is not a number in 0..65535"},
      {"127.0.0.1:65536", "port 65536 is out of range 0..65535"},
      {"127.0.0.1:99999999999999999999", "port 99999999999999999999 is out of range 0..65535"},
      {"::1:80", "an IPv6 host needs brackets: [::1]:port"},
      {"::1", "an IPv6 host needs brackets"},
      {"fe80::1:8080", "an IPv6 host needs brackets"},
      {"[::1]", "is not [IPv6]:port (no ':port' after ']')"},
      {"[::1]80", "is not [IPv6]:port"},
      {"[::1:80", "'[' without ']'"},
      {"[]:80", "host is empty"},
      {"[127.0.0.1]:80", "brackets hold an IPv6 address only ('127.0.0.1' is not one)"},
      {"[::1]:", "port is missing"},
      {"[::1]:x", "port 'x' is not a number"},
      {"[::1]:70000", "port 70000 is out of range 0..65535"},
      {"[::1]:80:81", "port '80:81' is not a number"},
  };
  for (const auto& c : bad) {
    auto parsed = parse_host_port("--listen", c.text);
    ASSERT_FALSE(parsed.is_ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.text;
    const std::string& m = parsed.status().message();
    EXPECT_EQ(m.rfind("--listen: '" + c.text + "': ", 0), 0u) << c.text << " -> " << m;
    EXPECT_NE(m.find(c.says), std::string::npos) << c.text << " -> " << m;
    EXPECT_EQ(validate_listen_address("--listen", c.text).message(), m);
  }
}

TEST(ParseHostPort, PortZeroRefusedForAnAddressToDial) {
  EXPECT_TRUE(parse_host_port("upstream", "127.0.0.1:1", PortZero::kRefused).is_ok());
  EXPECT_TRUE(parse_host_port("upstream", "[::1]:65535", PortZero::kRefused).is_ok());
  for (const std::string text : {"127.0.0.1:0", "[::1]:0", "localhost:00000"}) {
    auto parsed = parse_host_port("upstream", text, PortZero::kRefused);
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_NE(parsed.status().message().find("upstream: '" + text + "': port "), std::string::npos)
        << parsed.status().message();
    EXPECT_NE(parsed.status().message().find("is out of range 1..65535"), std::string::npos)
        << parsed.status().message();
  }
  auto words = parse_host_port("upstream", "127.0.0.1:x", PortZero::kRefused);
  EXPECT_NE(words.status().message().find("is not a number in 1..65535"), std::string::npos)
      << words.status().message();
}

TEST(JoinHostPort, BracketsIpv6AndParsesBack) {
  EXPECT_EQ(join_host_port("127.0.0.1", 0), "127.0.0.1:0");
  EXPECT_EQ(join_host_port("localhost", 8080), "localhost:8080");
  EXPECT_EQ(join_host_port("::1", 53), "[::1]:53");
  EXPECT_EQ(join_host_port("2001:db8::7", 65535), "[2001:db8::7]:65535");
  for (const auto& [host, port] : std::vector<std::pair<std::string, uint16_t>>{
           {"10.0.0.1", 1}, {"::1", 0}, {"fe80::1%eth0", 443}, {"db.test", 65535}}) {
    auto back = parse_host_port("x", join_host_port(host, port));
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_EQ(back->host, host);
    EXPECT_EQ(back->port, port);
  }
}

}  // namespace
}  // namespace drsim::config
