// One ordered queue of timed tasks, shared by the real (Asio) scheduler and
// the simulated one. Ties run in insertion order, so a run is deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "common/core/time.h"

namespace drsim {

using TimerId = uint64_t;
using Task = std::function<void()>;

class TaskQueue {
 public:
  TimerId push(Time at, Task task) {
    TimerId id = ++last_id_;
    tasks_.emplace(Key{at, id}, std::move(task));
    index_.emplace(id, at);
    return id;
  }

  // Returns true when the task was still pending.
  bool cancel(TimerId id) {
    auto it = index_.find(id);
    if (it == index_.end()) return false;
    tasks_.erase(Key{it->second, id});
    index_.erase(it);
    return true;
  }

  bool empty() const { return tasks_.empty(); }
  size_t size() const { return tasks_.size(); }
  Time next_deadline() const { return tasks_.empty() ? kNever : tasks_.begin()->first.at; }

  // Pops the head task if it is due at `now`.
  std::optional<Task> pop_due(Time now) {
    if (tasks_.empty() || tasks_.begin()->first.at > now) return std::nullopt;
    auto node = tasks_.extract(tasks_.begin());
    index_.erase(node.key().id);
    return std::move(node.mapped());
  }

 private:
  struct Key {
    Time at;
    TimerId id;
    bool operator<(const Key& o) const { return at != o.at ? at < o.at : id < o.id; }
  };
  std::map<Key, Task> tasks_;
  std::map<TimerId, Time> index_;
  TimerId last_id_ = 0;
};

}  // namespace drsim
