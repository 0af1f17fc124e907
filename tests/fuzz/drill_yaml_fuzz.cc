// `drsim drill run FILE` on arbitrary text: an error value naming the file, never a crash or
// an escaping exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/drill.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto drill = drsim::cli::parse_drill(text, "fuzz.yaml");
  if (!drill.is_ok()) FUZZ_CHECK(drill.status().message().find("fuzz.yaml") == 0);
  return 0;
}
