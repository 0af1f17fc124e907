// The DNS wire codec and the Traffic Manager's authoritative answer: round trips, compression,
// hostile packets (pointer loops, every truncation, oversize labels, random bytes) and the
// rcode for each kind of query.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/core/rng.h"
#include "common/model/dns/message.h"

namespace drsim::model {
namespace {

using Bytes = std::vector<uint8_t>;

DnsName name_of(const std::string& text) {
  auto n = parse_dns_name_text(text);
  EXPECT_TRUE(n.is_ok()) << n.status().message();
  return n.is_ok() ? *n : DnsName{};
}

DnsQuestion question(const std::string& name, uint16_t qtype = kDnsTypeA,
                     uint16_t qclass = kDnsClassIn) {
  return DnsQuestion{name_of(name), qtype, qclass};
}

DnsZone zone(std::vector<uint8_t> address = {127, 0, 0, 11}, uint32_t ttl = 30) {
  return DnsZone{name_of("drsim.trafficmanager.test"), std::move(address), ttl};
}

// Answers `query` and parses the reply, which must exist and parse.
DnsMessage ask(const Bytes& query, const DnsZone& z = zone(),
               DnsTransport transport = DnsTransport::kUdp) {
  auto reply = answer_dns_query(query, z, transport);
  EXPECT_TRUE(reply.has_value());
  if (!reply) return {};
  auto parsed = parse_dns_message(*reply);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().message();
  return parsed.is_ok() ? *parsed : DnsMessage{};
}

// drsim.trafficmanager.test A IN, id 0x1234, RD set: the query the fuzz cases start from.
Bytes valid_query() { return encode_dns_query(0x1234, question("drsim.trafficmanager.test")); }

// A header with the given counts followed by `body`.
Bytes with_header(uint16_t qdcount, const Bytes& body, uint16_t arcount = 0) {
  Bytes p;
  p.reserve(kDnsHeaderBytes + body.size());
  for (uint8_t b : {0xAB, 0xCD, 0x01, 0x00}) p.push_back(b);  // id 0xABCD, RD
  for (uint16_t count : {qdcount, uint16_t{0}, uint16_t{0}, arcount}) {
    p.push_back(static_cast<uint8_t>(count >> 8));
    p.push_back(static_cast<uint8_t>(count));
  }
  for (uint8_t b : body) p.push_back(b);
  return p;
}

TEST(DnsMessage, QueryRoundTripsThroughEncodeAndParse) {
  Bytes wire = encode_dns_query(0xBEEF, question("Drsim.TrafficManager.test", kDnsTypeAaaa));
  auto q = parse_dns_query(wire);
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  EXPECT_EQ(q->header.id, 0xBEEF);
  EXPECT_TRUE(q->header.rd);
  EXPECT_FALSE(q->header.qr);
  EXPECT_EQ(q->question.name.to_string(), "Drsim.TrafficManager.test.");
  EXPECT_EQ(q->question.qtype, kDnsTypeAaaa);
  EXPECT_EQ(q->question.qclass, kDnsClassIn);
  EXPECT_FALSE(q->edns_udp_bytes.has_value());
  // 12 header + (1+5 + 1+14 + 1+4 + 1) name + 4 type/class.
  EXPECT_EQ(wire.size(), 12u + 27u + 4u);
}

TEST(DnsMessage, FullMessageRoundTripsWithEveryHeaderBit) {
  DnsMessage m;
  m.header = DnsHeader{0x0102, true, 2, true, true, true, true, 5};
  m.questions.push_back(question("a.b"));
  m.answers.push_back(DnsResourceRecord{name_of("a.b"), kDnsTypeA, kDnsClassIn, 7, {1, 2, 3, 4}});
  m.authorities.push_back(DnsResourceRecord{name_of("c.d"), 99, 3, 0xFFFFFFFF, {}});
  m.additionals.push_back(DnsResourceRecord{DnsName{}, kDnsTypeOpt, 4096, 0, {0, 10, 0, 0}});
  auto parsed = parse_dns_message(encode_dns_message(m));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  const DnsHeader& h = parsed->header;
  EXPECT_EQ(h.id, 0x0102);
  EXPECT_TRUE(h.qr && h.aa && h.tc && h.rd && h.ra);
  EXPECT_EQ(h.opcode, 2);
  EXPECT_EQ(h.rcode, 5);
  EXPECT_EQ(h.qdcount, 1);
  EXPECT_EQ(h.ancount, 1);
  EXPECT_EQ(h.nscount, 1);
  EXPECT_EQ(h.arcount, 1);
  ASSERT_EQ(parsed->answers.size(), 1u);
  EXPECT_EQ(parsed->answers[0].name.to_string(), "a.b.");
  EXPECT_EQ(parsed->answers[0].ttl_seconds, 7u);
  EXPECT_EQ(parsed->answers[0].rdata, (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(parsed->authorities[0].type, 99);
  EXPECT_EQ(parsed->authorities[0].rclass, 3);
  EXPECT_EQ(parsed->authorities[0].ttl_seconds, 0xFFFFFFFFu);
  EXPECT_TRUE(parsed->additionals[0].name.labels.empty());
  EXPECT_EQ(parsed->additionals[0].rclass, 4096);
}

TEST(DnsMessage, AnswerNameIsCompressedToAPointerAtTheQuestion) {
  DnsMessage m;
  m.questions.push_back(question("drsim.trafficmanager.test"));
  m.answers.push_back(DnsResourceRecord{
      name_of("DRSIM.trafficmanager.test"), kDnsTypeA, kDnsClassIn, 1, {127, 0, 0, 1}});
  Bytes wire = encode_dns_message(m);
  size_t answer_at = 12 + 27 + 4;
  ASSERT_EQ(wire.size(), answer_at + 2 + 10 + 4);
  EXPECT_EQ(wire[answer_at], 0xC0);
  EXPECT_EQ(wire[answer_at + 1], 12);
  auto parsed = parse_dns_message(wire);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed->answers[0].name.to_string(), "drsim.trafficmanager.test.");
}

TEST(DnsMessage, FollowsACompressionPointerInTheQuestion) {
  // Two questions: "example.test" then "www" + pointer to offset 12.
  Bytes body{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4,    't', 'e', 's', 't', 0,
             0, 1,   0,   1,   3,   'w', 'w', 'w', 0xC0, 12,  0,   28,  0,   1};
  auto m = parse_dns_message(with_header(2, body));
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  ASSERT_EQ(m->questions.size(), 2u);
  EXPECT_EQ(m->questions[1].name.to_string(), "www.example.test.");
  EXPECT_EQ(m->questions[1].qtype, kDnsTypeAaaa);
}

TEST(DnsMessage, FollowsAChainOfBackwardPointers) {
  // Question 3's name is "www" + a pointer to question 2's name, itself "example" + a pointer
  // to question 1's name "test".
  Bytes p = with_header(3, {});
  Bytes q1{4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};                        // name at 12
  Bytes q2{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0xC0, 12, 0, 1, 0, 1};  // name at 22
  Bytes q3{3, 'w', 'w', 'w', 0xC0, 22, 0, 1, 0, 1};
  p.insert(p.end(), q1.begin(), q1.end());
  p.insert(p.end(), q2.begin(), q2.end());
  p.insert(p.end(), q3.begin(), q3.end());
  auto m = parse_dns_message(p);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->questions[2].name.to_string(), "www.example.test.");
}

TEST(DnsMessage, RejectsAPointerToItself) {
  auto m = parse_dns_message(with_header(1, {0xC0, 12, 0, 1, 0, 1}));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("does not point backwards"), std::string::npos)
      << m.status().message();
}

TEST(DnsMessage, RejectsAPointerLoopThroughALabel) {
  // "a" at 12, then a pointer at 14 back to 12: reading from 12 reaches 14 again — a loop,
  // although the pointer itself points backwards.
  auto m = parse_dns_message(with_header(1, {1, 'a', 0xC0, 12, 0, 1, 0, 1}));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("does not point backwards"), std::string::npos);
}

