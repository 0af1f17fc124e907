// The Backup verbs (cli/backup_commands.h): the verb table — every verb, its options and what
// it calls — and drill steps' parsing and running of a verb line. The verbs whose work is more
// than one call are in backup_verbs.cc.
#include "cli/backup_commands.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "cli/backup_commands_impl.h"
#include "cli/json_output.h"
#include "cli/text_table.h"
#include "cli/units.h"
#include "cli/topology.h"

namespace drsim::cli {

using namespace std::chrono_literals;

// The last failure a verb reported (drill steps read it).
Status& backup_last_failure() {
  static Status last;
  return last;
}

namespace {

// `backup now`'s answer: the recovery point it cut.
void print_backup_point(const std::string& vm, const v1::RecoveryPointInfo& p) {
  std::printf(
      "recovery point %llu of %s at %s: %s, %llu keys (%s) at seq %llu, "
      "kept until %s%s\n",
      static_cast<unsigned long long>(p.id()), vm.c_str(), p.created().c_str(),
      p.consistency().c_str(), static_cast<unsigned long long>(p.keys()),
      human_bytes(p.used_bytes()).c_str(), static_cast<unsigned long long>(p.source_seq()),
      p.expires().c_str(), p.in_paired_region() ? "; copied to the paired region" : "");
}

// `vm list`: one line a VM, then the disks restores created.
void print_vms(const v1::ListVmsResponse& r, const std::string& region) {
  TextTable table({{}, {}, {}, {}, {}, {}, {}}, "", 1);
  for (const auto& v : r.vms()) {
    std::string disks;
    for (const auto& d : v.disks()) disks += (disks.empty() ? "" : ",") + d;
    table.add_row({v.name(), v.hosted() ? "hosted" : "restored", "agent",
                   v.agent_installed() ? "installed" : "missing", v.power(), "disks", disks});
  }
  table.print();
  for (const auto& d : r.restored_disks()) std::printf("restored disk %s\n", d.c_str());
  if (r.vms().empty() && r.restored_disks().empty()) {
    std::printf("no VMs in region %s\n", region.c_str());
  }
}

// `snapshot create`'s answer.
void print_snapshot(const v1::SnapshotInfo& s) {
  std::printf(
      "%s snapshot %s of disk %s: %llu keys, %s of %s used%s%s%s at seq %llu; "
      "stored %s, billed %s\n",
      s.kind().c_str(), s.name().c_str(), s.disk().c_str(),
      static_cast<unsigned long long>(s.keys()), human_bytes(s.used_bytes()).c_str(),
      human_bytes(s.size_bytes()).c_str(), s.base().empty() ? "" : " (changes since ",
      s.base().c_str(), s.base().empty() ? "" : ")",
      static_cast<unsigned long long>(s.source_seq()), human_bytes(s.stored_bytes()).c_str(),
      human_bytes(s.billed_bytes()).c_str());
}

// `snapshot list`: one row a snapshot.
void print_snapshots(const v1::ListSnapshotsResponse& r) {
  using A = TextTable::Align;
  TextTable table({{"SNAPSHOT"},
                   {"KIND"},
                   {"DISK"},
                   {"CREATED"},
                   {"KEYS", A::kRight},
                   {"USED", A::kRight},
                   {"STORED", A::kRight},
                   {"BILLED", A::kRight},
                   {"BASE"}});
  for (const auto& s : r.snapshots()) {
    table.add_row({s.name(), s.kind(), s.disk(), s.created(), std::to_string(s.keys()),
                   human_bytes(s.used_bytes()), human_bytes(s.stored_bytes()),
                   human_bytes(s.billed_bytes()), s.base().empty() ? "-" : s.base()});
  }
  table.print();
}

}  // namespace

// The groups in the order `drsim --help` lists them; every level above a verb takes --home and
// --region too (accept_shared_options).
void BackupCommands::Impl::add(CLI::App& app) {
  add_vault_verbs(app);
  add_backup_verbs(app);
  add_vm_verbs(app);
  add_snapshot_verbs(app);
  add_image_verbs(app);
  auto* c = verb(&app, "cost",
                 "Usage and cost per item (snapshots, images, backup storage, protected "
                 "instances) over the backup clock",
                 [this] { return cost(); });
  c->add_option("--prices", prices_file,
                "YAML file with a prices: map (default: the daemon's list prices)");
  for (const char* group : {"vault", "backup", "vm", "snapshot", "image"}) {
    accept_shared_options(app.get_subcommand(group));
  }
}

// vault create | list | delete.
void BackupCommands::Impl::add_vault_verbs(CLI::App& app) {
  auto* vault = app.add_subcommand("vault", "Recovery Services vaults (docs/backup.md)");
  vault->require_subcommand(1);
  auto* c = verb(vault, "create", "Create a vault in the region", [this] {
    return with_client([this](BackupClient& b) {
      const std::map<std::string, v1::StorageRedundancy> kinds = {
          {"GRS", v1::REDUNDANCY_GRS}, {"LRS", v1::REDUNDANCY_LRS}, {"ZRS", v1::REDUNDANCY_ZRS}};
      vault_create.set_redundancy(kinds.at(redundancy));
      auto r = b.create_vault(vault_create);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(vault_create, *r);
      std::printf("vault %s created in %s: %s%s\n", r->vault().name().c_str(),
                  r->vault().region().c_str(), r->vault().redundancy().c_str(),
                  r->vault().cross_region_restore()
                      ? (", cross-region restore to " + r->vault().paired_region()).c_str()
                      : "");
      return 0;
    });
  });
  c->add_option("name", *vault_create.mutable_vault(), "Vault name")->required();
  c->add_option("--redundancy", redundancy, "GRS (copy in the paired region), LRS or ZRS")
      ->check(CLI::IsMember({"GRS", "LRS", "ZRS"}))
      ->capture_default_str();
  c->add_flag_function(
      "--cross-region-restore", [this](int64_t) { vault_create.set_cross_region_restore(true); },
      "Allow restores from the paired region's copy (GRS only)");
  c = verb(vault, "list", "Vaults, protected VMs, recovery points, soft-deleted items",
           [this] { return list(); });
  c = verb(vault, "delete", "Delete a vault (refused while it holds items or data)", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.delete_vault(vault_delete);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(vault_delete, *r);
      std::printf("vault %s deleted\n", vault_delete.vault().c_str());
      return 0;
    });
  });
  c->add_option("name", *vault_delete.mutable_vault(), "Vault name")->required();
}

