#include "common/sim/nemesis.h"

#include <iterator>
#include <sstream>

#include "common/core/check.h"
#include "common/core/rng.h"

namespace drsim::sim {

std::string_view nemesis_name(Nemesis n) {
  switch (n) {
    case Nemesis::kPartition:
      return "partition";
    case Nemesis::kFreeze:
      return "freeze";
    case Nemesis::kDoubleFailover:
      return "double-failover";
    case Nemesis::kDrift:
      return "drift";
    case Nemesis::kDiskFull:
      return "disk-full";
    case Nemesis::kKill:
      return "kill";
    case Nemesis::kPartitionOneWay:
      return "partition-one-way";
    case Nemesis::kKillCutOff:
      return "kill-cut-off";
    case Nemesis::kFailback:
      return "failback";
    case Nemesis::kRacingFailovers:
      return "racing-failovers";
    case Nemesis::kSlowLink:
      return "slow-link";
    case Nemesis::kSkew:
      return "skew";
    case Nemesis::kTestFailover:
      return "test-failover";
  }
  return "?";
}

std::string known_nemeses() {
  std::string known;
  for (Nemesis n : kAllNemeses) known += std::string(nemesis_name(n)) + ", ";
  return known + "all";
}

Result<std::vector<Nemesis>> parse_nemeses(const std::string& list) {
  std::vector<Nemesis> out;
  std::stringstream in(list);
  std::string word;
  while (std::getline(in, word, ',')) {
    if (word == "all") {
      out.assign(std::begin(kAllNemeses), std::end(kAllNemeses));
      continue;
    }
    bool known = false;
    for (Nemesis n : kAllNemeses) {
      if (word != nemesis_name(n)) continue;
      known = true;
      bool dup = false;
      for (Nemesis seen : out) dup = dup || seen == n;
      if (!dup) out.push_back(n);
    }
    if (!known) {
      return invalid_argument("--nemesis: unknown kind '" + word + "' (known: " + known_nemeses() +
                              ")");
    }
  }
  if (out.empty()) return invalid_argument("--nemesis: no kind given");
  return out;
}

Nemesis draw_nemesis(uint64_t seed, const std::vector<Nemesis>& kinds) {
  DRSIM_CHECK(!kinds.empty());
  Rng rng(seed ^ 0x6e656d65736973ULL);  // its own stream: the run's draws stay the same
  return kinds[rng.below(kinds.size())];
}

std::vector<Nemesis> later_episode_kinds(const std::vector<Nemesis>& kinds, bool synced) {
  std::vector<Nemesis> out;
  for (Nemesis n : kinds) {
    if (n == Nemesis::kDrift || n == Nemesis::kKillCutOff) continue;
    if (n == Nemesis::kKill && !synced) continue;
    out.push_back(n);
  }
  return out;
}

}  // namespace drsim::sim
