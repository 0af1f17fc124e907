// DNS wire codec (RFC 1035, EDNS0 per RFC 6891) and the authoritative answer for one name, with
// no I/O. The Traffic Manager's DNS server hands every received packet to answer_dns_query and
// sends back what it returns; tests use the encoder and parser as a client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/core/status.h"

namespace drsim::model {

inline constexpr size_t kDnsHeaderBytes = 12;
inline constexpr size_t kMaxDnsLabelBytes = 63;   // RFC 1035 2.3.4
inline constexpr size_t kMaxDnsNameBytes = 255;   // wire form, length octets and root included
inline constexpr size_t kMaxDnsUdpBytes = 512;    // RFC 1035 4.2.1, without EDNS0
inline constexpr size_t kMaxDnsTcpBytes = 65535;  // the 2-byte length prefix
// What this server offers over UDP with EDNS0: the 2020 DNS flag day value, which avoids IP
// fragmentation on any path (irrelevant on loopback, but it is what clients expect).
inline constexpr size_t kDnsEdnsUdpBytes = 1232;

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAaaa = 28;
inline constexpr uint16_t kDnsTypeOpt = 41;
inline constexpr uint16_t kDnsTypeAny = 255;
inline constexpr uint16_t kDnsClassIn = 1;

enum class DnsOpcode : uint8_t { kQuery = 0, kIQuery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };

enum class DnsRcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// "NOERROR", "FORMERR", … as dig prints them; "RCODE<n>" for others.
std::string dns_rcode_name(uint8_t rcode);

struct DnsHeader {
  uint16_t id = 0;
  bool qr = false;  // a response
  uint8_t opcode = 0;
  bool aa = false;  // authoritative answer
  bool tc = false;  // truncated
  bool rd = false;  // recursion desired
  bool ra = false;  // recursion available
  uint8_t rcode = 0;
  // Section counts. On parse: as received. On encode: ignored, taken from the vectors.
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;
};

// Labels as received, without the root label. Labels are raw bytes (a label may hold a '.');
// comparison is ASCII case-insensitive (RFC 4343).
struct DnsName {
  std::vector<std::string> labels;

  // Presentation form: "a.b.c." with '.' and '\' escaped and other bytes outside printable
  // ASCII as \DDD; "." for the root.
  std::string to_string() const;
};

bool dns_names_equal(const DnsName& a, const DnsName& b);

// Parses "drsim.trafficmanager.test" or "drsim.trafficmanager.test." (no escapes). INVALID_ARGUMENT
// for an empty label, a label over 63 bytes or a name over 255 bytes.
Result<DnsName> parse_dns_name_text(const std::string& text);

struct DnsQuestion {
  DnsName name;
  uint16_t qtype = kDnsTypeA;
  uint16_t qclass = kDnsClassIn;
};

struct DnsResourceRecord {
  DnsName name;
  uint16_t type = kDnsTypeA;
  uint16_t rclass = kDnsClassIn;  // for OPT: the sender's UDP payload size
  uint32_t ttl_seconds = 0;       // for OPT: extended rcode, version, flags
  std::vector<uint8_t> rdata;
};

struct DnsMessage {
  DnsHeader header;
  std::vector<DnsQuestion> questions;
  std::vector<DnsResourceRecord> answers;
  std::vector<DnsResourceRecord> authorities;
  std::vector<DnsResourceRecord> additionals;
};

// Parses a whole message. INVALID_ARGUMENT saying what and where ("offset 12: label of 64
// bytes exceeds 63") for anything malformed: short header, a section running past the end,
// bad label type, a compression pointer that does not point backwards (that rule alone makes
// loops impossible) or past the end, a name over 255 bytes, trailing bytes. Never reads
// outside `packet`.
Result<DnsMessage> parse_dns_message(std::span<const uint8_t> packet);

// Only the 12-byte header, so a server can answer FORMERR with the right id when the rest is
// garbage. INVALID_ARGUMENT when shorter than 12 bytes.
Result<DnsHeader> parse_dns_header(std::span<const uint8_t> packet);

// A query a server can answer: one question, QR clear, and the EDNS0 OPT record if present.
struct DnsQuery {
  DnsHeader header;
  DnsQuestion question;
  std::optional<uint16_t> edns_udp_bytes;  // the client's advertised payload size
  uint8_t edns_version = 0;
};

// parse_dns_message plus the rules for a query: QR clear, exactly one question, no answer
// records, at most one OPT (owned by the root name) in the additional section.
Result<DnsQuery> parse_dns_query(std::span<const uint8_t> packet);

// Encodes `message`; section counts come from the vectors. Names equal to the first
// question's name are written as a pointer to it (offset 12). Names must be valid (checked).
std::vector<uint8_t> encode_dns_message(const DnsMessage& message);

// A client query: RD set, one question, an OPT record advertising `edns_udp_bytes` if given.
std::vector<uint8_t> encode_dns_query(uint16_t id, const DnsQuestion& question,
                                      std::optional<uint16_t> edns_udp_bytes = std::nullopt);

// Encodes a response and keeps it within `max_bytes`: when the full message is longer, the
// answer, authority and non-OPT additional records are dropped and TC is set, so the client
// retries over TCP (RFC 1035 4.2.1, RFC 2181 9).
std::vector<uint8_t> encode_dns_response(const DnsMessage& message, size_t max_bytes);

// What the server answers for its one name right now.
struct DnsZone {
  DnsName name;
  // 4 bytes (an A record) or 16 (AAAA); nullopt while nothing is routed yet (SERVFAIL).
  std::optional<std::vector<uint8_t>> address;
  uint32_t ttl_seconds = 0;
};

enum class DnsTransport { kUdp, kTcp };

// The authoritative reply to one received packet, or nullopt when it must be dropped (shorter
// than a header, or itself a response: answering responses lets two servers loop). Replies
// have QR and AA set, RD copied, RA clear, and the question echoed as received:
//   opcode other than QUERY → NOTIMP; unparseable → FORMERR; class other than IN → REFUSED;
//   another name → NXDOMAIN; A (or ANY) for the name → the A record; a type the address is
//   not (AAAA for an IPv4 endpoint, MX, …) → NODATA (NOERROR, no answer); no route → SERVFAIL;
//   EDNS version other than 0 → BADVERS (RFC 6891 6.1.3).
// UDP replies are truncated (TC) beyond 512 bytes, or the client's EDNS0 size capped at 1232.
std::optional<std::vector<uint8_t>> answer_dns_query(std::span<const uint8_t> packet,
                                                     const DnsZone& zone, DnsTransport transport);

// What a server answers for one question, decided by its caller per query (the Traffic
// Manager routes each query on its own: a weighted draw, the client's subnet).
struct DnsLookup {
  // kNoError with addresses (the records of the asked type among them are answered, none is
  // NODATA), kNxDomain, or kServFail.
  DnsRcode rcode = DnsRcode::kNoError;
  std::vector<std::vector<uint8_t>> addresses;  // 4 bytes (A) or 16 (AAAA) each
  uint32_t ttl_seconds = 0;
};
// Called once for each well-formed IN query, with its question.
using DnsLookupFn = std::function<DnsLookup(const DnsQuestion& question)>;

// The same rules as above with the answer for the name asked coming from `lookup`: every
// address of the asked type (A or AAAA; ANY takes all) is an answer record.
std::optional<std::vector<uint8_t>> answer_dns_query(std::span<const uint8_t> packet,
                                                     const DnsLookupFn& lookup,
                                                     DnsTransport transport);

}  // namespace drsim::model
