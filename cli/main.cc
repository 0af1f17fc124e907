// drsim: the command line people type. Parses the verb and its flags (cli/main_verbs.h), then
// hands over to cli/commands.cc, cli/demo.cc and the other verb files.
#include <string>

#include <CLI/CLI.hpp>

#include "cli/interrupt.h"
#include "cli/main_verbs.h"

int main(int argc, char** argv) {
  using namespace drsim::cli;
  // Before any thread exists: Ctrl-C / SIGTERM / SIGHUP stop what this command started.
  install_interrupt_handling();
  CLI::App app{"drsim: disaster-recovery drill simulator. Runs a primary region, a secondary "
               "region and a Traffic Manager on loopback, drives client load, injects outages, "
               "and measures RTO, RPO and acknowledged writes lost.\n"
               "Start with `drsim demo`."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("drsim ") + DRSIM_VERSION);
  CliVerbs verbs;
  verbs.add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  return verbs.run();
}
