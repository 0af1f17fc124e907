#include "common/region/plan_script.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/core/check.h"

namespace drsim::region {

namespace fs = std::filesystem;

namespace {

constexpr char kRunningDir[] = "running";

std::string record_path(const std::string& runs_dir, pid_t pid) {
  return runs_dir + "/" + kRunningDir + "/" + std::to_string(pid);
}

// posix_spawn's file actions and attributes, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&files);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

// The shell the child starts as: one line on stdin (the gate) and it becomes the script's shell
// with stdin /dev/null; end of file instead (the gate closed unreleased) and it exits 125. exec
// keeps the PID, so the session recorded is the script's.
constexpr char kGateShell[] =
    "IFS= read -r _ || exit 125; exec /bin/sh -c \"$1\" sh </dev/null";

Result<HeldScript> HeldScript::spawn(const ScriptSpec& spec) {
  std::vector<std::string> env = {std::string("PATH=") + kScriptPath};
  for (const auto& [name, value] : spec.drsim_env) {
    DRSIM_CHECK(name.rfind("DRSIM_", 0) == 0);
    env.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", gate_shell = kGateShell, name = "drsim-plan-script",
              text = spec.text;
  char* argv[] = {sh.data(), dash_c.data(), gate_shell.data(), name.data(), text.data(), nullptr};

  // A socket rather than a pipe: send() with MSG_NOSIGNAL cannot raise SIGPIPE in a process that
  // did not ignore it (a test) when the shell is already gone.
  int gate[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) != 0) {
    return unavailable(std::string("cannot start /bin/sh: socketpair: ") + std::strerror(errno));
  }
  SpawnSetup s;
  // In order, in the child: stdin the gate, stdout+stderr into the log (opened before the chdir,
  // as the paths may be relative), the cwd, then every other descriptor closed — the daemon's
  // listening sockets, RocksDB files and gRPC pipes stay the daemon's even where they lack
  // O_CLOEXEC.
  posix_spawn_file_actions_adddup2(&s.files, gate[1], 0);
  posix_spawn_file_actions_addopen(&s.files, 1, spec.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0640);
  posix_spawn_file_actions_adddup2(&s.files, 1, 2);
  posix_spawn_file_actions_addchdir_np(&s.files, spec.runs_dir.c_str());
  posix_spawn_file_actions_addclosefrom_np(&s.files, 3);
  // A session of its own (no controlling terminal, its own process group to kill as a whole),
  // every signal at its default and none blocked: the daemon's SIG_IGN of SIGPIPE is not the
  // script's.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setflags(&s.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, sh.c_str(), &s.files, &s.attr, argv, envp.data());
  ::close(gate[1]);
  if (rc != 0) {
    ::close(gate[0]);
    return unavailable(std::string("cannot start /bin/sh: ") + std::strerror(rc));
  }
  runtime::ProcessIdentity id{pid, 0};
  if (auto ticks = runtime::process_start_ticks(pid); ticks.is_ok()) id.start_ticks = *ticks;
  return HeldScript(id, gate[0]);
}

HeldScript::HeldScript(HeldScript&& other) noexcept
    : id_(other.id_), gate_(std::exchange(other.gate_, -1)) {}

HeldScript::~HeldScript() {
  if (gate_ < 0) return;
  ::close(gate_);  // the shell reads end of file and exits without running the script
  int st = 0;
  ::waitpid(id_.pid, &st, 0);
}

PlanScript HeldScript::release(std::string record) && {
  // A shell that died already (a failed exec) makes this fail: poll() then reports its exit.
  (void)::send(gate_, "\n", 1, MSG_NOSIGNAL);
  ::close(std::exchange(gate_, -1));
  return PlanScript(id_, std::move(record));
}

Result<PlanScript> PlanScript::start(const ScriptSpec& spec) {
  std::error_code ec;
  fs::create_directories(spec.runs_dir + "/" + kRunningDir, ec);
  if (ec) return unavailable("plan-runs directory " + spec.runs_dir + ": " + ec.message());
  auto held = HeldScript::spawn(spec);
  if (!held.is_ok()) return held.status();
  const runtime::ProcessIdentity& id = held->identity();
  const std::string record = record_path(spec.runs_dir, id.pid);
  {
    std::ofstream out(record, std::ios::trunc);
    out << id.pid << " " << id.start_ticks << "\n";
    out.flush();
    if (!out) {
      // `held` goes out of scope unreleased: its shell exits without running the script.
      fs::remove(record, ec);
      return unavailable("cannot record the plan script's session in " + record + ": " +
                         std::strerror(errno));
    }
  }
  return std::move(*held).release(record);
}

std::optional<PlanScript::Exit> PlanScript::poll() {
  siginfo_t info{};
  // WNOWAIT: the exited shell stays a zombie, so its PID (the session's id) cannot be reused
  // before the rest of the session is killed.
  if (::waitid(P_PID, id_.pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    Exit lost{0, errno};
    std::error_code ec;
    fs::remove(record_, ec);
    return lost;
  }
  if (info.si_pid == 0) return std::nullopt;
  ::kill(-id_.pid, SIGKILL);
  Exit done;
  if (::waitpid(id_.pid, &done.wait_status, 0) < 0) done.lost_errno = errno;
  std::error_code ec;
  fs::remove(record_, ec);
  return done;
}

void PlanScript::kill_session() { ::kill(-id_.pid, SIGKILL); }

void PlanScript::kill_and_wait() {
  kill_session();
  int st = 0;
  ::waitpid(id_.pid, &st, 0);
  std::error_code ec;
  fs::remove(record_, ec);
}

std::vector<std::string> kill_leftover_scripts(const std::string& runs_dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(runs_dir + "/" + kRunningDir, ec)) {
    std::ifstream in(e.path());
    runtime::ProcessIdentity id;
    long long pid = 0;
    if (in >> pid >> id.start_ticks && pid > 1) {
      id.pid = static_cast<pid_t>(pid);
      Status same = runtime::check_identity(id, "plan script");
      // Gone: its session may still hold background children (the PID stays reserved while
      // they live, so the group is theirs). Reused by another process: left alone.
      if (same.is_ok() || same.code() == StatusCode::kNotFound) {
        if (::kill(-id.pid, SIGKILL) == 0) {
          lines.push_back("killed plan script session " + std::to_string(id.pid) +
                          " left running by an earlier run of this daemon");
        }
      } else {
        lines.push_back(same.message());
      }
    }
    fs::remove(e.path(), ec);
  }
  return lines;
}

}  // namespace drsim::region
