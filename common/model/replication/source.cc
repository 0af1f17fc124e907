#include "common/model/replication/source.h"

#include <algorithm>
#include <string>

namespace drsim::model {

Seq ReplicationSource::assign(Time now) {
  last_written_ = last_written_.next();
  if (write_times_.empty()) write_times_first_ = last_written_;
  write_times_.push_back(now);
  return last_written_;
}

void ReplicationSource::take_back(Seq last_kept) {
  DRSIM_CHECK(sent_ <= last_kept && last_kept <= last_written_);
  while (last_written_ > last_kept) {
    if (!write_times_.empty()) write_times_.pop_back();
    last_written_ = Seq(last_written_.value() - 1);
  }
}

Status ReplicationSource::on_connected(Seq standby_durable, Time now) {
  if (standby_durable > last_written_) {
    return failed_precondition("standby has seq " + std::to_string(standby_durable.value()) +
                               " but this region wrote only up to " +
                               std::to_string(last_written_.value()) +
                               ": histories diverged, re-protect with a full resync");
  }
  connected_ = true;
  sent_ = acked_;
  if (standby_durable >= acked_) {
    auto acked = on_ack(standby_durable, now);
    DRSIM_CHECK(acked.is_ok());
  } else {
    // The standby reports less than it once acked (it lost its disk): resend.
    acked_ = standby_durable;
  }
  sent_ = standby_durable;
  return Status::ok();
}

void ReplicationSource::on_disconnected() {
  connected_ = false;
  sent_ = acked_;
}

std::optional<SeqRange> ReplicationSource::next_range(uint64_t max_changes,
                                                      uint64_t max_unacked) const {
  if (!connected_ || sent_ >= last_written_) return std::nullopt;
  uint64_t outstanding = sent_.value() - acked_.value();
  if (outstanding >= max_unacked) return std::nullopt;
  uint64_t room = std::min(max_changes, max_unacked - outstanding);
  // max_changes == 0 would make an empty range that a send loop never gets past.
  if (room == 0) return std::nullopt;
  // Not min(last_written, sent + room): sent + room wraps for a room near UINT64_MAX.
  uint64_t last = sent_.value() + std::min(room, last_written_.value() - sent_.value());
  return SeqRange{sent_.next(), Seq(last)};
}

void ReplicationSource::on_sent(SeqRange range) {
  DRSIM_CHECK(range.first == sent_.next());
  DRSIM_CHECK(range.last <= last_written_);
  sent_ = range.last;
}

Result<std::optional<SeqRange>> ReplicationSource::on_ack(Seq durable, Time now) {
  if (durable > last_written_) {
    return out_of_range("ack for seq " + std::to_string(durable.value()) +
                        " beyond the last written seq " + std::to_string(last_written_.value()));
  }
  if (durable <= acked_) return std::optional<SeqRange>();
  SeqRange newly{acked_.next(), durable};
  // Sample lag for every newly durable write whose write time we know.
  while (!write_times_.empty() && write_times_first_ <= durable) {
    if (write_times_first_ > acked_) lag_.record(now - write_times_.front());
    write_times_.pop_front();
    write_times_first_ = write_times_first_.next();
  }
  acked_ = durable;
  if (sent_ < acked_) sent_ = acked_;
  return std::optional<SeqRange>(newly);
}

Duration ReplicationSource::lag_age(Time now) const {
  if (acked_ >= last_written_ || write_times_.empty()) return Duration(0);
  // write_times_ front is the oldest write not yet acked (acked_ + 1 or later).
  size_t skip = acked_.value() >= write_times_first_.value()
                    ? acked_.value() - write_times_first_.value() + 1
                    : 0;
  if (skip >= write_times_.size()) return Duration(0);
  return now - write_times_[skip];
}

}  // namespace drsim::model
