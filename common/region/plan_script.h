// A recovery plan's script as a process of the region daemon: `/bin/sh -c TEXT` started with
// nothing of the daemon's but what it is given — an allow-listed environment (a fixed PATH and the
// DRSIM_* variables of its place in the plan), the plan-runs directory as cwd, stdin /dev/null,
// stdout/stderr into its log, no other descriptor, in a session of its own. Each running script's
// session is recorded in <runs dir>/running/, so a daemon that was killed kills what its last run
// left behind when it starts again (kill_leftover_scripts). The script's first instruction runs
// only once that record is written (HeldScript): a daemon killed between the spawn and the record
// leaves a shell that exits without running it, not a script nobody knows to kill. Used by
// RecoveryPlanDriver.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/runtime/process_identity.h"

namespace drsim::region {

// What a script gets besides DRSIM_*: PATH, nothing more.
inline constexpr char kScriptPath[] = "/usr/local/bin:/usr/bin:/bin";

struct ScriptSpec {
  std::string text;                              // for /bin/sh -c
  std::string runs_dir;                          // cwd; holds running/
  std::string log;                               // stdout and stderr
  std::map<std::string, std::string> drsim_env;  // names must start with DRSIM_
};

class PlanScript;

// A spawned script's shell held before its first instruction: it waits for a line on its stdin (a
// socket whose other end this holds), then becomes `/bin/sh -c TEXT` with stdin /dev/null. Closed
// without release() — this destroyed, or the daemon dying — the shell exits 125 (kHeldExit)
// without running TEXT.
class HeldScript {
 public:
  static constexpr int kHeldExit = 125;
  // Spawns it; UNAVAILABLE naming what failed (the socket, the spawn).
  static Result<HeldScript> spawn(const ScriptSpec& spec);
  HeldScript(HeldScript&& other) noexcept;
  HeldScript& operator=(HeldScript&&) = delete;
  HeldScript(const HeldScript&) = delete;
  // Not released: closes the gate and reaps the shell (it exits at once).
  ~HeldScript();

  const runtime::ProcessIdentity& identity() const { return id_; }
  // Lets it run; `record` is the file poll() and kill_and_wait() remove once it is gone.
  PlanScript release(std::string record) &&;

 private:
  HeldScript(runtime::ProcessIdentity id, int gate) : id_(id), gate_(gate) {}
  runtime::ProcessIdentity id_;
  int gate_ = -1;  // our end of the shell's stdin; -1 once released or moved from
};

class PlanScript {
 public:
  // Spawns it held, records its session under <runs dir>/running/, then releases it; UNAVAILABLE
  // naming what failed (spawn, the record: then the held shell exits without running TEXT).
  static Result<PlanScript> start(const ScriptSpec& spec);

  struct Exit {
    int wait_status = 0;  // as waitpid reports it
    int lost_errno = 0;   // non-zero: the process could not be waited for
  };

  pid_t pid() const { return id_.pid; }
  // Non-blocking: nullopt while the script's shell runs; once it has exited, what is left of its
  // session (background children) is killed, the shell reaped and its record removed.
  std::optional<Exit> poll();
  // SIGKILL to the whole session (a timeout, or the daemon stopping); poll() then reaps it.
  void kill_session();
  // Blocking kill and reap (the daemon stopping).
  void kill_and_wait();

 private:
  friend class HeldScript;
  PlanScript(runtime::ProcessIdentity id, std::string record)
      : id_(id), record_(std::move(record)) {}
  runtime::ProcessIdentity id_;
  std::string record_;  // <runs dir>/running/<pid>
};

// At start-up: SIGKILLs the sessions recorded in <runs_dir>/running/ (a script whose daemon died
// while it ran) when the recorded process is still that script — a PID since reused by another
// process is left alone — and removes the records. Returns one line per session it killed.
std::vector<std::string> kill_leftover_scripts(const std::string& runs_dir);

}  // namespace drsim::region