// backup policy create | protect | now | list | restore | stop | undelete | resume | clock.
void BackupCommands::Impl::add_backup_verbs(CLI::App& app) {
  auto* backup = app.add_subcommand("backup", "Back up VMs into a vault and restore them");
  backup->require_subcommand(1);
  add_policy_verbs(backup);
  add_protect_verbs(backup);
  add_restore_verbs(backup);
  add_stop_verbs(backup);
  auto* c = verb(backup, "clock",
                 "Show or change the backup clock (a drill makes days pass in "
                 "seconds)",
                 [this] { return clock(); });
  c->add_option("--time-scale", time_scale, "Simulated seconds per real second (1..10^7)");
  c->add_option("--advance", advance, "Jump forward, e.g. 15d");
}

// backup policy create.
void BackupCommands::Impl::add_policy_verbs(CLI::App* backup) {
  auto* pol = backup->add_subcommand("policy", "Backup policies of a vault");
  pol->require_subcommand(1);
  auto* c = verb(pol, "create", "Define a backup policy: 1 to 5 backups a day and retention",
                 [this] { return create_policy(); });
  c->add_option("vault", *policy.mutable_vault(), "Vault")->required();
  c->add_option("name", *policy.mutable_policy(), "Policy name")->required();
  c->add_option("--times", times, "Backup times of day, HH:MM,... (1 to 5)")->capture_default_str();
  auto* spec = policy.mutable_spec();
  c->add_option_function<uint32_t>(
      "--instant-restore-days", [spec](uint32_t v) { spec->set_instant_restore_days(v); },
      "Instant-restore snapshot days, 1..5 (default 2)");
  c->add_option_function<uint32_t>(
      "--daily-days", [spec](uint32_t v) { spec->set_daily_days(v); },
      "Daily retention in days, 7..9999 (default 30)");
  c->add_option_function<uint32_t>(
      "--weekly-weeks", [spec](uint32_t v) { spec->set_weekly_weeks(v); },
      "Weekly retention in weeks (0 = off)");
  c->add_option("--weekly-on", weekly_on, "Day of the weekly point")->capture_default_str();
  c->add_option_function<uint32_t>(
      "--monthly-months", [spec](uint32_t v) { spec->set_monthly_months(v); },
      "Monthly retention in months (0 = off)");
  c->add_option_function<uint32_t>(
      "--monthly-on-day", [spec](uint32_t v) { spec->set_monthly_on_day(v); },
      "Day of the month of the monthly point, 1..28");
  c->add_option_function<uint32_t>(
      "--yearly-years", [spec](uint32_t v) { spec->set_yearly_years(v); },
      "Yearly retention in years (0 = off)");
}

