// Site Recovery jobs: ids, every legal and illegal state change, timestamps, and one
// unfinished job per target.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/model/siterecovery/job.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using J = JobState;
constexpr Time kT0 = kTimeZero + 1000h;

const std::vector<J> kAllStates = {J::kNotStarted, J::kInProgress, J::kSucceeded,
                                   J::kFailed,     J::kCancelled,  J::kSuspended};

// Restated from the header: every legal change.
const std::set<std::pair<J, J>> kLegal = {
    {J::kNotStarted, J::kInProgress}, {J::kNotStarted, J::kCancelled},
    {J::kInProgress, J::kSucceeded},  {J::kInProgress, J::kFailed},
    {J::kInProgress, J::kCancelled},  {J::kInProgress, J::kSuspended},
    {J::kSuspended, J::kInProgress},  {J::kSuspended, J::kFailed},
    {J::kSuspended, J::kCancelled},
};

// A job in `state` through legal changes.
JobId job_in(JobTable& t, J state, const std::string& target) {
  JobId id = t.create(JobKind::kUnplannedFailover, target, kT0).value();
  auto go = [&](J s) { EXPECT_TRUE(t.transition(id, s, kT0 + 1min, "boom").is_ok()); };
  switch (state) {
    case J::kNotStarted:
      break;
    case J::kCancelled:
      go(J::kCancelled);
      break;
    case J::kInProgress:
      go(J::kInProgress);
      break;
    case J::kSuspended:
      go(J::kInProgress);
      go(J::kSuspended);
      break;
    case J::kSucceeded:
      go(J::kInProgress);
      go(J::kSucceeded);
      break;
    case J::kFailed:
      go(J::kInProgress);
      go(J::kFailed);
      break;
  }
  EXPECT_EQ(t.find(id)->state, state);
  return id;
}

TEST(JobTable, EveryStateChangeIsLegalExactlyWhenTheTableSaysSo) {
  for (J from : kAllStates) {
    for (J to : kAllStates) {
      JobTable t;
      JobId id = job_in(t, from, "vm-web");
      const bool legal = kLegal.count({from, to}) > 0;
      EXPECT_EQ(job_transition_allowed(from, to), legal);
      Status s = t.transition(id, to, kT0 + 2min, "boom");
      EXPECT_EQ(s.is_ok(), legal) << job_state_name(from) << " → " << job_state_name(to);
      if (!legal) {
        EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
        EXPECT_EQ(t.find(id)->state, from);
        EXPECT_NE(s.message().find(std::string("is ") + job_state_name(from) +
                                   " and cannot become " + job_state_name(to)),
                  std::string::npos)
            << s.message();
      }
    }
  }
}

TEST(JobTable, RefusalNamesTheLegalNextStates) {
  JobTable t;
  JobId id = job_in(t, J::kNotStarted, "vm-web");
  EXPECT_EQ(t.transition(id, J::kSucceeded, kT0).message(),
            "job 1 (UnplannedFailover on vm-web) is NotStarted and cannot become Succeeded; it "
            "can become InProgress, Cancelled");
  JobId done = job_in(t, J::kSucceeded, "vm-db");
  EXPECT_NE(t.transition(done, J::kInProgress, kT0).message().find("it is final"),
            std::string::npos);
}

TEST(JobTable, IdsIncreaseFromOne) {
  JobTable t;
  EXPECT_EQ(t.create(JobKind::kEnableReplication, "vm-a", kT0).value(), JobId(1));
  EXPECT_EQ(t.create(JobKind::kEnableReplication, "vm-b", kT0).value(), JobId(2));
  EXPECT_EQ(t.jobs().size(), 2u);
  EXPECT_EQ(t.jobs()[1].target, "vm-b");
}

TEST(JobTable, StartAndEndTimesAreRecorded) {
  JobTable t;
  JobId id = t.create(JobKind::kRecoveryPlan, "plan-web", kT0).value();
  EXPECT_EQ(t.find(id)->created_at, kT0);
  EXPECT_FALSE(t.find(id)->started_at.has_value());
  ASSERT_TRUE(t.transition(id, J::kInProgress, kT0 + 1s).is_ok());
  ASSERT_TRUE(t.transition(id, J::kSuspended, kT0 + 2s).is_ok());  // manual action
  ASSERT_TRUE(t.transition(id, J::kInProgress, kT0 + 3s).is_ok());
  EXPECT_EQ(t.find(id)->started_at, kT0 + 1s) << "the first start counts";
  EXPECT_FALSE(t.find(id)->ended_at.has_value());
  ASSERT_TRUE(t.transition(id, J::kSucceeded, kT0 + 4s).is_ok());
  EXPECT_EQ(t.find(id)->ended_at, kT0 + 4s);
  EXPECT_TRUE(t.find(id)->error.empty());
}

TEST(JobTable, FailedJobNeedsAndKeepsItsError) {
  JobTable t;
  JobId id = job_in(t, J::kInProgress, "vm-web");
  EXPECT_EQ(t.transition(id, J::kFailed, kT0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.find(id)->state, J::kInProgress);
  ASSERT_TRUE(t.transition(id, J::kFailed, kT0 + 5s, "target region unreachable").is_ok());
  EXPECT_EQ(t.find(id)->error, "target region unreachable");
  EXPECT_EQ(t.find(id)->ended_at, kT0 + 5s);
}

TEST(JobTable, OneUnfinishedJobPerTarget) {
  for (J unfinished : {J::kNotStarted, J::kInProgress, J::kSuspended}) {
    JobTable t;
    JobId first = job_in(t, unfinished, "vm-web");
    auto second = t.create(JobKind::kCommit, "vm-web", kT0);
    EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(second.status().message(),
              std::string("Commit on vm-web refused: job 1 (UnplannedFailover) is ") +
                  job_state_name(unfinished) + " on it; wait for it to finish or cancel it");
    EXPECT_TRUE(t.create(JobKind::kCommit, "vm-db", kT0).is_ok()) << "other targets are free";
    EXPECT_EQ(t.unfinished_job("vm-web"), first);
  }
  for (J final_state : {J::kSucceeded, J::kFailed, J::kCancelled}) {
    JobTable t;
    job_in(t, final_state, "vm-web");
    EXPECT_FALSE(t.unfinished_job("vm-web").has_value());
    EXPECT_TRUE(t.create(JobKind::kCommit, "vm-web", kT0).is_ok());
  }
}

TEST(JobTable, UnknownJobAndEmptyTarget) {
  JobTable t;
  EXPECT_EQ(t.transition(JobId(7), J::kInProgress, kT0).code(), StatusCode::kNotFound);
  EXPECT_EQ(t.find(JobId(7)), nullptr);
  EXPECT_EQ(t.create(JobKind::kCommit, "", kT0).status().code(), StatusCode::kInvalidArgument);
}

TEST(JobTable, NamesAreTheServiceWords) {
  EXPECT_STREQ(job_kind_name(JobKind::kTestFailoverCleanup), "TestFailoverCleanup");
  EXPECT_STREQ(job_kind_name(JobKind::kReprotect), "Reprotect");
  EXPECT_STREQ(job_state_name(J::kNotStarted), "NotStarted");
  EXPECT_STREQ(job_state_name(J::kSuspended), "Suspended");
}

}  // namespace
}  // namespace drsim::model