TEST(DnsMessage, RejectsTwoPointersAimingAtEachOther) {
  // q1's name at 12 is a pointer to 18 (forward); q2 at 18 points to 12.
  auto m = parse_dns_message(with_header(2, {0xC0, 18, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1}));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("offset 12"), std::string::npos) << m.status().message();
}

TEST(DnsMessage, RejectsAPointerPastTheEnd) {
  auto m = parse_dns_message(with_header(1, {1, 'a', 0xFF, 0xFF, 0, 1, 0, 1}));
  EXPECT_FALSE(m.is_ok());
}

TEST(DnsMessage, RejectsALabelLongerThan63Bytes) {
  Bytes body{64};
  body.insert(body.end(), 64, 'x');
  body.insert(body.end(), {0, 0, 1, 0, 1});
  auto m = parse_dns_message(with_header(1, body));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("exceeds 63"), std::string::npos) << m.status().message();
  // 63 is fine.
  Bytes ok{63};
  ok.insert(ok.end(), 63, 'x');
  ok.insert(ok.end(), {0, 0, 1, 0, 1});
  EXPECT_TRUE(parse_dns_message(with_header(1, ok)).is_ok());
}

TEST(DnsMessage, RejectsReservedLabelType) {
  auto m = parse_dns_message(with_header(1, {0x80, 'x', 0, 0, 1, 0, 1}));
  EXPECT_FALSE(m.is_ok());
}

