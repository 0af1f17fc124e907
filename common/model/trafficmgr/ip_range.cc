#include "common/model/trafficmgr/ip_range.h"

#include <arpa/inet.h>

#include <charconv>

namespace drsim::model {

namespace {

size_t byte_count(TmIpFamily family) { return family == TmIpFamily::kIpv4 ? 4 : 16; }

}  // namespace

std::string TmIpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = family == TmIpFamily::kIpv4 ? AF_INET : AF_INET6;
  inet_ntop(af, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<TmIpAddress> parse_ip_address(std::string_view text) {
  // inet_pton is a pure parser (no resolver); it needs a NUL-terminated copy.
  const std::string s(text);
  TmIpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = TmIpFamily::kIpv4;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = TmIpFamily::kIpv6;
    return ip;
  }
  return invalid_argument("\"" + s + "\" is not an IPv4 or IPv6 address");
}

std::string TmIpRange::to_string() const { return first.to_string() + "-" + last.to_string(); }

Result<TmIpRange> parse_ip_range(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    Result<TmIpAddress> base = parse_ip_address(text.substr(0, slash));
    if (!base.is_ok()) return base.status();
    const size_t bits = byte_count(base->family) * 8;
    std::string_view len_text = text.substr(slash + 1);
    size_t prefix = 0;
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
    if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() ||
        prefix > bits) {
      return invalid_argument(quoted + ": prefix length must be 0.." + std::to_string(bits));
    }
    TmIpRange range{*base, *base};
    for (size_t bit = prefix; bit < bits; ++bit) {
      const auto mask = static_cast<uint8_t>(0x80u >> (bit % 8));
      if (range.first.bytes[bit / 8] & mask) {
        return invalid_argument(quoted + ": the address before '/' must be the network address");
      }
      range.last.bytes[bit / 8] |= mask;
    }
    return range;
  }
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    return invalid_argument(quoted + ": expected CIDR (1.2.3.0/24) or first-last");
  }
  Result<TmIpAddress> first = parse_ip_address(text.substr(0, dash));
  if (!first.is_ok()) return first.status();
  Result<TmIpAddress> last = parse_ip_address(text.substr(dash + 1));
  if (!last.is_ok()) return last.status();
  if (first->family != last->family) {
    return invalid_argument(quoted + ": both ends must be IPv4 or both IPv6");
  }
  if (*last < *first) return invalid_argument(quoted + ": the start is after the end");
  return TmIpRange{*first, *last};
}

}  // namespace drsim::model
