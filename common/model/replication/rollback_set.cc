#include "common/model/replication/rollback_set.h"

namespace drsim::model {

void RollbackSet::add_discarded(const std::string& key) {
  ++discarded_entries_;
  auto [it, inserted] = state_.try_emplace(key);
  if (inserted) ++unresolved_;
}

bool RollbackSet::on_earlier(const std::string& key, const std::optional<std::string>& value) {
  auto it = state_.find(key);
  // The newest earlier write wins: later (older) entries for a resolved key are ignored.
  if (it != state_.end() && !it->second.resolved) {
    it->second.resolved = true;
    it->second.value = value;
    --unresolved_;
  }
  return unresolved_ > 0;
}

Result<std::vector<KeyRestore>> RollbackSet::finish(LogStart start) const {
  std::vector<KeyRestore> out;
  out.reserve(state_.size());
  if (unresolved_ > 0 && start == LogStart::kTrimmed) {
    // Keys are bytes: the message counts them rather than quoting one.
    return failed_precondition(std::to_string(unresolved_) +
                               " key(s) written by the discarded entries were last written "
                               "before the retained log: their value at the common point is "
                               "unknown here");
  }
  for (const auto& [key, slot] : state_) {
    out.push_back({key, slot.resolved ? slot.value : std::nullopt});
  }
  return out;
}

}  // namespace drsim::model
