// The Backup verbs' state and helpers (cli/backup_commands.h): what `drsim vault|backup|vm|
// snapshot|image|cost` parse into, shared by the verb table (backup_commands.cc) and the verbs'
// bodies (backup_verbs.cc). Internal to the CLI.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/backup_commands.h"
#include "cli/json_output.h"
#include "cli/topology.h"
#include "drsim/v1/backup.pb.h"

namespace drsim::cli {

namespace v1 = drsim::v1;

// The last failure a verb reported (drill steps read it).
Status& backup_last_failure();

struct BackupCommands::Impl {
  std::string& home;
  std::string region = "primary";
  bool json = false;
  std::vector<std::pair<CLI::App*, std::function<int()>>> verbs;

  v1::CreateVaultRequest vault_create;
  std::string redundancy = "GRS";
  v1::DeleteVaultRequest vault_delete;
  v1::CreatePolicyRequest policy;
  std::string times = "22:00";
  std::string weekly_on = "sun";
  v1::ProtectRequest protect;
  v1::BackupNowRequest now;
  std::string list_vault;
  v1::RestoreRequest restore;
  std::string restore_as;
  v1::StopProtectionRequest stop;
  v1::ItemRequest item;
  double time_scale = 0;
  std::string advance;
  v1::SetVmRequest vm_set;
  v1::DeleteVmRequest vm_delete;
  bool delete_confirmed = false;
  std::string agent, power, disk;
  v1::CreateSnapshotRequest snap_create;
  v1::DeleteSnapshotRequest snap_delete;
  v1::CreateDiskRequest disk_create;
  v1::CaptureImageRequest image_capture;
  v1::CreateVmFromImageRequest image_vm;
  std::string prices_file;

  explicit Impl(std::string& h) : home(h) {}

  Result<BackupClient> client() {
    if (!is_region(region)) {
      return invalid_argument("--region: '" + region + "' is not primary or secondary");
    }
    auto state = load_state(home);
    if (!state.is_ok()) return state.status();
    return BackupClient(state->at(region).address);
  }

  CLI::App* verb(CLI::App* parent, const char* name, const char* help, std::function<int()> run) {
    CLI::App* cmd = parent->add_subcommand(name, help);
    cmd->add_option("--home", home, "Directory of the local topology")->capture_default_str();
    cmd->add_option("--region", region, "Region daemon: primary or secondary")
        ->capture_default_str();
    cmd->add_flag("--json", json, "Machine-readable output (docs/cli.md, JSON)");
    verbs.emplace_back(cmd, std::move(run));
    return cmd;
  }

  // A verb failed: "drsim: <why>" on stderr, or the JSON error document with --json.
  int fail(const Status& s) {
    backup_last_failure() = s;
    return print_failure(s, json);
  }

  // A verb that changed something, with --json: {"ok": true, "region", "request", "response"}.
  int done(const google::protobuf::Message& request, const google::protobuf::Message& response) {
    print_json_document(json_ok({{"region", region},
                                 {"request", proto_to_json(request)},
                                 {"response", proto_to_json(response)}}));
    return 0;
  }

  // Runs `fn(client)` against the chosen region.
  template <typename Fn>
  int with_client(Fn fn) {
    auto c = client();
    if (!c.is_ok()) return fail(c.status());
    return fn(*c);
  }

  void add(CLI::App& app);
  // The verb table by group and family (cli/backup_commands.cc).
  void add_vault_verbs(CLI::App& app);
  void add_backup_verbs(CLI::App& app);
  void add_policy_verbs(CLI::App* backup);
  void add_protect_verbs(CLI::App* backup);
  void add_restore_verbs(CLI::App* backup);
  void add_stop_verbs(CLI::App* backup);
  void add_vm_verbs(CLI::App& app);
  void add_snapshot_verbs(CLI::App& app);
  void add_snapshot_delete_verbs(CLI::App* snap);
  void add_image_verbs(CLI::App& app);
  // `drsim vault --home H list` works as `drsim vault list --home H` does: every level above a
  // verb takes --home and --region too, into the same variables.
  void accept_shared_options(CLI::App* group);

  // The verbs whose work is more than one call (cli/backup_verbs.cc).
  static int print_json(const google::protobuf::Message& m);
  static void print_image(const v1::ImageInfo& i);
  int cost();
  int list();
  int create_policy();
  int do_restore();
  int clock();
  // Without --yes the region answers what deleting would mean and nothing changes: refused as
  // bad input (exit 2) with that answer.
  int delete_vm();
  int set_vm();
};

}  // namespace drsim::cli
