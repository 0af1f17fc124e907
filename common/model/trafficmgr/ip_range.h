// IP addresses and address ranges as Traffic Manager's subnet routing reads them: CIDR
// ("1.2.3.0/24") or first-last ("1.2.3.4-1.2.3.9"), IPv4 or IPv6. Used by the profile model
// (validation, overlap) and by routing (which range holds the client's address).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace drsim::model {

enum class TmIpFamily { kIpv4, kIpv6 };

struct TmIpAddress {
  TmIpFamily family = TmIpFamily::kIpv4;
  // Network byte order; IPv4 uses the first 4 bytes, the rest stay zero.
  std::array<uint8_t, 16> bytes{};

  // Orders by family first, so an IPv4 address never falls inside an IPv6 range.
  auto operator<=>(const TmIpAddress&) const = default;
  std::string to_string() const;
};

// INVALID_ARGUMENT unless `text` is a dotted-quad IPv4 or an RFC 4291 IPv6 address.
Result<TmIpAddress> parse_ip_address(std::string_view text);

struct TmIpRange {
  TmIpAddress first;
  TmIpAddress last;

  bool contains(const TmIpAddress& ip) const { return first <= ip && ip <= last; }
  bool overlaps(const TmIpRange& other) const { return first <= other.last && other.first <= last; }
  bool operator==(const TmIpRange&) const = default;
  std::string to_string() const;  // "first-last"
};

// Parses "a.b.c.d/n" or "first-last" (both ends the same family). Azure's rules: the start of
// a range is not after its end, and a CIDR names its network address ("1.2.3.0/24", not
// "1.2.3.4/24").
Result<TmIpRange> parse_ip_range(std::string_view text);

}  // namespace drsim::model
