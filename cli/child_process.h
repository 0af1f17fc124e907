// Starting and stopping drsim's daemons as real child processes, by PID.
// Used by `drsim up/down/inject` and by the integration tests' fixtures.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/runtime/process_identity.h"

namespace drsim::cli {

// Starts argv[0] with the given arguments, stdout and stderr appended to
// log_path, in its own process group (so a Ctrl-C on the CLI does not hit it). The process is
// owned by this CLI invocation (stopped if it is interrupted, cli/interrupt.h) until
// stop_process or release_process.
Result<pid_t> spawn_process(const std::vector<std::string>& argv, const std::string& log_path);
// The same without handing it to the interrupt handling: for short commands the caller waits for
// (`ip`, `nft`, `tc`: cli/netns.cc), which also run from an interrupt's clean-up. They start
// with SIGINT, SIGTERM and SIGHUP blocked: a Ctrl-C to the terminal's process group that lands
// while one is being spawned must not cut it short (the caller bounds how long it waits).
Result<pid_t> spawn_unowned(const std::vector<std::string>& argv, const std::string& log_path);

// True while the process exists and is not a zombie.
bool process_alive(pid_t pid);

// SIGTERM, wait up to `grace`, then SIGKILL; reaps it when it is our child.
void stop_process(pid_t pid, std::chrono::milliseconds grace);

// Processes recorded in topology.json are signalled only while their PID still belongs to them
// (same start time): after a reboot or a long time the PID may be another program's.
// True while the recorded process runs.
bool recorded_alive(const runtime::ProcessIdentity& id);
// Sends a signal; FAILED_PRECONDITION naming the pid and why when it is not running or now
// belongs to another process (then nothing is signalled).
Status signal_process(const runtime::ProcessIdentity& id, int sig, const std::string& what);
// stop_process on the recorded process. OK when it is stopped or was not running; a PID that now
// belongs to another process is not signalled: FAILED_PRECONDITION saying so.
Status stop_recorded(const runtime::ProcessIdentity& id, std::chrono::milliseconds grace,
                     const std::string& what);

// Reaps a child that exited (non-blocking); no-op for non-children.
void reap(pid_t pid);

// Directory holding the drsim executables: $DRSIM_BIN_DIR, else the directory
// of the running executable.
std::string bin_dir();

// Reads {"pid":…, "address":"…"} written by a daemon's --ready-file, waiting
// up to `timeout`; fails early (with the log's last lines) if the process dies.
struct ReadyInfo {
  pid_t pid = 0;
  std::string address;
  // The other "*_address" fields of the ready file: "dns_address", "dashboard_address",
  // "http_address".
  std::map<std::string, std::string> more_addresses;
};
Result<ReadyInfo> wait_ready(const std::string& ready_file, pid_t pid, const std::string& log_path,
                             std::chrono::milliseconds timeout);

std::string tail_file(const std::string& path, size_t lines);

}  // namespace drsim::cli
