#include "common/region/plan_script.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

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

Result<PlanScript> PlanScript::start(const ScriptSpec& spec) {
  std::error_code ec;
  fs::create_directories(spec.runs_dir + "/" + kRunningDir, ec);
  if (ec) return unavailable("plan-runs directory " + spec.runs_dir + ": " + ec.message());
  std::vector<std::string> env = {std::string("PATH=") + kScriptPath};
  for (const auto& [name, value] : spec.drsim_env) {
    DRSIM_CHECK(name.rfind("DRSIM_", 0) == 0);
    env.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", text = spec.text;
  char* argv[] = {sh.data(), dash_c.data(), text.data(), nullptr};

  SpawnSetup s;
  // In order, in the child: stdin, stdout+stderr into the log (opened before the chdir, as the
  // paths may be relative), the cwd, then every other descriptor closed — the daemon's listening
  // sockets, RocksDB files and gRPC pipes stay the daemon's even where they lack O_CLOEXEC.
  posix_spawn_file_actions_addopen(&s.files, 0, "/dev/null", O_RDONLY, 0);
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
  if (rc != 0) return unavailable(std::string("cannot start /bin/sh: ") + std::strerror(rc));
  runtime::ProcessIdentity id{pid, 0};
  if (auto ticks = runtime::process_start_ticks(pid); ticks.is_ok()) id.start_ticks = *ticks;
  const std::string record = record_path(spec.runs_dir, pid);
  {
    std::ofstream out(record, std::ios::trunc);
    out << pid << " " << id.start_ticks << "\n";
  }
  return PlanScript(id, record);
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
