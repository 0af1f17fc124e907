// Temporary directories of tests: made under the system temp directory and removed once the test
// is done — unless it failed, when they stay and their path is printed on stderr, so its logs and
// data can be looked at (DRSIM_KEEP_TEST_DIRS=1 keeps every one). Header-only, on gtest alone,
// so the fixtures of tests that do not link tests/support (web_fixture.h, trafficmgr_fixture.h,
// faultproxy_test.cc, html_report_test.cc) use it too.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace drsim::testing {

// Removes `dir` and everything under it, unless the running test has failed (then prints where it
// is kept) or DRSIM_KEEP_TEST_DIRS is set. For a fixture's TearDown, or the end of a test body.
inline void remove_test_dir(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  if (::testing::Test::HasFailure()) {
    std::cerr << "the test failed: its directory is kept: " << dir.string() << "\n";
    return;
  }
  if (std::getenv("DRSIM_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

namespace temp_dir_internal {

// Every directory make_temp_dir made in this test process, removed when the process exits — by
// then each test has stopped what it started in them — unless a test of the process failed.
class Registry {
 public:
  ~Registry() {
    // gtest's UnitTest outlives this: it was made before the first test made a directory.
    const bool failed = ::testing::UnitTest::GetInstance()->Failed();
    for (const auto& d : dirs_) {
      std::error_code ec;
      if (!std::filesystem::exists(d, ec)) continue;
      if (failed) {
        std::cerr << "a test failed: its directory is kept: " << d << "\n";
      } else if (std::getenv("DRSIM_KEEP_TEST_DIRS") == nullptr) {
        std::filesystem::remove_all(d, ec);
      }
    }
  }
  void add(std::string dir) {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.push_back(std::move(dir));
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

inline Registry& registry() {
  static Registry dirs;
  return dirs;
}

}  // namespace temp_dir_internal

// A new directory "<temp dir>/<prefix>-XXXXXX" ("" when it cannot be made), removed when the
// test process exits unless one of its tests failed (see Registry). A fixture that owns one
// removes it sooner, in TearDown, with remove_test_dir.
inline std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return "";
  temp_dir_internal::registry().add(buf.data());
  return buf.data();
}

}  // namespace drsim::testing
