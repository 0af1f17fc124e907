// The Backup verbs of `drsim`: vault create / list / delete, backup policy create, backup
// protect / now / list / restore / stop / undelete / resume / clock, vm list / set / delete /
// read-disk, snapshot create / list / delete / create-disk, image capture / list / create-vm, and
// cost.
// Each talks to one region daemon's Backup service (docs/backup.md).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/backup_client.h"
#include "common/core/status.h"

namespace drsim::cli {

// Drill steps: a verb line ("backup now rsv vm-db", words split on spaces) checked against the
// verbs' options without running it; INVALID_ARGUMENT saying what is wrong.
Result<std::vector<std::string>> parse_backup_verb(const std::string& command);
// Runs a parsed verb line against the topology in `home`: OK, or why it failed.
Status run_backup_verb(const std::string& home, const std::vector<std::string>& args);

class BackupCommands {
 public:
  // Adds the verbs to `app`; `home` is the topology directory option shared with other verbs.
  BackupCommands(CLI::App& app, std::string& home);
  ~BackupCommands();
  bool parsed() const;
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drsim::cli
