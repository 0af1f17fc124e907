// Strong types for identities that must not be mixed up.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace drsim {

template <typename Tag, typename Rep = uint64_t>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : v_(v) {}
  constexpr Rep value() const { return v_; }
  constexpr StrongId next() const { return StrongId(v_ + 1); }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep v_{};
};

// Leadership term of the active region. Bumped by every failover; frames and
// writes carrying an older epoch are refused (fencing).
using Epoch = StrongId<struct EpochTag>;
// Per-workload write sequence number, dense from 1.
using Seq = StrongId<struct SeqTag>;

}  // namespace drsim

template <typename Tag, typename Rep>
struct std::hash<drsim::StrongId<Tag, Rep>> {
  size_t operator()(const drsim::StrongId<Tag, Rep>& id) const {
    return std::hash<Rep>()(id.value());
  }
};
