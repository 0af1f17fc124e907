// `drsim sim`: the region simulator as a verb (docs/simulation.md). Runs seeded region-pair
// runs on virtual time under the nemesis kinds of common/sim/region_pair_sim.h, prints progress
// and a summary (or --json), the violations of any failing seed with its replay command, and
// with --seed S one run's event history. Exit 0 with no violation, 1 with any, 2 bad input.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

namespace drsim::cli {

class SimCommand {
 public:
  explicit SimCommand(CLI::App& app);
  ~SimCommand();
  bool parsed() const;
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drsim::cli
