// The kinds of fault `drsim sim` injects (docs/simulation.md, the nemesis table), their names
// on the command line, and which one a seed draws. RegionPairSim runs them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"

namespace drsim::sim {

enum class Nemesis {
  kPartition,
  kFreeze,
  kDoubleFailover,
  kDrift,
  kDiskFull,
  kKill,
  kPartitionOneWay,
  kKillCutOff,
  kFailback,
  kRacingFailovers,
  kSlowLink,
  kSkew,
  kTestFailover,
};
inline constexpr Nemesis kAllNemeses[] = {
    Nemesis::kPartition, Nemesis::kFreeze,          Nemesis::kDoubleFailover, Nemesis::kDrift,
    Nemesis::kDiskFull,  Nemesis::kKill,            Nemesis::kPartitionOneWay,
    Nemesis::kKillCutOff, Nemesis::kFailback,       Nemesis::kRacingFailovers,
    Nemesis::kSlowLink,  Nemesis::kSkew,            Nemesis::kTestFailover};
std::string_view nemesis_name(Nemesis n);
// "partition, freeze, ..., all": the kinds --nemesis takes.
std::string known_nemeses();
// "partition,freeze" or "all"; INVALID_ARGUMENT naming the unknown kind and the known ones.
Result<std::vector<Nemesis>> parse_nemeses(const std::string& list);
// The nemesis seed `seed` runs when it may draw one of `kinds` (deterministic).
Nemesis draw_nemesis(uint64_t seed, const std::vector<Nemesis>& kinds);
// Of `kinds`, those a run may draw again after its first fault (a --duration run's later
// episodes): not drift (its clock rates hold for the whole run, set before it starts) nor
// kill-cut-off (its premise, stores without fsync, is the whole run's), and not kill when the
// stores do not sync (`synced` false: a crash would lose acknowledged writes by design).
std::vector<Nemesis> later_episode_kinds(const std::vector<Nemesis>& kinds, bool synced);

}  // namespace drsim::sim
