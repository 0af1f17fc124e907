// SimNetwork, the in-memory RegionLinks of the simulation, on its own: a stream delivers in
// order after the link delay, a partition cuts it (frames in flight lost, each end told
// UNAVAILABLE) and refuses new ones until healed, and a unary call across a partition ends at
// its deadline. Recording events stand in for the two RegionNodes.
#include "common/sim/sim_network.h"

#include <gtest/gtest.h>

#include "common/sim/freezer.h"

#include <optional>
#include <string>
#include <vector>

namespace drsim::sim {
namespace {

using namespace std::chrono_literals;

v1::ReplicationFrame batch_frame(uint64_t seq) {
  v1::ReplicationFrame f;
  f.mutable_batch()->add_changes()->set_seq(seq);
  return f;
}

// The standby's side: records frames (with their virtual arrival) and answers each with an ack.
struct RecordingSink final : region::SinkEvents {
  explicit RecordingSink(SimScheduler& s) : scheduler(s) {}
  void on_sink_frame(region::SinkLink* link, const v1::ReplicationFrame& frame) override {
    seqs.push_back(frame.batch().changes(0).seq());
    arrivals.push_back(scheduler.now());
    v1::ReplicationReply reply;
    reply.mutable_ack()->add_durable()->set_seq(frame.batch().changes(0).seq());
    link->send(std::move(reply));
  }
  void on_sink_closed(region::SinkLink*) override { ++closed; }
  SimScheduler& scheduler;
  std::vector<uint64_t> seqs;
  std::vector<Time> arrivals;
  int closed = 0;
};

// The active side: sends the next queued frame whenever the link allows one.
struct RecordingSource final : region::SourceEvents {
  void on_source_reply(region::SourceLink*, const v1::ReplicationReply& reply) override {
    acked.push_back(reply.ack().durable(0).seq());
  }
  void on_source_write_done(region::SourceLink* link) override { pump(link); }
  void on_source_closed(region::SourceLink*, const Status& why) override { closed.push_back(why); }
  void pump(region::SourceLink* link) {
    if (queue.empty() || link->write_in_flight() || !link->open()) return;
    link->send(batch_frame(queue.front()));
    queue.erase(queue.begin());
  }
  std::vector<uint64_t> queue;
  std::vector<uint64_t> acked;
  std::vector<Status> closed;
};

struct Pair {
  Pair() : net(scheduler, 5ms), sink(scheduler) {
    net.set_delay("primary", "secondary", 10ms);
    net.set_delay("secondary", "primary", 3ms);
    net.attach_region("secondary", sink, [](const v1::FenceRequest& req) {
      v1::FenceReply r;
      r.set_epoch(req.epoch());
      return Result<v1::FenceReply>(r);
    });
  }
  region::SourceLink* connect() {
    return net.links_for("primary").replication.connect("secondary", source);
  }
  SimScheduler scheduler;
  SimNetwork net;
  RecordingSink sink;
  RecordingSource source;
};

TEST(SimNetwork, StreamDeliversInOrderAfterTheDelayOfEachDirection) {
  Pair p;
  p.source.queue = {1, 2, 3};
  region::SourceLink* link = p.connect();
  p.source.pump(link);
  p.scheduler.run_for(1s);
  EXPECT_EQ(p.sink.seqs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(p.source.acked, (std::vector<uint64_t>{1, 2, 3}));
  ASSERT_FALSE(p.sink.arrivals.empty());
  EXPECT_EQ(p.sink.arrivals.front() - kTimeZero, 10ms);  // primary → secondary
  EXPECT_TRUE(p.source.closed.empty());
  EXPECT_EQ(p.net.frames_delivered(), 3u);
}

TEST(SimNetwork, PartitionCutsTheStreamLosesFramesInFlightAndRefusesNewOnesUntilHealed) {
  Pair p;
  p.source.queue = {1};
  region::SourceLink* link = p.connect();
  p.source.pump(link);
  p.scheduler.run_for(5ms);  // the frame is halfway
  p.net.partition("primary", "secondary");
  EXPECT_FALSE(link->open());
  p.scheduler.run_for(1s);
  EXPECT_TRUE(p.sink.seqs.empty()) << "a frame in flight crossed the partition";
  ASSERT_EQ(p.source.closed.size(), 1u);
  EXPECT_EQ(p.source.closed[0].code(), StatusCode::kUnavailable);
  EXPECT_EQ(p.sink.closed, 0);  // the sink never saw the stream

  p.connect();  // across the partition: closed without reaching the sink
  p.scheduler.run_for(1s);
  ASSERT_EQ(p.source.closed.size(), 2u);
  EXPECT_EQ(p.source.closed[1].code(), StatusCode::kUnavailable);

  p.net.heal("primary", "secondary");
  p.source.queue = {7};
  p.source.pump(p.connect());
  p.scheduler.run_for(1s);
  EXPECT_EQ(p.sink.seqs, (std::vector<uint64_t>{7}));
  EXPECT_EQ(p.source.acked, (std::vector<uint64_t>{7}));
}

TEST(SimNetwork, ResetTellsBothEndsAndANewStreamOpensAtOnce) {
  Pair p;
  p.source.queue = {1};
  p.source.pump(p.connect());
  p.scheduler.run_for(100ms);
  ASSERT_EQ(p.sink.seqs.size(), 1u);
  p.net.reset("primary", "secondary");
  p.scheduler.run_for(100ms);
  ASSERT_EQ(p.source.closed.size(), 1u);
  EXPECT_EQ(p.sink.closed, 1);
  p.source.queue = {2};
  p.source.pump(p.connect());
  p.scheduler.run_for(100ms);
  EXPECT_EQ(p.sink.seqs, (std::vector<uint64_t>{1, 2}));
}

TEST(SimNetwork, UnaryCallAnswersAfterTheRoundTripOrEndsAtItsDeadlineAcrossAPartition) {
  Pair p;
  region::PeerControl& peer = p.net.links_for("primary").peer;
  v1::FenceRequest req;
  req.set_epoch(2);
  std::optional<Status> answer;
  Time answered_at{};
  auto done = [&](const Status& s, const v1::FenceReply&) {
    answer = s;
    answered_at = p.scheduler.now();
  };
  peer.fence("secondary", req, 300ms, done);
  p.scheduler.run_until([&] { return answer.has_value(); });
  ASSERT_TRUE(answer && answer->is_ok());
  EXPECT_EQ(answered_at - kTimeZero, 13ms);  // 10 ms there, 3 ms back

  answer.reset();
  p.net.partition("primary", "secondary");
  const Time sent = p.scheduler.now();
  peer.fence("secondary", req, 300ms, done);
  p.scheduler.run_until([&] { return answer.has_value(); });
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(answered_at - sent, 300ms);
  EXPECT_EQ(p.net.calls_lost(), 1u);
}

TEST(SimNetwork, AFrozenMembersDeliveriesAndCallsWaitUntilItResumesInOrder) {
  Pair p;
  Freezer secondary;
  p.net.set_gate("secondary", [&](Task task) { secondary.run(std::move(task)); });
  p.source.queue = {1, 2};
  region::SourceLink* link = p.connect();
  p.source.pump(link);
  secondary.freeze();
  std::optional<Status> fenced;
  p.net.links_for("primary").peer.fence(
      "secondary", v1::FenceRequest{}, 300ms,
      [&](const Status& s, const v1::FenceReply&) { fenced = s; });
  p.scheduler.run_for(200ms);
  EXPECT_TRUE(p.sink.seqs.empty()) << "a frozen member received a frame";
  EXPECT_FALSE(fenced) << "a frozen member answered a call";
  EXPECT_GE(secondary.held(), 2u);

  secondary.thaw();  // what it held runs at once, in order; its answers take the link back
  EXPECT_EQ(p.sink.seqs, (std::vector<uint64_t>{1, 2}));
  p.scheduler.run_for(200ms);
  EXPECT_EQ(p.source.acked, (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(fenced);  // answered after the thaw, before its 300 ms deadline
  EXPECT_TRUE(fenced->is_ok()) << fenced->to_string();
}

TEST(Freezer, HoldsTimersWhileFrozenRunsThemInOrderOnThawAndDropsACancelledOne) {
  SimScheduler base;
  Freezer freezer;
  FreezableScheduler process(base, freezer);
  std::vector<std::string> ran;
  process.schedule_after(10ms, [&] { ran.push_back("a"); });
  TimerId b = process.schedule_after(20ms, [&] { ran.push_back("b"); });
  process.schedule_after(30ms, [&] { ran.push_back("c"); });
  freezer.freeze();
  base.run_for(100ms);
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(freezer.held(), 3u);
  EXPECT_EQ(process.now() - kTimeZero, 100ms);  // a frozen process's clock keeps running
  EXPECT_TRUE(process.cancel(b));               // held, not yet run: dropped
  freezer.thaw();
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "c"}));
  process.post([&] { ran.push_back("d"); });  // running again: nothing held
  base.run_for(1ms);
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(freezer.held(), 0u);
}

TEST(SimNetwork, ACrashedSinkGetsNothingMoreEvenAfterItRestartsAndTheSourceSeesTheReset) {
  Pair p;
  p.source.queue = {1};
  region::SourceLink* link = p.connect();
  p.source.pump(link);
  p.scheduler.run_for(15ms);  // frame 1 arrived: the sink knows the stream
  p.source.queue = {2};
  p.source.pump(link);
  p.scheduler.run_for(5ms);  // frame 2 is halfway to the sink
  p.net.crash("secondary");
  // The restarted process answers at the same address at once.
  RecordingSink restarted(p.scheduler);
  p.net.attach_region("secondary", restarted, [](const v1::FenceRequest&) {
    return Result<v1::FenceReply>(v1::FenceReply{});
  });
  p.scheduler.run_for(1s);
  EXPECT_EQ(p.sink.seqs, (std::vector<uint64_t>{1})) << "the dead process got a frame";
  EXPECT_TRUE(restarted.seqs.empty()) << "a frame sent to the dead process reached its successor";
  EXPECT_EQ(p.sink.closed, 0) << "the dead process heard its stream end";
  EXPECT_EQ(restarted.closed, 0);
  ASSERT_EQ(p.source.closed.size(), 1u);
  EXPECT_EQ(p.source.closed[0].code(), StatusCode::kUnavailable);
  // A new stream reaches the restarted process.
  p.source.queue = {3};
  p.source.pump(p.connect());
  p.scheduler.run_for(1s);
  EXPECT_EQ(restarted.seqs, (std::vector<uint64_t>{3}));
  EXPECT_EQ(p.source.acked, (std::vector<uint64_t>{1, 3}));
}

TEST(SimNetwork, ACrashedCallerNeverHearsTheAnswerToItsCall) {
  Pair p;
  std::optional<Status> answer;
  p.net.links_for("primary").peer.fence(
      "secondary", v1::FenceRequest{}, 300ms,
      [&](const Status& s, const v1::FenceReply&) { answer = s; });
  p.scheduler.run_for(5ms);  // the request is on its way
  p.net.crash("primary");
  p.scheduler.run_for(1s);  // answered, and the deadline passed: neither reaches the dead caller
  EXPECT_FALSE(answer.has_value());
}

TEST(SimNetwork, AOneWayCutLosesOneDirectionThenTheKeepaliveBreaksTheStream) {
  Pair p;
  region::SourceLink* link = p.connect();
  p.source.queue = {1};
  p.source.pump(link);
  p.scheduler.run_for(50ms);
  ASSERT_EQ(p.source.acked, (std::vector<uint64_t>{1}));
  // The acks' way (secondary → primary) is cut: frames still arrive, their acks do not.
  p.net.cut_one_way("secondary", "primary");
  p.source.queue = {2};
  p.source.pump(link);
  p.scheduler.run_for(100ms);
  EXPECT_EQ(p.sink.seqs, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(p.source.acked, (std::vector<uint64_t>{1})) << "an ack crossed the cut";
  EXPECT_TRUE(p.source.closed.empty());
  // gRPC's keepalive notices: both ends hear the stream end.
  p.scheduler.run_for(SimNetwork::kKeepaliveLoss);
  ASSERT_EQ(p.source.closed.size(), 1u);
  EXPECT_EQ(p.source.closed[0].code(), StatusCode::kUnavailable);
  EXPECT_EQ(p.sink.closed, 1);
  // A new stream needs both ways: refused until the heal.
  p.connect();
  p.scheduler.run_for(100ms);
  EXPECT_EQ(p.source.closed.size(), 2u);
  // A call whose answer would cross the cut ends at its deadline.
  std::optional<Status> answer;
  p.net.links_for("primary").peer.fence("secondary", v1::FenceRequest{}, 300ms,
                                        [&](const Status& s, const v1::FenceReply&) { answer = s; });
  p.scheduler.run_for(1s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code(), StatusCode::kDeadlineExceeded);

  p.net.heal_one_way("secondary", "primary");
  p.source.queue = {3};
  p.source.pump(p.connect());
  p.scheduler.run_for(100ms);
  EXPECT_EQ(p.source.acked, (std::vector<uint64_t>{1, 3}));
}

TEST(SimNetwork, AOneWayCutOfTheFramesLosesThemEvenIfItHealsBeforeTheKeepalive) {
  Pair p;
  region::SourceLink* link = p.connect();
  p.net.cut_one_way("primary", "secondary");
  p.source.queue = {1};
  p.source.pump(link);
  p.scheduler.run_for(100ms);
  p.net.heal_one_way("primary", "secondary");
  // The stream stays stuck that way (its bytes are never retransmitted in time) until it breaks.
  p.source.queue = {2};
  p.source.pump(link);
  p.scheduler.run_for(SimNetwork::kKeepaliveLoss);
  EXPECT_TRUE(p.sink.seqs.empty());
  ASSERT_EQ(p.source.closed.size(), 1u);
}

TEST(Freezer, AKilledProcessDropsWhatItHeldAndEverythingLater) {
  SimScheduler base;
  Freezer freezer;
  FreezableScheduler process(base, freezer);
  std::vector<std::string> ran;
  process.schedule_after(10ms, [&] { ran.push_back("held"); });
  freezer.freeze();
  base.run_for(20ms);
  EXPECT_EQ(freezer.held(), 1u);
  process.schedule_after(10ms, [&] { ran.push_back("later"); });
  freezer.kill();
  EXPECT_EQ(freezer.held(), 0u);
  base.run_for(100ms);
  freezer.thaw();  // a dead process does not come back
  process.post([&] { ran.push_back("posted"); });
  base.run_for(1ms);
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(freezer.state(), Frozen::kDead);
}

}  // namespace
}  // namespace drsim::sim
