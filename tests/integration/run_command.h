// Runs a shell command built by a test (dig, never input) and returns its stdout. Shared by the
// integration tests that call dig.
#pragma once

#include <cstdio>
#include <string>

namespace drsim::inttest {

inline std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

}  // namespace drsim::inttest