TEST(DnsMessage, RejectsANameLongerThan255Bytes) {
  // Four 63-byte labels: 4 * 64 + 1 = 257 bytes on the wire.
  Bytes body;
  for (int i = 0; i < 4; ++i) {
    body.push_back(63);
    body.insert(body.end(), 63, 'a');
  }
  body.insert(body.end(), {0, 0, 1, 0, 1});
  auto m = parse_dns_message(with_header(1, body));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("longer than 255"), std::string::npos);
  // 255 exactly: three 63-byte labels + one 61-byte label = 3*64 + 62 + 1 = 255.
  Bytes ok;
  for (int i = 0; i < 3; ++i) {
    ok.push_back(63);
    ok.insert(ok.end(), 63, 'a');
  }
  ok.push_back(61);
  ok.insert(ok.end(), 61, 'a');
  ok.insert(ok.end(), {0, 0, 1, 0, 1});
  EXPECT_TRUE(parse_dns_message(with_header(1, ok)).is_ok());
}

TEST(DnsMessage, RejectsANameMadeTooLongThroughPointers) {
  // A 200-byte name at 12, then 63 more bytes + pointer to it: 264 bytes once expanded.
  Bytes p = with_header(2, {});
  for (int i = 0; i < 4; ++i) {
    p.push_back(49);
    p.insert(p.end(), 49, 'a');
  }
  p.insert(p.end(), {0, 0, 1, 0, 1});
  p.push_back(63);
  p.insert(p.end(), 63, 'b');
  p.insert(p.end(), {0xC0, 12, 0, 1, 0, 1});
  auto m = parse_dns_message(p);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("longer than 255"), std::string::npos);
}

TEST(DnsMessage, EveryTruncationOfAValidQueryIsAClearError) {
  for (bool edns : {false, true}) {
    Bytes full = encode_dns_query(7, question("drsim.trafficmanager.test"),
                                  edns ? std::optional<uint16_t>(4096) : std::nullopt);
    ASSERT_TRUE(parse_dns_query(full).is_ok());
    for (size_t len = 0; len < full.size(); ++len) {
      // A copy of exactly `len` bytes, so ASan flags any read past it.
      Bytes cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
      auto q = parse_dns_query(cut);
      ASSERT_FALSE(q.is_ok()) << "length " << len;
      EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
      EXPECT_FALSE(q.status().message().empty());
      if (len < kDnsHeaderBytes) {
        EXPECT_NE(q.status().message().find("shorter than the 12-byte header"), std::string::npos);
        EXPECT_FALSE(answer_dns_query(cut, zone(), DnsTransport::kUdp).has_value());
      } else {
        EXPECT_EQ(ask(cut).header.rcode, static_cast<uint8_t>(DnsRcode::kFormErr)) << len;
      }
    }
  }
}

