#include "common/model/dns/message.h"

#include <algorithm>
#include <cstdio>

#include "common/core/check.h"

namespace drsim::model {

namespace {

// A chain of compression pointers this long is already absurd; the strictly-backwards rule
// ends every chain anyway, this only bounds the work on a hostile packet.
constexpr int kMaxPointerHops = 64;
constexpr uint8_t kPointerBits = 0xC0;
constexpr uint8_t kDnsRcodeBadVers = 16;  // RFC 6891: extended rcode, upper 8 bits in OPT

Status malformed(size_t offset, const std::string& why) {
  return invalid_argument("offset " + std::to_string(offset) + ": " + why);
}

uint16_t read_u16(std::span<const uint8_t> p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

uint32_t read_u32(std::span<const uint8_t> p, size_t at) {
  return (static_cast<uint32_t>(p[at]) << 24) | (static_cast<uint32_t>(p[at + 1]) << 16) |
         (static_cast<uint32_t>(p[at + 2]) << 8) | p[at + 3];
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool labels_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Reads the name at *pos and moves *pos past it where it sits (past the first pointer, if any).
// Every pointer must aim strictly before the start of the run of labels it ends: each jump then
// lowers that start, so no pointer chain can loop, however the packet is built.
Status read_name(std::span<const uint8_t> p, size_t* pos, DnsName* out) {
  size_t cursor = *pos;
  size_t run_start = cursor;
  std::optional<size_t> resume;  // where the name ends in place, once a pointer was followed
  size_t wire_bytes = 1;         // the root label
  int hops = 0;
  out->labels.clear();
  while (true) {
    if (cursor >= p.size()) return malformed(cursor, "name runs past the end of the message");
    uint8_t len = p[cursor];
    if ((len & kPointerBits) == kPointerBits) {
      if (cursor + 1 >= p.size()) return malformed(cursor, "compression pointer is cut off");
      size_t target = static_cast<size_t>(read_u16(p, cursor) & 0x3FFF);
      if (target >= run_start) {
        return malformed(cursor, "compression pointer to offset " + std::to_string(target) +
                                     " does not point backwards (a loop or a forward reference)");
      }
      if (++hops > kMaxPointerHops) return malformed(cursor, "too many compression pointers");
      if (!resume) resume = cursor + 2;
      cursor = run_start = target;
      continue;
    }
    if (len & kPointerBits) {
      // 0x40 and 0x80 are the extended and reserved label types (RFC 6891 5), unsupported; as
      // a length they would be 64..191 bytes, over the 63-byte label limit.
      return malformed(cursor, "label length " + std::to_string(len) + " exceeds " +
                                   std::to_string(kMaxDnsLabelBytes) +
                                   " (extended label types are not supported)");
    }
    if (len == 0) break;
    if (cursor + 1 + len > p.size()) {
      return malformed(
          cursor, "label of " + std::to_string(len) + " bytes runs past the end of the message");
    }
    wire_bytes += 1 + len;
    if (wire_bytes > kMaxDnsNameBytes) {
      return malformed(cursor, "name longer than " + std::to_string(kMaxDnsNameBytes) + " bytes");
    }
    out->labels.emplace_back(reinterpret_cast<const char*>(p.data() + cursor + 1), len);
    cursor += 1 + len;
  }
  *pos = resume ? *resume : cursor + 1;
  return Status::ok();
}

Status read_question(std::span<const uint8_t> p, size_t* pos, DnsQuestion* out) {
  if (Status s = read_name(p, pos, &out->name); !s.is_ok()) return s;
  if (*pos + 4 > p.size()) return malformed(*pos, "question type and class are cut off");
  out->qtype = read_u16(p, *pos);
  out->qclass = read_u16(p, *pos + 2);
  *pos += 4;
  return Status::ok();
}

Status read_record(std::span<const uint8_t> p, size_t* pos, DnsResourceRecord* out) {
  if (Status s = read_name(p, pos, &out->name); !s.is_ok()) return s;
  if (*pos + 10 > p.size()) return malformed(*pos, "record header is cut off");
  out->type = read_u16(p, *pos);
  out->rclass = read_u16(p, *pos + 2);
  out->ttl_seconds = read_u32(p, *pos + 4);
  size_t rdlength = read_u16(p, *pos + 8);
  *pos += 10;
  if (*pos + rdlength > p.size()) {
    return malformed(*pos, "record data of " + std::to_string(rdlength) +
                               " bytes runs past the end of the message");
  }
  out->rdata.assign(p.begin() + static_cast<ptrdiff_t>(*pos),
                    p.begin() + static_cast<ptrdiff_t>(*pos + rdlength));
  *pos += rdlength;
  return Status::ok();
}

class Writer {
 public:
  explicit Writer(const DnsName* compress_to) : compress_to_(compress_to) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  // The first question's name always sits at offset 12; later copies become a pointer there.
  void name(const DnsName& n) {
    if (compress_to_ && out_.size() > kDnsHeaderBytes && dns_names_equal(n, *compress_to_)) {
      u16(static_cast<uint16_t>(0xC000 | kDnsHeaderBytes));
      return;
    }
    size_t wire_bytes = 1;
    for (const auto& label : n.labels) {
      DRSIM_CHECK(!label.empty() && label.size() <= kMaxDnsLabelBytes);
      wire_bytes += 1 + label.size();
      u8(static_cast<uint8_t>(label.size()));
      out_.insert(out_.end(), label.begin(), label.end());
    }
    DRSIM_CHECK(wire_bytes <= kMaxDnsNameBytes);
    u8(0);
  }
  void record(const DnsResourceRecord& r) {
    name(r.name);
    u16(r.type);
    u16(r.rclass);
    u32(r.ttl_seconds);
    DRSIM_CHECK(r.rdata.size() <= 0xFFFF);
    u16(static_cast<uint16_t>(r.rdata.size()));
    out_.insert(out_.end(), r.rdata.begin(), r.rdata.end());
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  const DnsName* compress_to_;
  std::vector<uint8_t> out_;
};

uint16_t count16(size_t n) {
  DRSIM_CHECK(n <= 0xFFFF);
  return static_cast<uint16_t>(n);
}

DnsResourceRecord opt_record(uint8_t extended_rcode) {
  DnsResourceRecord opt;
  opt.type = kDnsTypeOpt;
  opt.rclass = static_cast<uint16_t>(kDnsEdnsUdpBytes);
  opt.ttl_seconds = static_cast<uint32_t>(extended_rcode) << 24;  // version 0, no DO flag
  return opt;
}

}  // namespace

std::string dns_rcode_name(uint8_t rcode) {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    case kDnsRcodeBadVers:
      return "BADVERS";
  }
  return "RCODE" + std::to_string(rcode);
}

std::string DnsName::to_string() const {
  if (labels.empty()) return ".";
  std::string out;
  for (const auto& label : labels) {
    for (char c : label) {
      auto u = static_cast<unsigned char>(c);
      if (c == '.' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u <= 0x20 || u >= 0x7F) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", u);
        out += buf;
      } else {
        out += c;
      }
    }
    out += '.';
  }
  return out;
}

bool dns_names_equal(const DnsName& a, const DnsName& b) {
  return std::equal(a.labels.begin(), a.labels.end(), b.labels.begin(), b.labels.end(),
                    labels_equal);
}

Result<DnsName> parse_dns_name_text(const std::string& text) {
  std::string body = text;
  if (!body.empty() && body.back() == '.') body.pop_back();
  if (body.empty()) return invalid_argument("DNS name '" + text + "' is empty");
  DnsName name;
  size_t wire_bytes = 1;
  size_t start = 0;
  while (true) {
    size_t dot = body.find('.', start);
    std::string label = body.substr(start, dot == std::string::npos ? dot : dot - start);
    if (label.empty()) return invalid_argument("DNS name '" + text + "' has an empty label");
    if (label.size() > kMaxDnsLabelBytes) {
      return invalid_argument("DNS name '" + text + "': label '" + label + "' is longer than " +
                              std::to_string(kMaxDnsLabelBytes) + " bytes");
    }
    wire_bytes += 1 + label.size();
    name.labels.push_back(std::move(label));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (wire_bytes > kMaxDnsNameBytes) {
    return invalid_argument("DNS name '" + text + "' is longer than " +
                            std::to_string(kMaxDnsNameBytes) + " bytes on the wire");
  }
  return name;
}

Result<DnsHeader> parse_dns_header(std::span<const uint8_t> p) {
  if (p.size() < kDnsHeaderBytes) {
    return invalid_argument("message of " + std::to_string(p.size()) +
                            " bytes is shorter than the 12-byte header");
  }
  DnsHeader h;
  h.id = read_u16(p, 0);
  h.qr = p[2] & 0x80;
  h.opcode = (p[2] >> 3) & 0x0F;
  h.aa = p[2] & 0x04;
  h.tc = p[2] & 0x02;
  h.rd = p[2] & 0x01;
  h.ra = p[3] & 0x80;
  h.rcode = p[3] & 0x0F;
  h.qdcount = read_u16(p, 4);
  h.ancount = read_u16(p, 6);
  h.nscount = read_u16(p, 8);
  h.arcount = read_u16(p, 10);
  return h;
}

Result<DnsMessage> parse_dns_message(std::span<const uint8_t> p) {
  auto header = parse_dns_header(p);
  if (!header.is_ok()) return header.status();
  DnsMessage m;
  m.header = *header;
  size_t pos = kDnsHeaderBytes;
  // Counts are attacker-controlled: records are appended one at a time as they parse, never
  // reserved up front, and each consumes at least 5 bytes, so the loops end with the packet.
  for (uint16_t i = 0; i < m.header.qdcount; ++i) {
    DnsQuestion q;
    if (Status s = read_question(p, &pos, &q); !s.is_ok()) {
      return invalid_argument("question " + std::to_string(i + 1) + " of " +
                              std::to_string(m.header.qdcount) + ": " + s.message());
    }
    m.questions.push_back(std::move(q));
  }
  struct Section {
    const char* name;
    uint16_t count;
    std::vector<DnsResourceRecord>* records;
  };
  for (const Section& section : {Section{"answer", m.header.ancount, &m.answers},
                                 Section{"authority", m.header.nscount, &m.authorities},
                                 Section{"additional", m.header.arcount, &m.additionals}}) {
    for (uint16_t i = 0; i < section.count; ++i) {
      DnsResourceRecord r;
      if (Status s = read_record(p, &pos, &r); !s.is_ok()) {
        return invalid_argument(std::string(section.name) + " record " + std::to_string(i + 1) +
                                " of " + std::to_string(section.count) + ": " + s.message());
      }
      section.records->push_back(std::move(r));
    }
  }
  if (pos != p.size()) {
    return malformed(pos, std::to_string(p.size() - pos) + " trailing bytes after the last record");
  }
  return m;
}

Result<DnsQuery> parse_dns_query(std::span<const uint8_t> p) {
  auto message = parse_dns_message(p);
  if (!message.is_ok()) return message.status();
  const DnsMessage& m = *message;
  if (m.header.qr) return invalid_argument("QR is set: a response, not a query");
  if (m.questions.size() != 1) {
    return invalid_argument("qdcount is " + std::to_string(m.questions.size()) +
                            "; a query has exactly one question");
  }
  if (!m.answers.empty()) {
    return invalid_argument("ancount is " + std::to_string(m.answers.size()) +
                            "; a query has no answers");
  }
  DnsQuery q;
  q.header = m.header;
  q.question = m.questions.front();
  for (const auto& r : m.additionals) {
    if (r.type != kDnsTypeOpt) continue;
    if (q.edns_udp_bytes) return invalid_argument("more than one OPT record (RFC 6891 6.1.1)");
    if (!r.name.labels.empty()) return invalid_argument("OPT record not owned by the root name");
    q.edns_udp_bytes = r.rclass;
    q.edns_version = static_cast<uint8_t>(r.ttl_seconds >> 16);
  }
  return q;
}

std::vector<uint8_t> encode_dns_message(const DnsMessage& m) {
  Writer w(m.questions.empty() ? nullptr : &m.questions.front().name);
  const DnsHeader& h = m.header;
  w.u16(h.id);
  w.u8(static_cast<uint8_t>((h.qr ? 0x80 : 0) | ((h.opcode & 0x0F) << 3) | (h.aa ? 0x04 : 0) |
                            (h.tc ? 0x02 : 0) | (h.rd ? 0x01 : 0)));
  w.u8(static_cast<uint8_t>((h.ra ? 0x80 : 0) | (h.rcode & 0x0F)));
  w.u16(count16(m.questions.size()));
  w.u16(count16(m.answers.size()));
  w.u16(count16(m.authorities.size()));
  w.u16(count16(m.additionals.size()));
  for (const auto& q : m.questions) {
    w.name(q.name);
    w.u16(q.qtype);
    w.u16(q.qclass);
  }
  for (const auto& r : m.answers) w.record(r);
  for (const auto& r : m.authorities) w.record(r);
  for (const auto& r : m.additionals) w.record(r);
  return w.take();
}

std::vector<uint8_t> encode_dns_query(uint16_t id, const DnsQuestion& question,
                                      std::optional<uint16_t> edns_udp_bytes) {
  DnsMessage m;
  m.header.id = id;
  m.header.rd = true;
  m.questions.push_back(question);
  if (edns_udp_bytes) {
    DnsResourceRecord opt = opt_record(0);
    opt.rclass = *edns_udp_bytes;
    m.additionals.push_back(std::move(opt));
  }
  return encode_dns_message(m);
}

std::vector<uint8_t> encode_dns_response(const DnsMessage& message, size_t max_bytes) {
  std::vector<uint8_t> full = encode_dns_message(message);
  if (full.size() <= max_bytes) return full;
  // Keep the question (so the client can match the reply) and the OPT record (so it knows the
  // payload size we accept), drop the rest and say so with TC.
  DnsMessage truncated;
  truncated.header = message.header;
  truncated.header.tc = true;
  truncated.questions = message.questions;
  for (const auto& r : message.additionals) {
    if (r.type == kDnsTypeOpt) truncated.additionals.push_back(r);
  }
  return encode_dns_message(truncated);
}

std::optional<std::vector<uint8_t>> answer_dns_query(std::span<const uint8_t> packet,
                                                     const DnsLookupFn& lookup,
                                                     DnsTransport transport) {
  auto header = parse_dns_header(packet);
  if (!header.is_ok() || header->qr) return std::nullopt;

  DnsMessage reply;
  reply.header.id = header->id;
  reply.header.qr = true;
  reply.header.opcode = header->opcode;
  reply.header.rd = header->rd;  // RA stays clear: this server never recurses
  size_t max_bytes = transport == DnsTransport::kTcp ? kMaxDnsTcpBytes : kMaxDnsUdpBytes;
  auto finish = [&](DnsRcode rcode) {
    reply.header.rcode = static_cast<uint8_t>(rcode);
    // AA only where we speak for the name (an answer, NODATA, NXDOMAIN); a refusal or an error
    // asserts nothing about it.
    reply.header.aa = rcode == DnsRcode::kNoError || rcode == DnsRcode::kNxDomain;
    return encode_dns_response(reply, max_bytes);
  };

  // Without knowing the opcode's layout we cannot trust the rest, so answer from the header.
  if (header->opcode != static_cast<uint8_t>(DnsOpcode::kQuery)) return finish(DnsRcode::kNotImp);
  auto query = parse_dns_query(packet);
  if (!query.is_ok()) return finish(DnsRcode::kFormErr);

  if (query->edns_udp_bytes) {
    if (transport == DnsTransport::kUdp) {
      max_bytes = std::clamp<size_t>(*query->edns_udp_bytes, kMaxDnsUdpBytes, kDnsEdnsUdpBytes);
    }
    // RFC 6891 6.1.1: a reply to an EDNS query carries our OPT record.
    reply.additionals.push_back(opt_record(0));
  }
  reply.questions.push_back(query->question);  // echoed as received, case included (RFC 4343)
  if (query->edns_udp_bytes && query->edns_version != 0) {
    // BADVERS = 16: low 4 bits (0) in the header, high 8 bits (1) in OPT (RFC 6891 6.1.3).
    reply.additionals.back() = opt_record(kDnsRcodeBadVers >> 4);
    reply.header.rcode = kDnsRcodeBadVers & 0x0F;
    return encode_dns_response(reply, max_bytes);
  }
  const DnsQuestion& q = query->question;
  if (q.qclass != kDnsClassIn) return finish(DnsRcode::kRefused);
  // No SOA in the authority section of NXDOMAIN / NODATA: without one, resolvers do not cache
  // the negative answer (RFC 2308 5), which is what a failover drill wants.
  DnsLookup found = lookup(q);
  if (found.rcode != DnsRcode::kNoError) return finish(found.rcode);
  for (const auto& address : found.addresses) {
    DRSIM_CHECK(address.size() == 4 || address.size() == 16);
    uint16_t type = address.size() == 4 ? kDnsTypeA : kDnsTypeAaaa;
    if (q.qtype != type && q.qtype != kDnsTypeAny) continue;
    DnsResourceRecord answer;
    answer.name = q.name;
    answer.type = type;
    answer.rclass = kDnsClassIn;
    answer.ttl_seconds = found.ttl_seconds;
    answer.rdata = address;
    reply.answers.push_back(std::move(answer));
  }
  return finish(DnsRcode::kNoError);
}

std::optional<std::vector<uint8_t>> answer_dns_query(std::span<const uint8_t> packet,
                                                     const DnsZone& zone, DnsTransport transport) {
  DRSIM_CHECK(!zone.address || zone.address->size() == 4 || zone.address->size() == 16);
  return answer_dns_query(
      packet,
      [&zone](const DnsQuestion& q) {
        DnsLookup found;
        if (!dns_names_equal(q.name, zone.name)) {
          found.rcode = DnsRcode::kNxDomain;
        } else if (!zone.address) {
          found.rcode = DnsRcode::kServFail;
        } else {
          found.addresses = {*zone.address};
          found.ttl_seconds = zone.ttl_seconds;
        }
        return found;
      },
      transport);
}

}  // namespace drsim::model
