// The Backup verbs whose work is more than one call: listing vaults and images, the cost report,
// policies, restores, the backup clock, deleting and setting VMs (cli/backup_commands_impl.h).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/backup_commands_impl.h"
#include "cli/price_file.h"
#include "cli/rpc_clients.h"
#include "cli/text_table.h"
#include "cli/units.h"
#include "common/region/price_list_proto.h"

namespace drsim::cli {

namespace {

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

int BackupCommands::Impl::print_json(const google::protobuf::Message& m) {
  print_json_document(m);
  return 0;
}

void BackupCommands::Impl::print_image(const v1::ImageInfo& i) {
  std::printf("image %s of %s in %s, %s: %d disk(s), billed %s\n", i.name().c_str(),
              i.source_vm().c_str(), i.region().c_str(), i.created().c_str(), i.disks_size(),
              human_bytes(i.billed_bytes()).c_str());
  for (const auto& d : i.disks()) {
    std::printf("  %-4s disk %-22s %6llu keys %10s of %s used\n", d.kind().c_str(),
                d.disk().c_str(), static_cast<unsigned long long>(d.keys()),
                human_bytes(d.used_bytes()).c_str(), human_bytes(d.size_bytes()).c_str());
  }
}

int BackupCommands::Impl::cost() {
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

int BackupCommands::Impl::list() {
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

int BackupCommands::Impl::create_policy() {
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

int BackupCommands::Impl::do_restore() {
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

int BackupCommands::Impl::clock() {
  v1::SetBackupClockRequest req;
  req.set_time_scale(time_scale);
  if (!advance.empty()) {
    auto d = parse_duration_text("--advance", advance);
    if (!d.is_ok()) return fail(d.status());
    req.set_advance_nanos(d->count());
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
int BackupCommands::Impl::delete_vm() {
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
                                   server_words(why, kBackupDeleteVmCall, b.address())));
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

int BackupCommands::Impl::set_vm() {
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

}  // namespace drsim::cli