TEST(DnsMessage, RejectsTrailingBytes) {
  Bytes p = valid_query();
  p.push_back(0);
  auto q = parse_dns_query(p);
  ASSERT_FALSE(q.is_ok());
  EXPECT_NE(q.status().message().find("trailing"), std::string::npos);
}

TEST(DnsMessage, QueryNeedsExactlyOneQuestion) {
  Bytes p = valid_query();
  for (uint16_t qdcount : {0, 2, 65535}) {
    p[4] = static_cast<uint8_t>(qdcount >> 8);
    p[5] = static_cast<uint8_t>(qdcount);
    auto q = parse_dns_query(p);
    EXPECT_FALSE(q.is_ok()) << qdcount;
    EXPECT_EQ(ask(p).header.rcode, static_cast<uint8_t>(DnsRcode::kFormErr)) << qdcount;
  }
}

TEST(DnsMessage, DnsNameTextParsing) {
  EXPECT_EQ(name_of("a.b.").labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(name_of("a.b").labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(parse_dns_name_text("").is_ok());
  EXPECT_FALSE(parse_dns_name_text(".").is_ok());
  EXPECT_FALSE(parse_dns_name_text("a..b").is_ok());
  EXPECT_FALSE(parse_dns_name_text(std::string(64, 'x') + ".test").is_ok());
  EXPECT_TRUE(parse_dns_name_text(std::string(63, 'x') + ".test").is_ok());
  EXPECT_TRUE(dns_names_equal(name_of("DrSim.Test"), name_of("drsim.test.")));
  EXPECT_FALSE(dns_names_equal(name_of("drsim.test"), name_of("drsim.test.x")));
  DnsName odd{{"a.b", std::string("\x01 ", 2)}};
  EXPECT_EQ(odd.to_string(), "a\\.b.\\001\\032.");
}

// --- answer_dns_query --------------------------------------------------------------------

TEST(DnsAnswer, ARecordWithTtlForTheProfileName) {
  DnsMessage r = ask(encode_dns_query(0x4242, question("DRSIM.trafficmanager.TEST.")));
  EXPECT_EQ(r.header.id, 0x4242);
  EXPECT_TRUE(r.header.qr);
  EXPECT_TRUE(r.header.aa);
  EXPECT_TRUE(r.header.rd);
  EXPECT_FALSE(r.header.ra);
  EXPECT_FALSE(r.header.tc);
  EXPECT_EQ(r.header.rcode, 0);
  ASSERT_EQ(r.questions.size(), 1u);
  EXPECT_EQ(r.questions[0].name.to_string(), "DRSIM.trafficmanager.TEST.");  // case kept
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].type, kDnsTypeA);
  EXPECT_EQ(r.answers[0].rclass, kDnsClassIn);
  EXPECT_EQ(r.answers[0].ttl_seconds, 30u);
  EXPECT_EQ(r.answers[0].rdata, (Bytes{127, 0, 0, 11}));
  EXPECT_TRUE(r.additionals.empty());
}

TEST(DnsAnswer, RdClearIsCopied) {
  Bytes q = valid_query();
  q[2] &= 0xFE;
  EXPECT_FALSE(ask(q).header.rd);
}

TEST(DnsAnswer, TtlZeroStaysZero) {
  DnsMessage r = ask(valid_query(), zone({127, 0, 0, 12}, 0));
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].ttl_seconds, 0u);
  EXPECT_EQ(r.answers[0].rdata, (Bytes{127, 0, 0, 12}));
}

TEST(DnsAnswer, AnyGetsTheARecord) {
  DnsMessage r = ask(encode_dns_query(1, question("drsim.trafficmanager.test", kDnsTypeAny)));
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].type, kDnsTypeA);
}

