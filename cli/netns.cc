#include "cli/netns.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/child_process.h"
#include "cli/interrupt.h"

namespace drsim::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct ToolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

std::string tool_path(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::string joined(const model::Command& c) {
  std::string out;
  for (const auto& a : c) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Runs the command (argv, no shell) and waits for it, at most 20 s. Not an owned process
// (cli/interrupt.h): it also runs from the interrupt's clean-up, and ends by itself.
Result<ToolResult> run_tool(const model::Command& cmd, const std::string& log_path) {
  std::string path = tool_path(cmd.at(0));
  if (path.empty()) {
    return invalid_argument("placement: netns needs the `" + cmd[0] +
                            "` tool (scripts/install-deps.sh installs iproute2, nftables)");
  }
  // The command line, then its output, go to the log; the output is read back from there (no
  // temporary file to leak when an interrupt ends the CLI in the middle).
  {
    std::ofstream log(log_path, std::ios::app);
    log << "$ " << joined(cmd) << "\n";
    if (!log.flush()) return unavailable("cannot write " + log_path);
  }
  std::error_code ec;
  const auto output_at = fs::file_size(log_path, ec);
  std::vector<std::string> argv = cmd;
  argv[0] = path;
  auto spawned = spawn_unowned(argv, log_path);
  if (!spawned.is_ok()) return spawned.status();
  const pid_t pid = *spawned;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Status(StatusCode::kDeadlineExceeded, joined(cmd) + ": no answer within 20 s");
    }
    std::this_thread::sleep_for(2ms);
  }
  ToolResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  {
    std::ifstream in(log_path);
    in.seekg(static_cast<std::streamoff>(ec ? 0 : output_at));
    std::stringstream ss;
    ss << in.rdbuf();
    r.output = ss.str();
  }
  std::ofstream(log_path, std::ios::app) << "# exit " << r.exit_code << "\n";
  return r;
}

// Runs the command; UNAVAILABLE naming it and its output when it fails.
Status run_checked(const model::Command& cmd, const std::string& log_path) {
  auto r = run_tool(cmd, log_path);
  if (!r.is_ok()) return r.status();
  if (r->exit_code != 0) {
    std::string out = r->output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return unavailable("`" + joined(cmd) + "` failed (exit " + std::to_string(r->exit_code) +
                       "): " + out);
  }
  return Status::ok();
}

bool exists_netns(const std::string& name) { return fs::exists("/run/netns/" + name); }
bool exists_link(const std::string& name) { return fs::exists("/sys/class/net/" + name); }

}  // namespace

std::string netns_ip_path() { return tool_path("ip"); }

Status check_netns_privileges(const std::string& field) {
  if (::geteuid() != 0) {
    return invalid_argument(field +
                            ": netns needs root (CAP_NET_ADMIN, to create network "
                            "namespaces, veth pairs and a bridge); this user is uid " +
                            std::to_string(::geteuid()) +
                            ": run as root, or use placement: loopback");
  }
  if (tool_path("ip").empty()) {
    return invalid_argument(field +
                            ": netns needs the `ip` tool (iproute2); "
                            "scripts/install-deps.sh installs it");
  }
  return Status::ok();
}

