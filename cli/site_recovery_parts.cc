// Site Recovery verbs, the shared part: flag values parsed (source kinds, disks, durations,
// sizes, recovery point choices), the protect request built, and the lookups and formatting the
// verbs in site_recovery.cc share.
#include "cli/site_recovery.h"

#include <ctime>

#include <fmt/format.h>

#include "cli/rpc_clients.h"

namespace drsim::cli {

using namespace drsim::v1;
using namespace std::chrono_literals;

namespace {

Result<SourceKind> parse_source(const std::string& s) {
  static const std::pair<const char*, SourceKind> kinds[] = {
      {"azure-vm", SOURCE_KIND_AZURE_VM},
      {"vmware-vm", SOURCE_KIND_VMWARE_VM},
      {"hyperv-vm", SOURCE_KIND_HYPERV_VM},
      {"physical-windows", SOURCE_KIND_PHYSICAL_WINDOWS},
      {"physical-linux", SOURCE_KIND_PHYSICAL_LINUX},
      {"azure-stack-vm", SOURCE_KIND_AZURE_STACK_VM},
      {"aws-windows", SOURCE_KIND_AWS_WINDOWS}};
  for (const auto& [name, kind] : kinds) {
    if (s == name) return kind;
  }
  return invalid_argument("--source: '" + s +
                          "' is not one of azure-vm, vmware-vm, hyperv-vm, physical-windows, "
                          "physical-linux, azure-stack-vm, aws-windows");
}

Result<DiskSpec> parse_disk(const std::string& flag, const std::string& text) {
  auto c1 = text.find(':');
  auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos) {
    return invalid_argument(flag + ": '" + text + "' must be NAME:CAPACITY:USED, e.g. os:128G:30G");
  }
  DiskSpec d;
  d.set_name(text.substr(0, c1));
  auto cap = parse_size_text(flag, text.substr(c1 + 1, c2 - c1 - 1));
  if (!cap.is_ok()) return cap.status();
  auto used = parse_size_text(flag, text.substr(c2 + 1));
  if (!used.is_ok()) return used.status();
  d.set_capacity_bytes(*cap);
  d.set_used_bytes(*used);
  return d;
}

}  // namespace

Result<std::string> vault_region(const TopologyState& state) {
  std::string vault = find_vault(state);
  if (vault.empty()) {
    return failed_precondition(
        "no region holds a protected item; protect one first (`drsim "
        "protect --item NAME`)");
  }
  return vault;
}

Result<ProtectItemRequest> build_protect_request(const ProtectOptions& o) {
  ProtectItemRequest req;
  if (o.item.empty()) return invalid_argument("--item: name the workload to protect");
  req.set_item(o.item);
  auto source = parse_source(o.source);
  if (!source.is_ok()) return source.status();
  req.set_source(*source);
  req.set_hyperv_managed_by_vmm(o.hyperv_vmm);
  if (o.target_kind == "secondary-site") {
    req.set_target_kind(TARGET_KIND_SECONDARY_SITE);
  } else if (o.target_kind == "azure-region") {
    req.set_target_kind(TARGET_KIND_AZURE_REGION);
  } else {
    return invalid_argument("--target-kind: '" + o.target_kind +
                            "' is not azure-region or secondary-site");
  }
  if (!o.os_disk.empty()) {
    auto d = parse_disk("--os-disk", o.os_disk);
    if (!d.is_ok()) return d.status();
    *req.mutable_os_disk() = *d;
  }
  for (const auto& text : o.data_disks) {
    auto d = parse_disk("--data-disk", text);
    if (!d.is_ok()) return d.status();
    *req.add_data_disks() = *d;
  }
  req.set_vm_agent_missing(o.no_vm_agent);
  auto ms = [](Duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  auto* policy = req.mutable_policy();
  if (!o.retention.empty()) {
    auto d = parse_duration_text("--retention", o.retention);
    if (!d.is_ok()) return d.status();
    if (ms(*d) == 0) return invalid_argument("--retention: must be positive (up to 15d)");
    policy->set_retention_ms(ms(*d));
  }
  if (!o.app_consistent.empty() && o.app_consistent != "off") {
    auto d = parse_duration_text("--app-consistent", o.app_consistent);
    if (!d.is_ok()) return d.status();
    if (ms(*d) == 0) return invalid_argument("--app-consistent: use off, or 1h or more");
    policy->set_app_consistent_interval_ms(ms(*d));
  }
  if (!o.rpo_threshold.empty()) {
    auto d = parse_duration_text("--rpo-threshold", o.rpo_threshold);
    if (!d.is_ok()) return d.status();
    if (ms(*d) == 0) return invalid_argument("--rpo-threshold: must be 5m or more");
    policy->set_rpo_threshold_ms(ms(*d));
  }
  return req;
}

std::string find_vault(const TopologyState& state) {
  for (const char* name : {"secondary", "primary"}) {
    auto items = sr_items(state.at(name).address);
    if (items.is_ok() && items->items_size() > 0) return name;
  }
  return "";
}

std::string point_seqs_text(const std::string& item, const ReplicationPointInfo& p) {
  if (auto seq = p.seqs().find(item); seq != p.seqs().end()) return std::to_string(seq->second);
  std::string out;
  std::map<std::string, uint64_t> sorted(p.seqs().begin(), p.seqs().end());
  for (const auto& [w, v] : sorted) out += (out.empty() ? "" : " ") + w + "=" + std::to_string(v);
  return out;
}

std::string format_wall(int64_t unix_nanos) {
  std::time_t secs = static_cast<std::time_t>(unix_nanos / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}.{:03d}", buf, static_cast<int>((unix_nanos / 1'000'000) % 1000));
}

Result<PointChoice> parse_point_choice(const std::string& text, uint64_t point_id) {
  PointChoice c;
  if (text == "latest")
    c = POINT_CHOICE_LATEST;
  else if (text == "latest-processed")
    c = POINT_CHOICE_LATEST_PROCESSED;
  else if (text == "latest-app-consistent")
    c = POINT_CHOICE_LATEST_APP_CONSISTENT;
  else if (text == "custom")
    c = POINT_CHOICE_CUSTOM;
  else if (text == "latest-multi-vm-processed")
    c = POINT_CHOICE_LATEST_MULTI_VM_PROCESSED;
  else if (text == "latest-multi-vm-app-consistent")
    c = POINT_CHOICE_LATEST_MULTI_VM_APP_CONSISTENT;
  else {
    return invalid_argument("--point: '" + text +
                            "' is not one of latest, latest-processed, latest-app-consistent, "
                            "custom, latest-multi-vm-processed, latest-multi-vm-app-consistent");
  }
  if (c == POINT_CHOICE_CUSTOM && point_id == 0) {
    return invalid_argument("--point-id: --point custom needs the id of a point (`drsim points`)");
  }
  if (c != POINT_CHOICE_CUSTOM && point_id != 0) {
    return invalid_argument("--point-id: only --point custom takes a point id");
  }
  return c;
}

}  // namespace drsim::cli
