#include "cli/backup_commands.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include <fmt/format.h>


#include "cli/json_output.h"
#include "cli/price_file.h"
#include "cli/rpc_clients.h"
#include "cli/text_table.h"
#include "cli/units.h"
#include "cli/topology.h"
#include "common/net/grpc_util.h"
#include "common/region/price_list_proto.h"
#include "drsim/v1/backup.grpc.pb.h"

namespace drsim::cli {

namespace v1 = drsim::v1;
using namespace std::chrono_literals;

namespace {

// The delete VM call's name in its errors (vm delete reads the server's words out of them).
constexpr char kDeleteVmCall[] = "delete VM";

// Backups and restores copy a workload: longer than an admin call.
constexpr auto kBackupDeadline = 60s;
constexpr int kMaxDiskPages = 100000;

template <typename Request, typename Response>
Result<Response> call(const std::string& address, const char* what,
                      grpc::Status (v1::Backup::Stub::*method)(grpc::ClientContext*, const Request&,
                                                               Response*),
                      const Request& req) {
  return unary_call<v1::Backup>(
      address, what, method, req,
      std::chrono::duration_cast<std::chrono::milliseconds>(kBackupDeadline));
}

// The last failure a verb reported (drill steps read it).
Status& last_failure() {
  static Status last;
  return last;
}


std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Result<uint32_t> parse_weekday(const std::string& text) {
  static const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (uint32_t i = 0; i < 7; ++i) {
    if (text == kDays[i]) return i;
  }
  return invalid_argument("--weekly-on: '" + text +
                          "' must be sun, mon, tue, wed, thu, fri or sat");
}

void print_vault(const v1::VaultInfo& v) {
  std::string policies;
  for (const auto& p : v.policies()) policies += (policies.empty() ? "" : ", ") + p;
  std::printf(
      "vault %s  region %s  %s%s  policies: %s\n", v.name().c_str(), v.region().c_str(),
      v.redundancy().c_str(),
      v.cross_region_restore() ? (", cross-region restore to " + v.paired_region()).c_str() : "",
      policies.empty() ? "-" : policies.c_str());
  if (v.items().empty()) return;
  TextTable items({{"VM"}, {"STATE"}, {"POLICY"}, {"NEXT BACKUP"}, {"PURGED AT"}}, "  ");
  for (const auto& item : v.items()) {
    items.add_row({item.vm(), item.state(), item.policy().empty() ? "-" : item.policy(),
                   item.next_backup().empty() ? "-" : item.next_backup(), item.purge_at()});
  }
  items.print();
  using A = TextTable::Align;
  for (const auto& item : v.items()) {
    if (item.points().empty()) continue;
    std::printf("  recovery points of %s:\n", item.vm().c_str());
    TextTable points({{"ID", A::kRight},
                      {"CREATED"},
                      {"CONSISTENCY"},
                      {"TRIGGER"},
                      {"KEYS", A::kRight},
                      {"SEQ", A::kRight},
                      {"EXPIRES"},
                      {"COPIES"}},
                     "    ");
    for (const auto& p : item.points()) {
      std::string copies = p.instant_restore() ? "snapshot, vault" : "vault";
      if (p.in_paired_region()) copies += ", paired region";
      points.add_row({std::to_string(p.id()), p.created(), p.consistency(),
                      p.on_demand() ? "on-demand" : "scheduled", std::to_string(p.keys()),
                      std::to_string(p.source_seq()), p.expires(), copies});
    }
    points.print();
  }
}

}  // namespace

// ---------------------------------------------------------------- client

#define DRSIM_BACKUP_CALL(name, Method, Request, Response, what)  \
  Result<v1::Response> BackupClient::name(const v1::Request& r) { \
    return call(address_, what, &v1::Backup::Stub::Method, r);    \
  }
DRSIM_BACKUP_CALL(create_vault, CreateVault, CreateVaultRequest, CreateVaultResponse,
                  "create vault")
DRSIM_BACKUP_CALL(delete_vault, DeleteVault, DeleteVaultRequest, DeleteVaultResponse,
                  "delete vault")
DRSIM_BACKUP_CALL(create_policy, CreatePolicy, CreatePolicyRequest, CreatePolicyResponse,
                  "create policy")
DRSIM_BACKUP_CALL(protect, Protect, ProtectRequest, ProtectResponse, "protect")
DRSIM_BACKUP_CALL(backup_now, BackupNow, BackupNowRequest, BackupNowResponse, "backup now")
DRSIM_BACKUP_CALL(stop_protection, StopProtection, StopProtectionRequest, StopProtectionResponse,
                  "stop protection")
DRSIM_BACKUP_CALL(undelete, Undelete, ItemRequest, ItemResponse, "undelete")
DRSIM_BACKUP_CALL(resume_protection, ResumeProtection, ItemRequest, ItemResponse, "resume")
DRSIM_BACKUP_CALL(restore, Restore, RestoreRequest, RestoreResponse, "restore")
DRSIM_BACKUP_CALL(set_vm, SetVm, SetVmRequest, SetVmResponse, "set VM")
DRSIM_BACKUP_CALL(delete_vm, DeleteVm, DeleteVmRequest, DeleteVmResponse, kDeleteVmCall)
DRSIM_BACKUP_CALL(create_snapshot, CreateSnapshot, CreateSnapshotRequest, CreateSnapshotResponse,
                  "create snapshot")
DRSIM_BACKUP_CALL(delete_snapshot, DeleteSnapshot, DeleteSnapshotRequest, DeleteSnapshotResponse,
                  "delete snapshot")
DRSIM_BACKUP_CALL(create_disk, CreateDisk, CreateDiskRequest, CreateDiskResponse, "create disk")
DRSIM_BACKUP_CALL(capture_image, CaptureImage, CaptureImageRequest, CaptureImageResponse,
                  "capture image")
DRSIM_BACKUP_CALL(create_vm_from_image, CreateVmFromImage, CreateVmFromImageRequest,
                  CreateVmFromImageResponse, "create VM from image")
DRSIM_BACKUP_CALL(cost, GetCost, CostRequest, CostResponse, "cost report")
DRSIM_BACKUP_CALL(set_clock, SetBackupClock, SetBackupClockRequest, SetBackupClockResponse,
                  "set backup clock")
#undef DRSIM_BACKUP_CALL

Result<v1::ListVaultsResponse> BackupClient::list_vaults() {
  return call(address_, "list vaults", &v1::Backup::Stub::ListVaults, v1::ListVaultsRequest());
}

Result<v1::ListSnapshotsResponse> BackupClient::list_snapshots() {
  return call(address_, "list snapshots", &v1::Backup::Stub::ListSnapshots,
              v1::ListSnapshotsRequest());
}

Result<v1::ListImagesResponse> BackupClient::list_images() {
  return call(address_, "list images", &v1::Backup::Stub::ListImages, v1::ListImagesRequest());
}

Result<v1::ListVmsResponse> BackupClient::list_vms() {
  return call(address_, "list VMs", &v1::Backup::Stub::ListVms, v1::ListVmsRequest());
}

Result<std::map<std::string, std::string>> BackupClient::read_disk(const std::string& disk) {
  std::map<std::string, std::string> out;
  v1::ReadDiskRequest req;
  req.set_disk(disk);
  req.set_limit(10000);
  for (int page = 0; page < kMaxDiskPages; ++page) {
    auto r = call(address_, "read disk", &v1::Backup::Stub::ReadDisk, req);
    if (!r.is_ok()) return r.status();
    for (const auto& kv : r->items()) out[kv.key()] = kv.value();
    if (r->next_key().empty()) return out;
    req.set_start_key(r->next_key());
  }
  return out_of_range("disk " + disk + " has more than " + std::to_string(kMaxDiskPages) +
                      " pages");
}

Result<int64_t> parse_duration_nanos(const std::string& field, const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const std::string unit = text.substr(digits);
  int64_t per = 0;
  if (unit == "d") per = 86400;
  if (unit == "h") per = 3600;
  if (unit == "m") per = 60;
  if (unit == "s") per = 1;
  if (digits == 0 || digits > 6 || per == 0) {
    return invalid_argument(field + ": '" + text +
                            "' must be a whole number and a unit: d, h, m or s (e.g. 15d)");
  }
  return std::stoll(text.substr(0, digits)) * per * 1'000'000'000;
}

// ---------------------------------------------------------------- verbs

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
    last_failure() = s;
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