// backup protect | now.
void BackupCommands::Impl::add_protect_verbs(CLI::App* backup) {
  auto* c = verb(backup, "protect", "Protect a VM with a policy", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.protect(protect);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(protect, *r);
      std::printf("%s protected by vault %s (policy %s); next backup %s\n", protect.vm().c_str(),
                  protect.vault().c_str(), protect.policy().c_str(), r->next_backup().c_str());
      return 0;
    });
  });
  c->add_option("vault", *protect.mutable_vault(), "Vault")->required();
  c->add_option("vm", *protect.mutable_vm(), "VM (a workload of the region)")->required();
  c->add_option("--policy", *protect.mutable_policy(), "Policy")->required();

  c = verb(backup, "now", "On-demand backup: a recovery point with the VM's keys now", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.backup_now(now);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(now, *r);
      print_backup_point(now.vm(), r->point());
      return 0;
    });
  });
  c->add_option("vault", *now.mutable_vault(), "Vault")->required();
  c->add_option("vm", *now.mutable_vm(), "VM")->required();
  c->add_option_function<uint32_t>(
      "--retain-days", [this](uint32_t v) { now.set_retain_days(v); },
      "Keep the point this many days (default 30)");
}

// backup list | restore.
void BackupCommands::Impl::add_restore_verbs(CLI::App* backup) {
  auto* c = verb(backup, "list", "Protected VMs and their recovery points (= vault list)",
                 [this] { return list(); });
  c->add_option("vault", list_vault, "Only this vault");

  c = verb(backup, "restore", "Restore a recovery point: new VM, disks, or replace existing",
           [this] { return do_restore(); });
  c->add_option("vault", *restore.mutable_vault(), "Vault")->required();
  c->add_option("vm", *restore.mutable_vm(), "VM")->required();
  c->add_option_function<uint64_t>(
      "--point", [this](uint64_t v) { restore.set_point(v); }, "Point id (default the latest)");
  c->add_option("--as", restore_as, "new-vm, disks or replace")
      ->check(CLI::IsMember({"new-vm", "disks", "replace"}))
      ->required();
  c->add_option("--target-vm", *restore.mutable_target_vm(), "Name of the new VM (new-vm)");
  c->add_option("--from-region", *restore.mutable_source_region(),
                "Cross-region restore: the vault's region; --region names the paired region "
                "that restores from its GRS copy");
}

