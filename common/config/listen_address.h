// Reading and writing "host:port" addresses given on a command line, in a config file or in an
// RPC field: one parser for every flag, field and daemon, so that "[::1]:0", a missing port and
// a non-numeric port mean the same thing everywhere.
#pragma once

#include <cstdint>
#include <string>

#include "common/core/status.h"

namespace drsim::config {

// A parsed address; `host` is a name or an IP literal, without the brackets of "[::1]:53".
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Whether port 0 ("any free port") is accepted: yes for a listen address, no for one to dial.
enum class PortZero { kAllowed, kRefused };

// Parses "host:port", "1.2.3.4:port" or "[v6]:port". INVALID_ARGUMENT "what: 'text': why" for a
// missing colon or port, an empty host, a port that is not a number in 0..65535 (1..65535 with
// PortZero::kRefused), or an IPv6 address without brackets.
Result<HostPort> parse_host_port(const std::string& what, const std::string& text,
                                 PortZero zero = PortZero::kAllowed);

// "host:port", with brackets when the host is an IPv6 literal: what parse_host_port reads back.
std::string join_host_port(const std::string& host, uint16_t port);

// parse_host_port's verdict on a listen address (port 0 allowed). Error names the flag.
Status validate_listen_address(const std::string& flag, const std::string& address);

}  // namespace drsim::config
