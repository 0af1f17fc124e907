// `drsim cost --prices FILE` on arbitrary text: an error value naming the file, or a price
// list with no negative price; never a crash or an escaping exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/price_file.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto prices = drsim::cli::parse_price_file(text, "fuzz.yaml");
  if (!prices.is_ok()) {
    FUZZ_CHECK(prices.status().message().find("fuzz.yaml") == 0);
  } else {
    FUZZ_CHECK(prices->validate().is_ok());
  }
  return 0;
}
