#include "common/model/http/connection_admission.h"

namespace drsim::model {

namespace {

// The connection of `open` that has been idle the longest, among those `counts`; nullptr if none.
template <typename Pred>
const HttpConnectionView* longest_idle(const std::vector<HttpConnectionView>& open, Pred counts) {
  const HttpConnectionView* best = nullptr;
  for (const auto& c : open) {
    if (c.state != HttpConnectionState::kIdle || !counts(c)) continue;
    if (best == nullptr || c.idle_order < best->idle_order) best = &c;
  }
  return best;
}

HttpAdmission decide(const HttpConnectionView* idle, const std::string& limit) {
  HttpAdmission a;
  if (idle == nullptr) {
    a.kind = HttpAdmission::Kind::kRefuse;
    a.why = limit + ", none of them idle";
  } else {
    a.kind = HttpAdmission::Kind::kAdmitAfterClosing;
    a.close_id = idle->id;
    a.why = limit + "; closing the one idle the longest";
  }
  return a;
}

}  // namespace

HttpAdmission admit_http_connection(const std::vector<HttpConnectionView>& open,
                                    const std::string& source, const HttpAdmissionLimits& limits) {
  size_t from_source = 0;
  for (const auto& c : open) from_source += c.source == source ? 1 : 0;
  if (from_source >= limits.max_connections_per_source) {
    return decide(longest_idle(open, [&](const auto& c) { return c.source == source; }),
                  std::to_string(from_source) + " connections open from " + source +
                      " (the per-source limit)");
  }
  if (open.size() >= limits.max_connections) {
    return decide(longest_idle(open, [](const auto&) { return true; }),
                  std::to_string(open.size()) + " connections open (the limit)");
  }
  return {};
}

}  // namespace drsim::model
