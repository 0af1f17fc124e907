// cli::parse_backup_verb reuses one parser per thread from step to step: a check must not carry
// anything over from the one before it (a required option given last time, a verb parsed last
// time), and each answer is what a fresh parser gives.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/backup_commands.h"

namespace drsim::cli {
namespace {

std::string check(const std::string& line) {
  auto r = parse_backup_verb(line);
  return r.is_ok() ? "ok" : r.status().message();
}

TEST(BackupVerbCheck, EachLineIsJudgedAloneWhateverWasCheckedBefore) {
  const std::vector<std::string> lines = {
      "vault create rsv --redundancy GRS",
      "vault create rsv --redundancy XYZ",
      "backup now rsv vm-db",
      "backup now rsv",                        // a required positional missing
      "snapshot create vm-db-osdisk snap-1",
      "snapshot create",                       // both missing
      "image capture vm-app img-app",
      "vm set vm-app --power running",
      "vm set vm-app --power sideways",
      "cost",
      "nonsense verb",
      "",
      "vault",                                 // a group without its verb
  };
  // What each line gets first, in this order...
  std::vector<std::string> first;
  for (const auto& l : lines) first.push_back(check(l));
  // ...it gets again after every other line, and in reverse order.
  for (size_t i = 0; i < lines.size(); ++i) {
    for (size_t j = 0; j < lines.size(); ++j) {
      check(lines[j]);
      EXPECT_EQ(check(lines[i]), first[i]) << "'" << lines[i] << "' after '" << lines[j] << "'";
    }
  }
  EXPECT_EQ(first[0], "ok");
  EXPECT_NE(first[1], "ok");
  EXPECT_EQ(first[2], "ok");
  EXPECT_NE(first[3].find("vm"), std::string::npos) << first[3];
  EXPECT_EQ(first[4], "ok");
  EXPECT_NE(first[5], "ok");
  EXPECT_EQ(first[7], "ok");
  EXPECT_NE(first[8], "ok");
  EXPECT_EQ(first[9], "ok");
  EXPECT_NE(first[10], "ok");
  EXPECT_NE(first[11], "ok");
  EXPECT_NE(first[12], "ok");
  EXPECT_EQ(first[10].rfind("\"nonsense verb\": ", 0), 0u) << first[10];
}

}  // namespace
}  // namespace drsim::cli
