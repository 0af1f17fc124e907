// A blocking one-question DNS client over UDP (RFC 1035), for callers outside the event loop:
// `drsim load --resolve dns` resolving the profile name like an application's stub resolver,
// and tests. Encoding and parsing are model/dns_message's.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/dns/message.h"

namespace drsim::net {

struct DnsClientAnswer {
  uint8_t rcode = 0;                   // model::DnsRcode; NOERROR with no addresses is NODATA
  std::vector<std::string> addresses;  // A / AAAA answers as text, in answer order
  uint32_t ttl_seconds = 0;            // the smallest answer TTL (0 with no answers)
};

// Sends one query for `name` of type `qtype` to `server` ("127.0.0.1:PORT") from `source_ip`
// ("" = any loopback address the kernel picks) and waits up to `timeout` for the reply with
// its id. UNAVAILABLE when the socket fails, DEADLINE_EXCEEDED without a reply,
// INVALID_ARGUMENT for a malformed one.
Result<DnsClientAnswer> dns_query_udp(const std::string& server, const std::string& name,
                                      uint16_t qtype, std::chrono::milliseconds timeout,
                                      const std::string& source_ip = "");

}  // namespace drsim::net