TEST(DnsAnswer, AaaaForAnIpv4EndpointIsNodata) {
  DnsMessage r = ask(encode_dns_query(1, question("drsim.trafficmanager.test", kDnsTypeAaaa)));
  EXPECT_EQ(r.header.rcode, static_cast<uint8_t>(DnsRcode::kNoError));
  EXPECT_TRUE(r.header.aa);
  EXPECT_TRUE(r.answers.empty());
  EXPECT_EQ(r.questions.size(), 1u);
}

TEST(DnsAnswer, AaaaForAnIpv6EndpointAndNodataForA) {
  Bytes v6(16, 0);
  v6[15] = 1;
  DnsMessage r =
      ask(encode_dns_query(1, question("drsim.trafficmanager.test", kDnsTypeAaaa)), zone(v6));
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].type, kDnsTypeAaaa);
  EXPECT_EQ(r.answers[0].rdata, v6);
  EXPECT_TRUE(ask(valid_query(), zone(v6)).answers.empty());
}

TEST(DnsAnswer, OtherTypeForTheNameIsNodata) {
  DnsMessage r = ask(encode_dns_query(1, question("drsim.trafficmanager.test", 15 /* MX */)));
  EXPECT_EQ(r.header.rcode, 0);
  EXPECT_TRUE(r.answers.empty());
}

TEST(DnsAnswer, OtherNameIsNxdomain) {
  for (const char* name :
       {"other.trafficmanager.test", "x.drsim.trafficmanager.test", "trafficmanager.test"}) {
    DnsMessage r = ask(encode_dns_query(9, question(name)));
    EXPECT_EQ(r.header.rcode, static_cast<uint8_t>(DnsRcode::kNxDomain)) << name;
    EXPECT_TRUE(r.header.aa);
    EXPECT_TRUE(r.answers.empty());
    EXPECT_EQ(r.header.id, 9);
  }
}

TEST(DnsAnswer, NonInClassIsRefused) {
  DnsMessage r = ask(encode_dns_query(1, question("drsim.trafficmanager.test", kDnsTypeA, 3)));
  EXPECT_EQ(r.header.rcode, static_cast<uint8_t>(DnsRcode::kRefused));
  EXPECT_FALSE(r.header.aa);
  EXPECT_TRUE(r.answers.empty());
}

TEST(DnsAnswer, OpcodeOtherThanQueryIsNotImp) {
  for (uint8_t opcode : {1, 2, 4, 5, 15}) {
    Bytes q = valid_query();
    q[2] = static_cast<uint8_t>((q[2] & 0x87) | (opcode << 3));
    DnsMessage r = ask(q);
    EXPECT_EQ(r.header.rcode, static_cast<uint8_t>(DnsRcode::kNotImp)) << int(opcode);
    EXPECT_EQ(r.header.opcode, opcode);
    EXPECT_EQ(r.header.id, 0x1234);
  }
}

TEST(DnsAnswer, MalformedWithReadableHeaderIsFormErrEchoingTheId) {
  Bytes q = with_header(1, {0xC0, 12, 0, 1, 0, 1});
  DnsMessage r = ask(q);
  EXPECT_EQ(r.header.rcode, static_cast<uint8_t>(DnsRcode::kFormErr));
  EXPECT_EQ(r.header.id, 0xABCD);
  EXPECT_TRUE(r.header.qr);
  EXPECT_TRUE(r.header.rd);
  EXPECT_TRUE(r.questions.empty());
}

TEST(DnsAnswer, ResponsesAndShortPacketsAreDropped) {
  Bytes q = valid_query();
  q[2] |= 0x80;  // QR
  EXPECT_FALSE(answer_dns_query(q, zone(), DnsTransport::kUdp).has_value());
  EXPECT_FALSE(answer_dns_query(Bytes{}, zone(), DnsTransport::kUdp).has_value());
  EXPECT_FALSE(answer_dns_query(Bytes(11, 0), zone(), DnsTransport::kTcp).has_value());
}

TEST(DnsAnswer, NoRouteYetIsServFail) {
  DnsZone z = zone();
  z.address.reset();
  EXPECT_EQ(ask(valid_query(), z).header.rcode, static_cast<uint8_t>(DnsRcode::kServFail));
}

