// SimScheduler and TaskQueue: deterministic order, virtual time.
#include <gtest/gtest.h>

#include <vector>

#include "common/core/scheduler.h"

namespace drsim {
namespace {

using namespace std::chrono_literals;

TEST(SimScheduler, RunsTasksInTimeThenInsertionOrder) {
  SimScheduler s;
  std::vector<int> order;
  s.schedule_after(20ms, [&] { order.push_back(3); });
  s.schedule_after(10ms, [&] { order.push_back(1); });
  s.schedule_after(10ms, [&] { order.push_back(2); });
  s.run_until_idle();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(s.now(), kTimeZero + 20ms);
}

TEST(SimScheduler, CancelledTaskDoesNotRun) {
  SimScheduler s;
  bool ran = false;
  TimerId id = s.schedule_after(5ms, [&] { ran = true; });
  EXPECT_TRUE(s.cancel(id));
  EXPECT_FALSE(s.cancel(id));
  s.run_until_idle();
  EXPECT_FALSE(ran);
}

TEST(SimScheduler, RunForAdvancesTimeEvenWhenIdle) {
  SimScheduler s;
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    s.schedule_after(1s, tick);
  };
  s.schedule_after(1s, tick);
  s.run_for(30s);  // a 30-second policy in microseconds
  EXPECT_EQ(ticks, 30);
  EXPECT_EQ(s.now(), kTimeZero + 30s);
}

TEST(SimScheduler, RunUntilStopsAtPredicate) {
  SimScheduler s;
  int n = 0;
  for (int i = 1; i <= 10; ++i) s.schedule_after(i * 1ms, [&] { ++n; });
  EXPECT_TRUE(s.run_until([&] { return n == 4; }));
  EXPECT_EQ(s.now(), kTimeZero + 4ms);
  EXPECT_EQ(s.pending(), 6u);
}

}  // namespace
}  // namespace drsim
