// The undo of a discarded log suffix: which keys the discarded entries touched, and the value
// each key had at the common point. Like Raft truncating a follower's conflicting entries, but a
// key-value state must also be put back: the value at the common point is the last write to the
// key at or before it, which (by log matching) the new active region made too. Pure; the
// standby's driver feeds it its own log and writes the result in one atomic batch.
//
// Use: add_discarded() for every entry after the common point, then on_earlier() for entries
// at the common point and before, newest first, until it returns false or the log ends, then
// finish().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"

namespace drsim::model {

// A key's value at the common point: present with `value`, or absent (delete it).
struct KeyRestore {
  std::string key;
  std::optional<std::string> value;
};

enum class LogStart { kFromFirstWrite, kTrimmed };

class RollbackSet {
 public:
  void add_discarded(const std::string& key);
  // An entry at or before the common point, newest first. `value` is nullopt for a delete.
  // Returns whether earlier entries are still needed (false = every key resolved).
  bool on_earlier(const std::string& key, const std::optional<std::string>& value);
  // The scan reached the log's first retained entry. With kFromFirstWrite (the log starts at
  // seq 1) a key never written before the common point did not exist then: delete it. With
  // kTrimmed such a key's value is unknown: FAILED_PRECONDITION naming it (the caller falls back
  // to a full copy).
  Result<std::vector<KeyRestore>> finish(LogStart start) const;

  size_t discarded_entries() const { return discarded_entries_; }
  size_t keys() const { return state_.size(); }
  size_t unresolved() const { return unresolved_; }

 private:
  struct Slot {
    bool resolved = false;
    std::optional<std::string> value;
  };
  std::map<std::string, Slot> state_;
  size_t unresolved_ = 0;
  size_t discarded_entries_ = 0;
};

}  // namespace drsim::model