// backup stop | undelete | resume.
void BackupCommands::Impl::add_stop_verbs(CLI::App* backup) {
  auto* c = verb(
      backup, "stop", "Stop protection and retain the data, or delete it (soft delete)", [this] {
        return with_client([this](BackupClient& b) {
          auto r = b.stop_protection(stop);
          if (!r.is_ok()) return fail(r.status());
          if (json) return done(stop, *r);
          if (stop.delete_data()) {
            std::printf(
                "protection of %s stopped; backup data soft-deleted, restorable "
                "by undelete until %s\n",
                stop.vm().c_str(), r->purge_at().c_str());
          } else {
            std::printf("protection of %s stopped; backup data retained\n", stop.vm().c_str());
          }
          return 0;
        });
      });
  c->add_option("vault", *stop.mutable_vault(), "Vault")->required();
  c->add_option("vm", *stop.mutable_vm(), "VM")->required();
  c->add_flag_function(
      "--delete-data", [this](int64_t) { stop.set_delete_data(true); },
      "Delete the backup data (kept 14 days in soft delete)");

  for (const char* name : {"undelete", "resume"}) {
    const bool is_undelete = std::string(name) == "undelete";
    c = verb(backup, name,
             is_undelete ? "Bring soft-deleted backup data back (within 14 days)"
                         : "Resume stopped protection",
             [this, is_undelete] {
               return with_client([this, is_undelete](BackupClient& b) {
                 auto r = is_undelete ? b.undelete(item) : b.resume_protection(item);
                 if (!r.is_ok()) return fail(r.status());
                 if (json) return done(item, *r);
                 std::printf("%s: %s, %d recovery point(s)\n", item.vm().c_str(),
                             r->item().state().c_str(), r->item().points_size());
                 return 0;
               });
             });
    c->add_option("vault", *item.mutable_vault(), "Vault")->required();
    c->add_option("vm", *item.mutable_vm(), "VM")->required();
  }
}

// vm list | set | delete | read-disk.
void BackupCommands::Impl::add_vm_verbs(CLI::App& app) {
  auto* vm = app.add_subcommand("vm", "VMs of a region: hosted workloads and restored VMs");
  vm->require_subcommand(1);
  auto* c = verb(vm, "list", "VMs, their agent, power state and disks", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.list_vms();
      if (!r.is_ok()) return fail(r.status());
      if (json) return print_json(*r);
      print_vms(*r, region);
      return 0;
    });
  });
  c = verb(vm, "set", "Install / remove the VM agent, start / stop the VM",
           [this] { return set_vm(); });
  c->add_option("vm", *vm_set.mutable_vm(), "VM")->required();
  c->add_option("--agent", agent, "installed or missing")
      ->check(CLI::IsMember({"installed", "missing"}));
  c->add_option("--power", power, "running or stopped")
      ->check(CLI::IsMember({"running", "stopped"}));
  c = verb(vm, "delete",
           "Delete a VM (not undoable; needs --yes): its backups stay restorable, a VM "
           "never backed up is gone for good",
           [this] { return delete_vm(); });
  c->add_option("vm", *vm_delete.mutable_vm(), "VM")->required();
  c->add_flag("--yes", delete_confirmed, "Really delete it");
  c = verb(vm, "read-disk", "Print the keys of a disk (key=value, one a line)", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.read_disk(disk);
      if (!r.is_ok()) return fail(r.status());
      if (json) {
        JsonObject keys = JsonObject::object();
        for (const auto& [k, v] : *r) keys[k] = v;
        print_json_document(JsonObject{{"region", region}, {"disk", disk}, {"keys", keys}});
        return 0;
      }
      for (const auto& [k, v] : *r) std::printf("%s=%s\n", k.c_str(), v.c_str());
      return 0;
    });
  });
  c->add_option("disk", disk, "Disk name (<vm>-osdisk, or one a restore created)")->required();
}

