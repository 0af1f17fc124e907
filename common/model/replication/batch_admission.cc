#include "common/model/replication/batch_admission.h"

#include <string>
#include <unordered_set>

namespace drsim::model {

BatchAdmission admit_change_batch(Epoch batch_epoch, Epoch current,
                                  std::span<const IncomingChange> changes) {
  BatchAdmission out;
  if (batch_epoch < current) {
    out.refusal =
        failed_precondition("batch epoch " + std::to_string(batch_epoch.value()) +
                            " is older than current epoch " + std::to_string(current.value()));
    out.scope = BatchRefusal::kWholeBatch;
    return out;
  }
  out.apply.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const IncomingChange& c = changes[i];
    if (c.sink == nullptr) {
      out.refusal =
          invalid_argument("change for unknown workload '" + std::string(c.workload) + "'");
      break;
    }
    if (c.shape == ChangeShape::kMalformed) {
      out.refusal = invalid_argument("change " + std::to_string(c.seq.value()) + " of " +
                                     std::string(c.workload) + " has an empty key or no op");
      break;
    }
    if (c.epoch > batch_epoch) {
      out.refusal = invalid_argument("change epoch is newer than its batch's epoch");
      break;
    }
    auto decision = c.sink->classify(c.epoch, c.seq);
    if (decision == ApplyDecision::kDuplicate) continue;
    if (decision != ApplyDecision::kApply) {
      out.refusal = c.sink->refusal(decision, c.epoch, c.seq);
      break;
    }
    c.sink->on_applied(c.epoch, c.seq);
    out.apply.push_back(i);
  }
  if (!out.refusal.is_ok()) out.scope = BatchRefusal::kFromChange;
  std::unordered_set<const ReplicationSink*> named;
  const ReplicationSink* last = nullptr;
  for (size_t i = 0; i < changes.size(); ++i) {
    const ReplicationSink* sink = changes[i].sink;
    if (sink == nullptr || sink == last) continue;  // runs of one workload are the common case
    last = sink;
    if (named.insert(sink).second) out.acknowledge.push_back(i);
  }
  return out;
}

}  // namespace drsim::model