Result<std::vector<std::string>> host_routes(const std::string& log_path) {
  auto r = run_tool({"ip", "-4", "-o", "route", "show", "table", "all"}, log_path);
  if (!r.is_ok()) return r.status();
  if (r->exit_code != 0) return unavailable("cannot list the host's routes: " + r->output);
  std::vector<std::string> lines;
  std::istringstream in(r->output);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Status create_netns(const model::NetnsLayout& layout, const std::string& log_path) {
  for (const auto& cmd : model::netns_setup_commands(layout)) {
    if (Status s = run_checked(cmd, log_path); !s.is_ok()) {
      remove_netns(layout, log_path);
      return Status(s.code(), "placement: netns: " + s.message() + " (removed what was made)");
    }
  }
  return Status::ok();
}

std::vector<std::string> netns_leftovers(const model::NetnsLayout& layout) {
  std::vector<std::string> left;
  for (const auto& m : layout.members) {
    if (exists_netns(m.netns)) left.push_back("namespace " + m.netns);
    if (exists_link(m.host_veth)) left.push_back("veth " + m.host_veth);
  }
  if (exists_link(layout.bridge)) left.push_back("bridge " + layout.bridge);
  return left;
}

std::vector<std::string> remove_netns(const model::NetnsLayout& layout,
                                      const std::string& log_path) {
  for (const auto& cmd : model::netns_teardown_commands(layout)) {
    // Only what exists: after a failed `up` some names were never made.
    const std::string& name = cmd.at(3);
    bool present = cmd.at(1) == "netns" ? exists_netns(name) : exists_link(name);
    if (present) (void)run_tool(cmd, log_path);
  }
  return netns_leftovers(layout);
}

namespace {
std::mutex g_owned_mu;
std::map<std::string, std::unique_ptr<InterruptCleanup>>& owned_layouts() {
  static auto* m = new std::map<std::string, std::unique_ptr<InterruptCleanup>>;
  return *m;
}
}  // namespace

void own_netns(const model::NetnsLayout& layout, const std::string& log_path) {
  std::lock_guard lock(g_owned_mu);
  owned_layouts()[layout.tag] = std::make_unique<InterruptCleanup>([layout, log_path] {
    auto left = remove_netns(layout, log_path);
    std::fprintf(stderr, "drsim: removed the namespaces, veths and bridge of %s%s\n",
                 layout.bridge.c_str(), left.empty() ? "" : " (some are left: see the log)");
  });
}

void release_netns(const model::NetnsLayout& layout) {
  std::lock_guard lock(g_owned_mu);
  owned_layouts().erase(layout.tag);
}

Status check_netem(const std::string& netns, const std::string& where,
                   const std::string& log_path) {
  auto r = run_tool(model::netem_probe_command(netns), log_path);
  if (!r.is_ok()) return r.status();
  if (r->exit_code != 0) return model::netem_unavailable(where);
  (void)run_tool({"ip", "netns", "exec", netns, "tc", "qdisc", "del", "dev", "lo", "root"},
                 log_path);
  return Status::ok();
}

Status apply_kernel_faults(NetnsState& state, const std::vector<model::KernelLink>& links,
                           const std::string& rules_dir, const std::string& log_path) {
  const model::NetnsMember* proxy = state.layout.find("faultproxy");
  if (!proxy) return internal_error("netns layout without a faultproxy namespace");
  // nftables: one table in the fault proxy's namespace, replaced as a whole.
  std::string rules = model::nft_ruleset(links);
  const std::string nft_file = rules_dir + "/nftables-" + proxy->netns + ".rules";
  if (!rules.empty()) {
    std::error_code ec;
    fs::create_directories(rules_dir, ec);
    {
      std::ofstream out(nft_file, std::ios::trunc);
      out << rules;
      if (!out.flush()) return unavailable("cannot write " + nft_file);
    }
    model::Command cmd = model::netns_exec(proxy->netns);
    cmd.insert(cmd.end(), {"nft", "-f", nft_file});
    if (Status s = run_checked(cmd, log_path); !s.is_ok()) return s;
  } else {
    auto listed =
        run_tool({"ip", "netns", "exec", proxy->netns, "nft", "list", "tables"}, log_path);
    if (listed.is_ok() &&
        listed->output.find(std::string("inet ") + model::kNftTable) != std::string::npos) {
      if (Status s = run_checked({"ip", "netns", "exec", proxy->netns, "nft", "delete", "table",
                                  "inet", model::kNftTable},
                                 log_path);
          !s.is_ok()) {
        return s;
      }
    }
    fs::remove(nft_file);
  }
  // tc: each namespace whose shaping changes is rebuilt.
  for (const auto& m : state.layout.members) {
    bool had = state.tc_roots.count(m.netns) > 0;
    if (!had && !model::shapes_in(m.netns, links)) continue;
    for (const auto& cmd : model::tc_commands(m.netns, links, had)) {
      if (Status s = run_checked(cmd, log_path); !s.is_ok()) return s;
      if (cmd.size() > 6 && cmd[5] == "qdisc" && cmd[6] == "del") state.tc_roots.erase(m.netns);
      if (cmd.size() > 9 && cmd[5] == "qdisc" && cmd[6] == "add" && cmd[9] == "root") {
        state.tc_roots.insert(m.netns);
      }
    }
  }
  return Status::ok();
}

}  // namespace drsim::cli