// snapshot create | list | delete | create-disk.
void BackupCommands::Impl::add_snapshot_verbs(CLI::App& app) {
  auto* snap = app.add_subcommand("snapshot", "Managed-disk snapshots: full or incremental");
  snap->require_subcommand(1);
  auto* c = verb(snap, "create", "Snapshot a disk: a read-only copy of its keys now", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.create_snapshot(snap_create);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(snap_create, *r);
      print_snapshot(r->snapshot());
      return 0;
    });
  });
  c->add_option("disk", *snap_create.mutable_disk(), "Disk (<vm>-osdisk, or a created disk)")
      ->required();
  c->add_option("name", *snap_create.mutable_snapshot(), "Snapshot name")->required();
  c->add_flag_function(
      "--incremental", [this](int64_t) { snap_create.set_incremental(true); },
      "Incremental: the disk's first is full, later ones store only what changed");
  c = verb(snap, "list", "Snapshots: kind, used, stored and billed sizes", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.list_snapshots();
      if (!r.is_ok()) return fail(r.status());
      if (json) return print_json(*r);
      print_snapshots(*r);
      return 0;
    });
  });
  add_snapshot_delete_verbs(snap);
}

// snapshot delete | create-disk.
void BackupCommands::Impl::add_snapshot_delete_verbs(CLI::App* snap) {
  auto* c = verb(snap, "delete",
                 "Delete a snapshot (an incremental one's changes move to the next)", [this] {
                   return with_client([this](BackupClient& b) {
                     auto r = b.delete_snapshot(snap_delete);
                     if (!r.is_ok()) return fail(r.status());
                     if (json) return done(snap_delete, *r);
                     std::printf("snapshot %s deleted%s%s\n", snap_delete.snapshot().c_str(),
                                 r->merged_into().empty() ? "" : "; its changes moved into ",
                                 r->merged_into().c_str());
                     return 0;
                   });
                 });
  c->add_option("name", *snap_delete.mutable_snapshot(), "Snapshot")->required();
  c = verb(snap, "create-disk", "A new disk with a snapshot's keys", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.create_disk(disk_create);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(disk_create, *r);
      std::printf("disk %s created from snapshot %s: %llu keys, %s%s%s\n", r->disk().c_str(),
                  disk_create.snapshot().c_str(), static_cast<unsigned long long>(r->keys()),
                  human_bytes(r->bytes()).c_str(),
                  disk_create.attach_to_vm().empty() ? "" : "; data disk of ",
                  disk_create.attach_to_vm().c_str());
      return 0;
    });
  });
  c->add_option("snapshot", *disk_create.mutable_snapshot(), "Snapshot")->required();
  c->add_option("disk", *disk_create.mutable_disk(), "Name of the new disk")->required();
  c->add_option("--attach-to", *disk_create.mutable_attach_to_vm(),
                "Attach it to this VM as a data disk");
}

// image capture | list | create-vm.
void BackupCommands::Impl::add_image_verbs(CLI::App& app) {
  auto* image = app.add_subcommand("image", "Images: every disk of a VM, for new VMs");
  image->require_subcommand(1);
  auto* c = verb(image, "capture", "Capture a stopped VM's disks into an image; generalizes the VM",
                 [this] {
                   return with_client([this](BackupClient& b) {
                     auto r = b.capture_image(image_capture);
                     if (!r.is_ok()) return fail(r.status());
                     if (json) return done(image_capture, *r);
                     print_image(r->image());
                     std::printf("%s is generalized: it cannot start or take writes again\n",
                                 image_capture.vm().c_str());
                     return 0;
                   });
                 });
  c->add_option("vm", *image_capture.mutable_vm(), "VM (stopped)")->required();
  c->add_option("image", *image_capture.mutable_image(), "Image name")->required();
  c = verb(image, "list", "Images and their disks", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.list_images();
      if (!r.is_ok()) return fail(r.status());
      if (json) return print_json(*r);
      for (const auto& i : r->images()) print_image(i);
      return 0;
    });
  });
  c = verb(image, "create-vm", "A new running VM in the image's region with its disks", [this] {
    return with_client([this](BackupClient& b) {
      auto r = b.create_vm_from_image(image_vm);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(image_vm, *r);
      std::string disks;
      for (const auto& d : r->vm().disks()) disks += (disks.empty() ? "" : ", ") + d;
      std::printf("VM %s created from image %s (%s): %llu keys, %s; disks: %s\n",
                  r->vm().name().c_str(), image_vm.image().c_str(), r->vm().power().c_str(),
                  static_cast<unsigned long long>(r->keys()), human_bytes(r->bytes()).c_str(),
                  disks.c_str());
      return 0;
    });
  });
  c->add_option("image", *image_vm.mutable_image(), "Image")->required();
  c->add_option("vm", *image_vm.mutable_vm(), "Name of the new VM")->required();
}