TEST(DnsAnswer, EdnsQueryGetsAnOptRecordBack) {
  DnsMessage r = ask(encode_dns_query(1, question("drsim.trafficmanager.test"), 4096));
  ASSERT_EQ(r.answers.size(), 1u);
  ASSERT_EQ(r.additionals.size(), 1u);
  EXPECT_EQ(r.additionals[0].type, kDnsTypeOpt);
  EXPECT_EQ(r.additionals[0].rclass, kDnsEdnsUdpBytes);
  EXPECT_EQ(r.additionals[0].ttl_seconds, 0u);
}

TEST(DnsAnswer, UnknownEdnsVersionIsBadVers) {
  Bytes q = encode_dns_query(1, question("drsim.trafficmanager.test"), 4096);
  q[q.size() - 5] = 1;  // OPT TTL: ext-rcode, VERSION, flags(2); then rdlength(2)
  DnsMessage r = ask(q);
  EXPECT_EQ(r.header.rcode, 0);
  ASSERT_EQ(r.additionals.size(), 1u);
  EXPECT_EQ(r.additionals[0].ttl_seconds >> 24, 1u);  // BADVERS = 16 = 1 << 4
  EXPECT_TRUE(r.answers.empty());
}

TEST(DnsAnswer, TwoOptRecordsAreFormErr) {
  DnsMessage m;
  m.questions.push_back(question("drsim.trafficmanager.test"));
  DnsResourceRecord opt{DnsName{}, kDnsTypeOpt, 1232, 0, {}};
  m.additionals = {opt, opt};
  EXPECT_EQ(ask(encode_dns_message(m)).header.rcode, static_cast<uint8_t>(DnsRcode::kFormErr));
}

// The per-query lookup the Traffic Manager routes with.
DnsMessage ask_lookup(const Bytes& query, const DnsLookupFn& lookup) {
  auto reply = answer_dns_query(query, lookup, DnsTransport::kUdp);
  EXPECT_TRUE(reply.has_value());
  if (!reply) return {};
  auto parsed = parse_dns_message(*reply);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().message();
  return parsed.is_ok() ? *parsed : DnsMessage{};
}

TEST(DnsLookupAnswer, EveryAddressOfTheAskedTypeIsAnAnswerWithTheLookupsTtl) {
  int calls = 0;
  auto lookup = [&](const DnsQuestion& q) {
    ++calls;
    EXPECT_EQ(q.name.to_string(), "multi.trafficmanager.test.");
    return DnsLookup{DnsRcode::kNoError,
                     {{127, 0, 0, 21}, Bytes(16, 1), {127, 0, 0, 22}},
                     7};
  };
  DnsMessage a = ask_lookup(encode_dns_query(1, question("multi.trafficmanager.test")), lookup);
  ASSERT_EQ(a.answers.size(), 2u);
  EXPECT_EQ(a.answers[0].rdata, (Bytes{127, 0, 0, 21}));
  EXPECT_EQ(a.answers[1].rdata, (Bytes{127, 0, 0, 22}));
  EXPECT_EQ(a.answers[1].ttl_seconds, 7u);
  DnsMessage aaaa = ask_lookup(
      encode_dns_query(2, question("multi.trafficmanager.test", kDnsTypeAaaa)), lookup);
  ASSERT_EQ(aaaa.answers.size(), 1u);
  EXPECT_EQ(aaaa.answers[0].type, kDnsTypeAaaa);
  EXPECT_EQ(calls, 2);
}

TEST(DnsLookupAnswer, NoAddressesIsNoDataAndTheLookupsRcodeIsKept) {
  auto nodata = [](const DnsQuestion&) { return DnsLookup{DnsRcode::kNoError, {}, 5}; };
  DnsMessage r = ask_lookup(valid_query(), nodata);
  EXPECT_EQ(r.header.rcode, 0);
  EXPECT_TRUE(r.header.aa);
  EXPECT_TRUE(r.answers.empty());
  auto nx = [](const DnsQuestion&) { return DnsLookup{DnsRcode::kNxDomain, {}, 0}; };
  EXPECT_EQ(ask_lookup(valid_query(), nx).header.rcode,
            static_cast<uint8_t>(DnsRcode::kNxDomain));
}

