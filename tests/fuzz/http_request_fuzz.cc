// The HTTP servers' request reading (Beast's parser with drsim's limits, then drsim's rules)
// on arbitrary bytes: never crashes, and what it hands a route is a GET/HEAD-able origin-form
// request (a path starting with '/'), with Host on HTTP/1.1.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/net/http_request.h"
#include "tests/fuzz/fuzz_check.h"

using drsim::net::HttpReadOutcome;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const drsim::net::HttpServerLimits limits;  // the servers' defaults
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  HttpReadOutcome out = drsim::net::read_http_request(bytes, limits);
  switch (out.kind) {
    case HttpReadOutcome::Kind::kRequest: {
      const auto& r = out.request;
      FUZZ_CHECK(!r.path.empty() && r.path.front() == '/');
      FUZZ_CHECK(r.target.compare(0, r.path.size(), r.path) == 0);
      FUZZ_CHECK(out.version == 10 || out.version == 11);
      break;
    }
    case HttpReadOutcome::Kind::kReject:
      FUZZ_CHECK(out.status >= 400 && out.status < 500);
      FUZZ_CHECK(!out.why.empty());
      break;
    case HttpReadOutcome::Kind::kClose:
      break;
  }
  return 0;
}