void BackupCommands::Impl::accept_shared_options(CLI::App* group) {
  group->add_option("--home", home, "Directory of the local topology")->capture_default_str();
  group->add_option("--region", region, "Region daemon: primary or secondary")
      ->capture_default_str();
  for (CLI::App* sub : group->get_subcommands({})) {
    if (!sub->get_subcommands({}).empty()) accept_shared_options(sub);
  }
}

namespace {

// Parses `args` with the verbs `cmds` added to `app`; OK when they name one verb and its
// options.
Status parse_verb(CLI::App& app, const BackupCommands& cmds, std::vector<std::string> args) {
  app.require_subcommand(1);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return invalid_argument(std::string(e.what()));
  }
  if (!cmds.parsed()) {
    return invalid_argument("not a vault, backup, vm, snapshot, image or cost verb");
  }
  return Status::ok();
}

// The verbs' table, built once per thread to check a drill's `drsim:` steps: building it (about
// 60 verbs and their options) cost ~0.2 ms a step, most of what `drill validate` and the drill
// fuzz target spent. CLI11's clear() forgets what the last parse found; the values it wrote into
// the options' variables are never read, since a checked verb is not run.
struct VerbChecker {
  CLI::App app;
  std::string home;
  BackupCommands cmds{app, home};

  Status check(const std::vector<std::string>& args) {
    app.clear();
    return parse_verb(app, cmds, args);
  }
};

}  // namespace

Result<std::vector<std::string>> parse_backup_verb(const std::string& command) {
  std::vector<std::string> args;
  std::string word;
  for (char c : command + " ") {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) args.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  thread_local VerbChecker checker;
  if (Status s = checker.check(args); !s.is_ok()) {
    return Status(s.code(), "\"" + command + "\": " + s.message());
  }
  return args;
}

Status run_backup_verb(const std::string& home, const std::vector<std::string>& args) {
  CLI::App app;
  std::string h = home;
  BackupCommands cmds(app, h);  // fresh: running a verb reads the values the parse wrote
  if (Status s = parse_verb(app, cmds, args); !s.is_ok()) return s;
  backup_last_failure() = Status::ok();
  int rc = cmds.run();
  if (rc == 0) return Status::ok();
  return backup_last_failure().is_ok() ? internal_error("exit code " + std::to_string(rc))
                                : backup_last_failure();
}

BackupCommands::BackupCommands(CLI::App& app, std::string& home)
    : impl_(std::make_unique<Impl>(home)) {
  impl_->add(app);
}

BackupCommands::~BackupCommands() = default;

bool BackupCommands::parsed() const {
  for (const auto& [cmd, run] : impl_->verbs) {
    if (cmd->parsed()) return true;
  }
  return false;
}

int BackupCommands::run() {
  for (const auto& [cmd, run] : impl_->verbs) {
    if (cmd->parsed()) return run();
  }
  return 2;
}

}  // namespace drsim::cli
