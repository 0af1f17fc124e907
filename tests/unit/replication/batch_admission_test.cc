// admit_change_batch: the standby's per-batch rules (RegionNode::sink_batch) — in-order apply,
// duplicates skipped, and the first refused change stopping the batch with the right code.
#include "common/model/replication/batch_admission.h"

#include <gtest/gtest.h>

#include <vector>

namespace drsim::model {
namespace {

IncomingChange change(ReplicationSink* sink, uint64_t epoch, uint64_t seq,
                      ChangeShape shape = ChangeShape::kWellFormed) {
  return {"vm-web", sink, Epoch(epoch), Seq(seq), shape};
}

TEST(BatchAdmission, AppliesInOrderAndSkipsDuplicates) {
  ReplicationSink sink(Seq(2), Epoch(1));
  std::vector<IncomingChange> batch = {change(&sink, 1, 2), change(&sink, 1, 3),
                                       change(&sink, 2, 4)};
  BatchAdmission a = admit_change_batch(Epoch(2), Epoch(2), batch);
  EXPECT_EQ(a.scope, BatchRefusal::kNone);
  EXPECT_TRUE(a.refusal.is_ok());
  EXPECT_EQ(a.apply, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(sink.applied(), Seq(4));
  EXPECT_EQ(sink.applied_epoch(), Epoch(2));
}

TEST(BatchAdmission, BatchFromAnOlderEpochIsRefusedWhole) {
  ReplicationSink sink;
  std::vector<IncomingChange> batch = {change(&sink, 1, 1)};
  BatchAdmission a = admit_change_batch(Epoch(1), Epoch(2), batch);
  EXPECT_EQ(a.scope, BatchRefusal::kWholeBatch);
  EXPECT_EQ(a.refusal.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(a.apply.empty());
  EXPECT_EQ(sink.applied(), Seq(0));
}

TEST(BatchAdmission, FirstRefusedChangeStopsTheBatchAndKeepsWhatCameBefore) {
  ReplicationSink sink;
  struct Case {
    IncomingChange bad;
    StatusCode code;
  } cases[] = {
      {change(&sink, 1, 3), StatusCode::kOutOfRange},         // gap
      {change(nullptr, 1, 2), StatusCode::kInvalidArgument},  // unknown workload
      {change(&sink, 1, 2, ChangeShape::kMalformed), StatusCode::kInvalidArgument},
      {change(&sink, 3, 2), StatusCode::kInvalidArgument},  // newer than batch
  };
  for (const Case& c : cases) {
    sink = ReplicationSink();
    std::vector<IncomingChange> batch = {change(&sink, 1, 1), c.bad, change(&sink, 1, 2)};
    BatchAdmission a = admit_change_batch(Epoch(1), Epoch(1), batch);
    EXPECT_EQ(a.scope, BatchRefusal::kFromChange) << a.refusal.to_string();
    EXPECT_EQ(a.refusal.code(), c.code) << a.refusal.to_string();
    EXPECT_EQ(a.apply, (std::vector<size_t>{0}));
    EXPECT_EQ(sink.applied(), Seq(1));
  }
}

TEST(BatchAdmission, ChangeFromAnEpochOlderThanTheAppliedOneIsRefused) {
  ReplicationSink sink(Seq(5), Epoch(3));
  std::vector<IncomingChange> batch = {change(&sink, 2, 6)};
  BatchAdmission a = admit_change_batch(Epoch(3), Epoch(3), batch);
  EXPECT_EQ(a.scope, BatchRefusal::kFromChange);
  EXPECT_EQ(a.refusal.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(a.apply.empty());
  EXPECT_EQ(sink.applied(), Seq(5));
}

TEST(BatchAdmission, AckListsOnlyTheWorkloadsTheBatchNames) {
  // 10,000 workloads on the region; the batch touches one of them (three changes) and one
  // unknown workload. The ack lists that one workload once, not the other 9,999.
  std::vector<ReplicationSink> sinks(10000);
  std::vector<IncomingChange> batch = {change(&sinks[7], 1, 1), change(&sinks[7], 1, 2),
                                       change(&sinks[7], 1, 3)};
  BatchAdmission a = admit_change_batch(Epoch(1), Epoch(1), batch);
  EXPECT_EQ(a.apply.size(), 3u);
  EXPECT_EQ(a.acknowledge, (std::vector<size_t>{0}));
}

TEST(BatchAdmission, AckNamesEachWorkloadOnceIncludingDuplicatesAndTheRefusedOne) {
  ReplicationSink web(Seq(1), Epoch(1)), db, app;
  // Interleaved: web (a duplicate, already applied), db, web again, then app with a gap.
  std::vector<IncomingChange> batch = {change(&web, 1, 1), change(&db, 1, 1), change(&web, 1, 2),
                                       change(nullptr, 1, 1), change(&app, 1, 5)};
  BatchAdmission a = admit_change_batch(Epoch(1), Epoch(1), batch);
  EXPECT_EQ(a.scope, BatchRefusal::kFromChange);
  EXPECT_EQ(a.apply, (std::vector<size_t>{1, 2}));
  // The source learns web's and db's cursors; app's (unchanged) costs nothing to repeat.
  EXPECT_EQ(a.acknowledge, (std::vector<size_t>{0, 1, 4}));
}

TEST(BatchAdmission, WholeBatchRefusedAcksNothing) {
  ReplicationSink sink;
  std::vector<IncomingChange> batch = {change(&sink, 1, 1)};
  EXPECT_TRUE(admit_change_batch(Epoch(1), Epoch(2), batch).acknowledge.empty());
}

}  // namespace
}  // namespace drsim::model
