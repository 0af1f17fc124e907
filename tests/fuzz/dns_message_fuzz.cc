// The Traffic Manager's DNS codec on arbitrary packets: parse_dns_message / parse_dns_query
// never read outside the packet, and answer_dns_query answers every packet it does not drop
// with a reply that parses again and fits its transport's limit.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/model/dns/message.h"
#include "tests/fuzz/fuzz_check.h"

using namespace drsim::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> packet(data, size);
  auto message = parse_dns_message(packet);
  if (message.is_ok()) {
    // What parses re-encodes, and the encoding parses back to the same sections.
    auto again = parse_dns_message(encode_dns_message(*message));
    FUZZ_CHECK(again.is_ok());
    FUZZ_CHECK(again->questions.size() == message->questions.size());
    FUZZ_CHECK(again->answers.size() == message->answers.size());
    FUZZ_CHECK(again->authorities.size() == message->authorities.size());
    FUZZ_CHECK(again->additionals.size() == message->additionals.size());
  }
  (void)parse_dns_query(packet);

  static const DnsZone zone = [] {
    DnsZone z;
    z.name = parse_dns_name_text("drsim.trafficmanager.test").value();
    z.address = std::vector<uint8_t>{127, 0, 0, 11};
    z.ttl_seconds = 30;
    return z;
  }();
  for (DnsTransport transport : {DnsTransport::kUdp, DnsTransport::kTcp}) {
    auto reply = answer_dns_query(packet, zone, transport);
    if (!reply) continue;
    FUZZ_CHECK(reply->size() <=
               (transport == DnsTransport::kUdp ? kDnsEdnsUdpBytes : kMaxDnsTcpBytes));
    auto parsed = parse_dns_message(*reply);
    FUZZ_CHECK(parsed.is_ok());
    FUZZ_CHECK(parsed->header.qr);
  }
  return 0;
}
