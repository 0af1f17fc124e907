// GeoCopyIntake: the paired region keeps at most one blob per source that no applied op names
// (the one being filled); a chunk for another unnamed blob drops the earlier one, a named blob
// is refused, a blob named since its last chunk stays.
#include <gtest/gtest.h>

#include <set>

#include "common/model/backup/geo_copy_intake.h"

namespace drsim::model {
namespace {

struct Named {
  std::set<uint64_t> ids;
  GeoCopyIntake::NamedFn fn() const {
    return [this](uint64_t b) { return ids.count(b) > 0; };
  }
};

TEST(GeoCopyIntake, TheSourcesOrderBlobThenOpThenNextBlobDropsNothing) {
  GeoCopyIntake intake;
  Named named;
  for (uint64_t blob : {1u, 2u, 5u}) {
    for (int chunk = 0; chunk < 3; ++chunk) {  // chunks, then a resend from the first chunk
      auto d = intake.on_chunk(blob, named.fn());
      EXPECT_EQ(d.kind, GeoChunkDecision::Kind::kStore);
      EXPECT_FALSE(d.drop_blob.has_value()) << "blob " << blob << " chunk " << chunk;
    }
    named.ids.insert(blob);  // the op naming it applies
  }
  EXPECT_EQ(intake.filling(), 5u);
}

TEST(GeoCopyIntake, AChunkForAnotherUnnamedBlobDropsTheOneBeingFilled) {
  GeoCopyIntake intake;
  Named named;
  EXPECT_FALSE(intake.on_chunk(10, named.fn()).drop_blob.has_value());
  for (uint64_t blob = 11; blob < 100; ++blob) {
    auto d = intake.on_chunk(blob, named.fn());
    EXPECT_EQ(d.kind, GeoChunkDecision::Kind::kStore);
    ASSERT_TRUE(d.drop_blob.has_value());
    EXPECT_EQ(*d.drop_blob, blob - 1);
  }
  EXPECT_EQ(intake.filling(), 99u);
}

TEST(GeoCopyIntake, ANamedBlobIsRefusedAndDoesNotChangeWhatIsBeingFilled) {
  GeoCopyIntake intake;
  Named named{{3}};
  intake.on_chunk(4, named.fn());
  auto d = intake.on_chunk(3, named.fn());
  EXPECT_EQ(d.kind, GeoChunkDecision::Kind::kRefuseNamed);
  EXPECT_FALSE(d.drop_blob.has_value());
  EXPECT_EQ(intake.filling(), 4u);
  EXPECT_FALSE(intake.on_chunk(4, named.fn()).drop_blob.has_value());
}

TEST(GeoCopyIntake, ABlobNamedSinceItsLastChunkStays) {
  GeoCopyIntake intake;
  Named named;
  intake.on_chunk(7, named.fn());
  named.ids.insert(7);
  auto d = intake.on_chunk(8, named.fn());
  EXPECT_EQ(d.kind, GeoChunkDecision::Kind::kStore);
  EXPECT_FALSE(d.drop_blob.has_value());
}

TEST(GeoCopyIntake, AtStartEveryStoredBlobNoOpNamesGoes) {
  Named named{{1, 3}};
  EXPECT_EQ(unnamed_geo_blobs({1, 2, 3, 4}, named.fn()), (std::vector<uint64_t>{2, 4}));
  EXPECT_TRUE(unnamed_geo_blobs({}, named.fn()).empty());
}

}  // namespace
}  // namespace drsim::model
