#include "common/core/names.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/confined_path.h"

namespace drsim {
namespace {

TEST(Names, GoodNamesPass) {
  for (const char* good : {"vm-web", "a", "A.b_c-9", "db.1", "...", ".hidden", "x..y",
                           "0123456789012345678901234567890123456789012345678901234567890123"}) {
    EXPECT_TRUE(validate_name("group", good).is_ok()) << good;
  }
}

TEST(Names, BadNamesAreRefusedNamingTheFieldAndTheRule) {
  struct Case {
    std::string name;
    std::string says;
  };
  const std::vector<Case> bad = {
      {"", "group: must not be empty"},
      {".", "is not a name"},
      {"..", "is not a name"},
      {"/../../../../victim", "may use only letters, digits"},
      {"../victim", "may use only letters, digits"},
      {"a/b", "may use only letters, digits"},
      {"/etc", "may use only letters, digits"},
      {"vm web", "may use only letters, digits"},
      {"vm\nweb", "'vm\\x0aweb' may use only"},
      {std::string("vm\0x", 4), "may use only letters, digits"},
      {"caf\xc3\xa9", "may use only letters, digits"},
      {"$(reboot)", "may use only letters, digits"},
      {std::string(65, 'a'), "is 65 bytes; a name is at most 64"},
  };
  for (const auto& c : bad) {
    Status s = validate_name("group", c.name);
    ASSERT_FALSE(s.is_ok()) << c.name;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(s.message().rfind("group: ", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
  }
}

TEST(ConfinedPath, StaysUnderItsBase) {
  auto p = confined_path("/data/r.points", "vm-web/3", "checkpoint");
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->string(), "/data/r.points/vm-web/3");
  auto q = confined_path("/data/r.points/", "a/./b/../c", "checkpoint");
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  EXPECT_EQ(q->string(), "/data/r.points/a/c");
  auto rel = confined_path("home/primary", "x", "f");
  ASSERT_TRUE(rel.is_ok());
  EXPECT_EQ(rel->string(), "home/primary/x");
}

TEST(ConfinedPath, RefusesWhatLeavesItsBase) {
  for (const char* escape : {"/../../../../victim", "/etc", "..", "../r.points-other", "a/../../b",
                             "test-failover-/../../../../victim", "", ".", "a/.."}) {
    auto p = confined_path("/data/r.points", escape, "test failover copy");
    ASSERT_FALSE(p.is_ok()) << escape << " -> " << (p.is_ok() ? p->string() : "");
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(p.status().message().rfind("test failover copy: ", 0), 0u) << p.status().message();
  }
}

}  // namespace
}  // namespace drsim
