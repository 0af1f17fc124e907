// The sync writes an active region holds until its standby has them durable.
//
// A client write acknowledged in sync mode is answered only once the standby reports every
// change of it durable: per workload it touched, the newest seq it wrote there. The tracker keeps
// those waits, per workload in seq order, and answers as values what the driver must do:
//   - on_acked(workload, seq): the writes that now wait for nothing (answer them ok);
//   - expire(now): the writes whose deadline (started + timeout) passed while some wait was still
//     open (answer them "outcome unknown": written here, not known to be on the standby);
//   - take_all(): every write still waiting (a fence, a lost lease, an outage, a shutdown);
//   - next_deadline(): when to call expire next — the driver arms one timer there instead of
//     polling.
// Each write is answered once: a write that timed out in one workload and is acked later in
// another is not returned again. Pure and single-threaded, on the caller's clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/core/ids.h"
#include "common/core/time.h"

namespace drsim::model {

class SyncAckTracker {
 public:
  using WriteId = uint64_t;
  // Workloads are 0..workloads-1 (the region's order).
  SyncAckTracker(size_t workloads, Duration timeout) : by_workload_(workloads), timeout_(timeout) {}

  // `write`, started at `started`, waits for the standby to have each (workload, seq) of
  // `waits` (the newest seq it wrote in each workload it touched). Within a workload, seqs come
  // in increasing order across calls (the order the region assigned them). A write already
  // waiting adds waits (its deadline stays); a write with no wait is not kept.
  void add(WriteId write, Time started, const std::vector<std::pair<size_t, Seq>>& waits);

  // The standby has `workload` durable through `acked`: the writes answered now, in the order
  // their waits were added.
  std::vector<WriteId> on_acked(size_t workload, Seq acked);

  // The writes whose deadline has passed at `now`, each once, earliest deadline first.
  std::vector<WriteId> expire(Time now);

  // When expire() next has something to return (nullopt: nothing waits).
  std::optional<Time> next_deadline() const;

  // Every write still waiting, each once, by workload; the tracker is empty afterwards.
  std::vector<WriteId> take_all();

  // Writes not yet answered.
  size_t waiting() const { return writes_.size(); }
  bool empty() const { return writes_.empty(); }
  Duration timeout() const { return timeout_; }
  // Waits held, answered writes' included until dropped (O(workloads): for tests and status).
  size_t waits_held() const;

 private:
  struct Wait {
    Seq seq;
    WriteId write;
  };
  struct Write {
    int remaining = 0;  // open waits
    Time deadline;
    std::vector<size_t> workloads;  // where its waits are
  };
  // Answers `write` (forgets it); returns it.
  WriteId answer(std::unordered_map<WriteId, Write>::iterator it);
  // Drops the waits at the front of `workload` whose write is answered already.
  void drop_answered(size_t workload);

  std::vector<std::deque<Wait>> by_workload_;
  std::unordered_map<WriteId, Write> writes_;  // not yet answered
  std::set<std::pair<Time, WriteId>> deadlines_;  // of the writes not yet answered
  Duration timeout_;
};

}  // namespace drsim::model
