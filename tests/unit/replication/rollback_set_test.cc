// RollbackSet: the keys a discarded log suffix touched and their values at the common point.
#include "common/model/replication/rollback_set.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace drsim::model {
namespace {

std::map<std::string, std::optional<std::string>> as_map(const std::vector<KeyRestore>& v) {
  std::map<std::string, std::optional<std::string>> m;
  for (const auto& r : v) m[r.key] = r.value;
  return m;
}

TEST(RollbackSet, KeysGetTheirNewestValueAtOrBeforeTheCommonPoint) {
  RollbackSet set;
  set.add_discarded("a");  // discarded: a, b, a
  set.add_discarded("b");
  set.add_discarded("a");
  EXPECT_EQ(set.discarded_entries(), 3u);
  EXPECT_EQ(set.keys(), 2u);
  // Earlier entries, newest first: a=a2 (newest), x=..., a=a1 (older, ignored), b=b1.
  EXPECT_TRUE(set.on_earlier("a", std::string("a2")));
  EXPECT_TRUE(set.on_earlier("x", std::string("x1")));
  EXPECT_TRUE(set.on_earlier("a", std::string("a1")));
  EXPECT_FALSE(set.on_earlier("b", std::string("b1")));  // all resolved: stop scanning
  auto restores = set.finish(LogStart::kTrimmed);
  ASSERT_TRUE(restores.is_ok());
  auto m = as_map(*restores);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["a"], std::optional<std::string>("a2"));
  EXPECT_EQ(m["b"], std::optional<std::string>("b1"));
}

TEST(RollbackSet, KeyDeletedBeforeTheCommonPointIsDeletedAgain) {
  RollbackSet set;
  set.add_discarded("k");
  EXPECT_FALSE(set.on_earlier("k", std::nullopt));
  auto restores = set.finish(LogStart::kTrimmed);
  ASSERT_TRUE(restores.is_ok());
  ASSERT_EQ(restores->size(), 1u);
  EXPECT_FALSE((*restores)[0].value.has_value());
}

TEST(RollbackSet, KeyCreatedOnlyByTheDiscardedEntriesDisappearsWhenTheLogIsComplete) {
  RollbackSet set;
  set.add_discarded("new");
  set.add_discarded("old");
  set.on_earlier("old", std::string("v"));
  auto restores = set.finish(LogStart::kFromFirstWrite);
  ASSERT_TRUE(restores.is_ok());
  auto m = as_map(*restores);
  EXPECT_FALSE(m.at("new").has_value());
  EXPECT_EQ(m.at("old"), std::optional<std::string>("v"));
}

TEST(RollbackSet, UnknownValueBehindATrimmedLogIsRefused) {
  RollbackSet set;
  set.add_discarded("cold");
  auto restores = set.finish(LogStart::kTrimmed);
  ASSERT_FALSE(restores.is_ok());
  EXPECT_EQ(restores.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(restores.status().message().find("1 key(s)"), std::string::npos);
  EXPECT_EQ(set.unresolved(), 1u);
}

TEST(RollbackSet, NothingDiscardedNeedsNoScan) {
  RollbackSet set;
  EXPECT_FALSE(set.on_earlier("a", std::string("v")));
  auto restores = set.finish(LogStart::kTrimmed);
  ASSERT_TRUE(restores.is_ok());
  EXPECT_TRUE(restores->empty());
}

}  // namespace
}  // namespace drsim::model