  void add(CLI::App& app) {
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

    auto* backup = app.add_subcommand("backup", "Back up VMs into a vault and restore them");
    backup->require_subcommand(1);
    auto* pol = backup->add_subcommand("policy", "Backup policies of a vault");
    pol->require_subcommand(1);
    c = verb(pol, "create", "Define a backup policy: 1 to 5 backups a day and retention",
             [this] { return create_policy(); });
    c->add_option("vault", *policy.mutable_vault(), "Vault")->required();
    c->add_option("name", *policy.mutable_policy(), "Policy name")->required();
    c->add_option("--times", times, "Backup times of day, HH:MM,... (1 to 5)")
        ->capture_default_str();
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

    c = verb(backup, "protect", "Protect a VM with a policy", [this] {
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
        const auto& p = r->point();
        std::printf(
            "recovery point %llu of %s at %s: %s, %llu keys (%s) at seq %llu, "
            "kept until %s%s\n",
            static_cast<unsigned long long>(p.id()), now.vm().c_str(), p.created().c_str(),
            p.consistency().c_str(), static_cast<unsigned long long>(p.keys()),
            human_bytes(p.used_bytes()).c_str(),
            static_cast<unsigned long long>(p.source_seq()), p.expires().c_str(),
            p.in_paired_region() ? "; copied to the paired region" : "");
        return 0;
      });
    });
    c->add_option("vault", *now.mutable_vault(), "Vault")->required();
    c->add_option("vm", *now.mutable_vm(), "VM")->required();
    c->add_option_function<uint32_t>(
        "--retain-days", [this](uint32_t v) { now.set_retain_days(v); },
        "Keep the point this many days (default 30)");

    c = verb(backup, "list", "Protected VMs and their recovery points (= vault list)",
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

    c = verb(
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

    c = verb(backup, "clock",
             "Show or change the backup clock (a drill makes days pass in "
             "seconds)",
             [this] { return clock(); });
    c->add_option("--time-scale", time_scale, "Simulated seconds per real second (1..10^7)");
    c->add_option("--advance", advance, "Jump forward, e.g. 15d");

    auto* vm = app.add_subcommand("vm", "VMs of a region: hosted workloads and restored VMs");
    vm->require_subcommand(1);
    c = verb(vm, "list", "VMs, their agent, power state and disks", [this] {
      return with_client([this](BackupClient& b) {
        auto r = b.list_vms();
        if (!r.is_ok()) return fail(r.status());
        if (json) return print_json(*r);
        TextTable table({{}, {}, {}, {}, {}, {}, {}}, "", 1);
        for (const auto& v : r->vms()) {
          std::string disks;
          for (const auto& d : v.disks()) disks += (disks.empty() ? "" : ",") + d;
          table.add_row({v.name(), v.hosted() ? "hosted" : "restored", "agent",
                         v.agent_installed() ? "installed" : "missing", v.power(), "disks",
                         disks});
        }
        table.print();
        for (const auto& d : r->restored_disks()) std::printf("restored disk %s\n", d.c_str());
        if (r->vms().empty() && r->restored_disks().empty()) {
          std::printf("no VMs in region %s\n", region.c_str());
        }
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
    add_disk_verbs(app);
  }

  // snapshot ..., image ..., cost.
  void add_disk_verbs(CLI::App& app) {
    auto* snap = app.add_subcommand("snapshot", "Managed-disk snapshots: full or incremental");
    snap->require_subcommand(1);
    auto* c = verb(snap, "create", "Snapshot a disk: a read-only copy of its keys now", [this] {
      return with_client([this](BackupClient& b) {
        auto r = b.create_snapshot(snap_create);
        if (!r.is_ok()) return fail(r.status());
        if (json) return done(snap_create, *r);
        const auto& s = r->snapshot();
        std::printf(
            "%s snapshot %s of disk %s: %llu keys, %s of %s used%s%s%s at seq %llu; "
            "stored %s, billed %s\n",
            s.kind().c_str(), s.name().c_str(), s.disk().c_str(),
            static_cast<unsigned long long>(s.keys()), human_bytes(s.used_bytes()).c_str(),
            human_bytes(s.size_bytes()).c_str(), s.base().empty() ? "" : " (changes since ",
            s.base().c_str(), s.base().empty() ? "" : ")",
            static_cast<unsigned long long>(s.source_seq()), human_bytes(s.stored_bytes()).c_str(),
            human_bytes(s.billed_bytes()).c_str());
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
        for (const auto& s : r->snapshots()) {
          table.add_row({s.name(), s.kind(), s.disk(), s.created(), std::to_string(s.keys()),
                         human_bytes(s.used_bytes()), human_bytes(s.stored_bytes()),
                         human_bytes(s.billed_bytes()), s.base().empty() ? "-" : s.base()});
        }
        table.print();
        return 0;
      });
    });
    c = verb(snap, "delete", "Delete a snapshot (an incremental one's changes move to the next)",
             [this] {
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
        std::printf("disk %s created from snapshot %s: %llu keys, %s%s%s\n",
                    r->disk().c_str(), disk_create.snapshot().c_str(),
                    static_cast<unsigned long long>(r->keys()), human_bytes(r->bytes()).c_str(),
                    disk_create.attach_to_vm().empty() ? "" : "; data disk of ",
                    disk_create.attach_to_vm().c_str());
        return 0;
      });
    });
    c->add_option("snapshot", *disk_create.mutable_snapshot(), "Snapshot")->required();
    c->add_option("disk", *disk_create.mutable_disk(), "Name of the new disk")->required();
    c->add_option("--attach-to", *disk_create.mutable_attach_to_vm(),
                  "Attach it to this VM as a data disk");

    auto* image = app.add_subcommand("image", "Images: every disk of a VM, for new VMs");
    image->require_subcommand(1);
    c = verb(image, "capture", "Capture a stopped VM's disks into an image; generalizes the VM",
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

    c = verb(&app, "cost",
             "Usage and cost per item (snapshots, images, backup storage, protected instances) "
             "over the backup clock",
             [this] { return cost(); });
    c->add_option("--prices", prices_file,
                  "YAML file with a prices: map (default: the daemon's list prices)");
    for (const char* group : {"vault", "backup", "vm", "snapshot", "image"}) {
      accept_shared_options(app.get_subcommand(group));
    }
  }

  // `drsim vault --home H list` works as `drsim vault list --home H` does: every level above a
  // verb takes --home and --region too, into the same variables.
  void accept_shared_options(CLI::App* group) {
    group->add_option("--home", home, "Directory of the local topology")->capture_default_str();
    group->add_option("--region", region, "Region daemon: primary or secondary")
        ->capture_default_str();
    for (CLI::App* sub : group->get_subcommands({})) {
      if (!sub->get_subcommands({}).empty()) accept_shared_options(sub);
    }
  }

  static int print_json(const google::protobuf::Message& m) {
    print_json_document(m);
    return 0;
  }

  static void print_image(const v1::ImageInfo& i) {
    std::printf("image %s of %s in %s, %s: %d disk(s), billed %s\n", i.name().c_str(),
                i.source_vm().c_str(), i.region().c_str(), i.created().c_str(), i.disks_size(),
                human_bytes(i.billed_bytes()).c_str());
    for (const auto& d : i.disks()) {
      std::printf("  %-4s disk %-22s %6llu keys %10s of %s used\n", d.kind().c_str(),
                  d.disk().c_str(), static_cast<unsigned long long>(d.keys()),
                  human_bytes(d.used_bytes()).c_str(), human_bytes(d.size_bytes()).c_str());
    }
  }

  int cost() {
    v1::CostRequest req;
    if (!prices_file.empty()) {
      auto prices = load_price_file(prices_file);
      if (!prices.is_ok()) return fail(prices.status());
      region::prices_to_proto(*prices, req.mutable_prices());
    }
    return with_client([&req, this](BackupClient& b) {
      auto r = b.cost(req);
      if (!r.is_ok()) return fail(r.status());
      if (json) return print_json(*r);
      const auto& p = r->prices();
      std::printf("cost in region %s over the backup clock %s .. %s\n", region.c_str(),
                  r->from().c_str(), r->to().c_str());
      const std::string currency = p.currency().empty() ? "USD" : p.currency();
      std::printf(
          "prices in %s per GiB-month: snapshot %g, image %g, backup LRS %g / GRS %g / ZRS %g; "
          "protected instance %g a month (<= 50 GiB), %g per started 500 GiB\n",
          currency.c_str(), p.snapshot_per_gib_month(), p.image_per_gib_month(),
          p.backup_lrs_per_gib_month(),
          p.backup_grs_per_gib_month(), p.backup_zrs_per_gib_month(), p.small_instance_per_month(),
          p.instance_unit_per_month());
      using A = TextTable::Align;
      TextTable table({{"ITEM"},
                       {"KIND"},
                       {"SIZE NOW", A::kRight},
                       {"QUANTITY", A::kRight},
                       {"UNIT"},
                       {"COST " + currency, A::kRight}});
      // Two decimals for people (a cent is the smallest amount that matters); the exact values
      // are in --json.
      for (const auto& l : r->lines()) {
        table.add_row({l.item(), l.kind(), human_bytes(l.bytes_now()), human_amount(l.quantity()),
                       l.unit(), human_amount(l.cost())});
      }
      table.add_row({"total", "", "", "", "", human_amount(r->total())});
      table.print();
      return 0;
    });
  }

  int list() {
    return with_client([this](BackupClient& b) {
      auto r = b.list_vaults();
      if (!r.is_ok()) return fail(r.status());
      if (json) return print_json(*r);
      std::printf("region %s, backup clock %s (x%g)\n", region.c_str(), r->now().c_str(),
                  r->time_scale());
      for (const auto& v : r->vaults()) {
        if (list_vault.empty() || v.name() == list_vault) print_vault(v);
      }
      for (const auto& v : r->paired_copies()) {
        if (!list_vault.empty() && v.name() != list_vault) continue;
        std::printf("(paired-region copy) ");
        print_vault(v);
      }
      return 0;
    });
  }

  int create_policy() {
    for (const auto& t : split_commas(times)) policy.mutable_spec()->add_backup_times(t);
    auto day = parse_weekday(weekly_on);
    if (!day.is_ok()) return fail(day.status());
    policy.mutable_spec()->set_weekly_on(*day);
    return with_client([this](BackupClient& b) {
      auto r = b.create_policy(policy);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(policy, *r);
      std::printf("policy %s of vault %s: backups at %s\n", policy.policy().c_str(),
                  policy.vault().c_str(), times.c_str());
      return 0;
    });
  }

  int do_restore() {
    restore.set_kind(restore_as == "new-vm"  ? v1::RESTORE_CREATE_VM
                     : restore_as == "disks" ? v1::RESTORE_DISKS
                                             : v1::RESTORE_REPLACE_EXISTING);
    restore.set_cross_region(!restore.source_region().empty());
    return with_client([this](BackupClient& b) {
      auto r = b.restore(restore);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(restore, *r);
      std::string disks;
      for (const auto& d : r->disks()) disks += (disks.empty() ? "" : ", ") + d;
      std::printf(
          "restored point %llu of %s (%s, seq %llu) in %s from the %s: %llu keys, "
          "%s%s%s; disks: %s\n",
          static_cast<unsigned long long>(r->point()), restore.vm().c_str(),
          r->consistency().c_str(), static_cast<unsigned long long>(r->source_seq()),
          r->region().c_str(), r->source().c_str(), static_cast<unsigned long long>(r->keys()),
          human_bytes(r->bytes()).c_str(), r->new_vm().empty() ? "" : "; new VM ",
          r->new_vm().c_str(), disks.c_str());
      return 0;
    });
  }

  int clock() {
    v1::SetBackupClockRequest req;
    req.set_time_scale(time_scale);
    if (!advance.empty()) {
      auto d = parse_duration_nanos("--advance", advance);
      if (!d.is_ok()) return fail(d.status());
      req.set_advance_nanos(*d);
    }
    return with_client([&req, this](BackupClient& b) {
      auto r = b.set_clock(req);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(req, *r);
      std::printf("%s backup clock: %s (x%g)\n", region.c_str(), r->now().c_str(), r->time_scale());
      return 0;
    });
  }

  // Without --yes the region answers what deleting would mean and nothing changes: refused as
  // bad input (exit 2) with that answer.
  int delete_vm() {
    vm_delete.set_confirmed(delete_confirmed);
    return with_client([this](BackupClient& b) {
      auto r = b.delete_vm(vm_delete);
      if (!delete_confirmed) {
        Status why = r.is_ok() ? internal_error("the region deleted VM " + vm_delete.vm() +
                                                " without confirmation")
                               : r.status();
        if (why.code() != StatusCode::kFailedPrecondition) return fail(why);
        // The region's answer is the message; the call's "delete VM at ADDRESS: " is not news.
        return fail(invalid_argument("vm delete: refused without --yes: " +
                                     server_words(why, kDeleteVmCall, b.address())));
      }
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(vm_delete, *r);
      if (!r->restorable()) {
        std::printf("VM %s deleted from %s: gone for good, it had no backup data in any vault (soft "
                    "delete keeps deleted backups, not VMs deleted without one)\n",
                    vm_delete.vm().c_str(), region.c_str());
        return 0;
      }
      std::printf("VM %s deleted from %s; its backups stay: %s\n", vm_delete.vm().c_str(),
                  region.c_str(), r->outcome().c_str());
      std::printf("restore it with: drsim backup restore %s %s --as new-vm --target-vm NAME\n",
                  r->vault().c_str(), vm_delete.vm().c_str());
      return 0;
    });
  }

  int set_vm() {
    if (agent.empty() == power.empty()) {
      return fail(invalid_argument("vm set: give one of --agent or --power"));
    }
    if (!agent.empty()) vm_set.set_agent_installed(agent == "installed");
    if (!power.empty()) vm_set.set_running(power == "running");
    return with_client([this](BackupClient& b) {
      auto r = b.set_vm(vm_set);
      if (!r.is_ok()) return fail(r.status());
      if (json) return done(vm_set, *r);
      std::printf("%s: %s\n", vm_set.vm().c_str(),
                  !agent.empty() ? ("agent " + agent).c_str() : power.c_str());
      return 0;
    });
  }
};

namespace {

// Parses `args` with the verbs; returns the parsed commands (nullptr and the error otherwise).
Result<std::unique_ptr<BackupCommands>> parse_verb(CLI::App& app, std::string& home,
                                                   std::vector<std::string> args) {
  auto cmds = std::make_unique<BackupCommands>(app, home);
  app.require_subcommand(1);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return invalid_argument(std::string(e.what()));
  }
  if (!cmds->parsed()) {
    return invalid_argument("not a vault, backup, vm, snapshot, image or cost verb");
  }
  return cmds;
}

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
  CLI::App app;
  std::string home;
  auto parsed = parse_verb(app, home, args);
  if (!parsed.is_ok())
    return Status(parsed.status().code(), "\"" + command + "\": " + parsed.status().message());
  return args;
}

Status run_backup_verb(const std::string& home, const std::vector<std::string>& args) {
  CLI::App app;
  std::string h = home;
  auto parsed = parse_verb(app, h, args);
  if (!parsed.is_ok()) return parsed.status();
  last_failure() = Status::ok();
  int rc = (*parsed)->run();
  if (rc == 0) return Status::ok();
  return last_failure().is_ok() ? internal_error("exit code " + std::to_string(rc))
                                : last_failure();
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
