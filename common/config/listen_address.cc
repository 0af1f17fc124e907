#include "common/config/listen_address.h"

#include <string>

namespace drsim::config {

namespace {

// The port after the colon: digits only, in 0..65535 (1..65535 when zero is refused). An empty
// string when it is one, else why not.
std::string port_problem(const std::string& port, PortZero zero, uint16_t* out) {
  const char* range = zero == PortZero::kAllowed ? "0..65535" : "1..65535";
  if (port.empty()) return "port is missing (host:port)";
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return "port '" + port + "' is not a number in " + range;
    if (value <= 65535) value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535 || (value == 0 && zero == PortZero::kRefused)) {
    return "port " + port + " is out of range " + range;
  }
  *out = static_cast<uint16_t>(value);
  return "";
}

}  // namespace

Result<HostPort> parse_host_port(const std::string& what, const std::string& text, PortZero zero) {
  auto bad = [&](const std::string& why) {
    return invalid_argument(what + ": '" + text + "': " + why);
  };
  HostPort out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return bad("'[' without ']' (an IPv6 host is [::1]:port)");
    if (close + 1 == text.size() || text[close + 1] != ':') {
      return bad("is not [IPv6]:port (no ':port' after ']')");
    }
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (out.host.empty()) return bad("host is empty");
    if (out.host.find(':') == std::string::npos) {
      return bad("brackets hold an IPv6 address only ('" + out.host + "' is not one)");
    }
  } else {
    auto colon = text.find(':');
    if (colon == std::string::npos) return bad("is not host:port (no colon)");
    if (text.find(':', colon + 1) != std::string::npos) {
      return bad("an IPv6 host needs brackets: [::1]:port");
    }
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (out.host.empty()) return bad("host is empty");
  }
  if (std::string why = port_problem(port, zero, &out.port); !why.empty()) return bad(why);
  return out;
}

std::string join_host_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status validate_listen_address(const std::string& flag, const std::string& address) {
  return parse_host_port(flag, address).status();
}

}  // namespace drsim::config
