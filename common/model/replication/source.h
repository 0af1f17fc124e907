// The active region's side of one workload's replication: assigns (epoch, seq)
// to writes, decides which range to send next, tracks what the standby made
// durable, and measures write-to-ack lag. Pure: the driver owns the stream.
//
// Invariants: acked <= sent <= last_written; after a reconnect sending resumes
// at the standby's durable seq + 1, so nothing is skipped (no gap) and the
// standby drops anything it already has (no duplicate apply).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/metrics/latency_histogram.h"

namespace drsim::model {

struct SeqRange {
  Seq first;
  Seq last;  // inclusive
  uint64_t count() const { return last.value() - first.value() + 1; }
};

class ReplicationSource {
 public:
  // Restores from durable state: the newest seq written locally.
  explicit ReplicationSource(Seq last_written = Seq(0)) : last_written_(last_written) {}

  // Assigns the next seq to a write that is being made durable at `now`.
  Seq assign(Time now);
  // The writes after `last_kept` did not become durable (the store refused them): their seqs are
  // handed out again. Only seqs not yet sent can be taken back.
  void take_back(Seq last_kept);
  // Resets the send cursor to what the standby reports durable. Refused when
  // the standby is ahead of us (its history diverged: re-protect needed).
  Status on_connected(Seq standby_durable, Time now);
  // The stream broke: everything sent but not acked will be sent again.
  void on_disconnected();
  // Next range to put in a frame, at most `max_changes` long, while no more
  // than `max_unacked` changes are outstanding.
  std::optional<SeqRange> next_range(uint64_t max_changes, uint64_t max_unacked) const;
  void on_sent(SeqRange range);
  // The standby made everything up to `durable` durable. Returns the seqs
  // newly acknowledged (for sync-mode waiters). An ack beyond what was sent is
  // refused (a bug on the other side).
  Result<std::optional<SeqRange>> on_ack(Seq durable, Time now);

  Seq last_written() const { return last_written_; }
  Seq acked() const { return acked_; }
  Seq sent() const { return sent_; }
  bool connected() const { return connected_; }
  uint64_t lag_writes() const { return last_written_.value() - acked_.value(); }
  // Age of the oldest write the standby has not made durable (0 when none).
  Duration lag_age(Time now) const;
  LatencyHistogram& lag_histogram() { return lag_; }
  const LatencyHistogram& lag_histogram() const { return lag_; }

 private:
  Seq last_written_;
  Seq acked_{0};
  Seq sent_{0};
  bool connected_ = false;
  // Write times of unacked seqs (front = acked_ + 1), for lag accounting.
  // Writes restored from disk have no time and are not sampled.
  std::deque<Time> write_times_;
  Seq write_times_first_{1};
  LatencyHistogram lag_;
};

// Whether a replication frame already holding `frame_bytes` takes one more change of
// `change_bytes`: while it stays within `max_frame_bytes`, and always its first change, so every
// frame makes progress. A frame is therefore at most max_frame_bytes + one change; the driver
// keeps that under the peer's receive limit (4 MiB + a value of at most 8 MiB < 16 MiB).
constexpr bool frame_takes(uint64_t frame_bytes, uint64_t change_bytes, uint64_t max_frame_bytes) {
  return frame_bytes == 0 || frame_bytes + change_bytes <= max_frame_bytes;
}

}  // namespace drsim::model