TEST(DnsLookupAnswer, MalformedQueryNeverReachesTheLookup) {
  bool called = false;
  auto lookup = [&](const DnsQuestion&) {
    called = true;
    return DnsLookup{};
  };
  Bytes q = valid_query();
  q.resize(q.size() - 2);  // cut the question's class
  auto reply = answer_dns_query(q, lookup, DnsTransport::kUdp);
  ASSERT_TRUE(reply.has_value());
  EXPECT_FALSE(called);
}

TEST(DnsMessage, ResponseOver512BytesIsTruncatedForUdp) {
  DnsMessage m;
  m.header.qr = true;
  m.questions.push_back(question("drsim.trafficmanager.test"));
  for (int i = 0; i < 40; ++i) {  // 40 * 16 bytes = 640 > 512
    m.answers.push_back(DnsResourceRecord{name_of("drsim.trafficmanager.test"),
                                          kDnsTypeA,
                                          kDnsClassIn,
                                          1,
                                          {127, 0, 0, static_cast<uint8_t>(i)}});
  }
  Bytes udp = encode_dns_response(m, kMaxDnsUdpBytes);
  EXPECT_LE(udp.size(), kMaxDnsUdpBytes);
  auto parsed = parse_dns_message(udp);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->header.tc);
  EXPECT_TRUE(parsed->answers.empty());
  EXPECT_EQ(parsed->questions.size(), 1u);
  // The same message fits an EDNS0 size or TCP untouched.
  auto big = parse_dns_message(encode_dns_response(m, kDnsEdnsUdpBytes));
  ASSERT_TRUE(big.is_ok());
  EXPECT_FALSE(big->header.tc);
  EXPECT_EQ(big->answers.size(), 40u);
}

// Random bytes, and valid queries with random bytes flipped: the parser and the responder
// must never crash or read out of bounds (run under ASan/UBSan to prove the second), and any
// reply they produce must itself parse.
TEST(DnsMessage, SeededFuzzNeverCrashes) {
  Rng rng(20240601);
  const Bytes seed_query = encode_dns_query(3, question("drsim.trafficmanager.test"), 1232);
  size_t parsed_ok = 0, replies = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes p;
    if (i % 2 == 0) {
      p.resize(rng.below(80));
      for (auto& b : p) b = static_cast<uint8_t>(rng.next());
      // Make some of them plausible headers: QR clear, qdcount 1.
      if (p.size() >= 12 && rng.below(2) == 0) {
        p[2] &= 0x7F;
        p[4] = 0;
        p[5] = 1;
      }
    } else {
      p = seed_query;
      size_t flips = 1 + rng.below(4);
      for (size_t f = 0; f < flips; ++f) {
        p[rng.below(p.size())] = static_cast<uint8_t>(rng.next());
      }
      if (rng.below(4) == 0) p.resize(rng.below(p.size() + 1));
    }
    Bytes exact(p);  // exactly sized heap copy: ASan catches a read one past the end
    if (parse_dns_message(exact).is_ok()) ++parsed_ok;
    (void)parse_dns_query(exact);
    for (auto transport : {DnsTransport::kUdp, DnsTransport::kTcp}) {
      auto reply = answer_dns_query(exact, zone(), transport);
      if (!reply) continue;
      ++replies;
      ASSERT_TRUE(parse_dns_message(*reply).is_ok()) << "reply to fuzz case " << i;
      ASSERT_LE(reply->size(), transport == DnsTransport::kUdp ? kDnsEdnsUdpBytes : 65535u);
    }
  }
  // The loop exercised both paths, not only the short-header exit.
  EXPECT_GT(parsed_ok, 100u);
  EXPECT_GT(replies, 1000u);
}

}  // namespace
}  // namespace drsim::model
