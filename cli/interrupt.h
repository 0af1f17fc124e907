// What the CLI does when it is interrupted (Ctrl-C, a CI `timeout`, a closed terminal): every
// daemon this invocation started and still owns is resumed (a paused one cannot stop) and
// stopped, registered clean-ups run (a drill's history is written), and the CLI exits 128+signal.
// One thread waits for SIGINT, SIGTERM and SIGHUP (blocked in every other thread), so this works
// at any moment — in the middle of `drsim up`, of a drill step or of a load.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace drsim::cli {

// Call first thing in main, before any thread exists (gRPC starts its own): blocks the signals
// in this thread (every thread started later inherits it) and starts the waiting thread.
void install_interrupt_handling();

// The signal that interrupted this process, 0 while none did. Loops that run for long may
// poll it to stop early; the waiting thread ends the process anyway.
int interrupted_by();

// Processes this invocation owns: stopped on an interrupt. `drsim up` hands its daemons over
// to the topology (release) once they are up; a drill keeps them until it brings them down.
void own_process(pid_t pid, const std::string& what);
void release_process(pid_t pid);
void release_all_processes();

// While one exists, the first signal only records itself (interrupted_by()) and the command
// stops by itself, e.g. `drsim load` finishing its history file; a second signal stops
// everything at once as usual.
class InterruptHandledByCaller {
 public:
  InterruptHandledByCaller();
  ~InterruptHandledByCaller();
  InterruptHandledByCaller(const InterruptHandledByCaller&) = delete;
  InterruptHandledByCaller& operator=(const InterruptHandledByCaller&) = delete;
};

// A clean-up run on an interrupt, before the processes are stopped (e.g. write the history
// recorded so far). Must be safe to call from another thread. Removed when the guard goes.
class InterruptCleanup {
 public:
  explicit InterruptCleanup(std::function<void()> fn);
  ~InterruptCleanup();
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;

 private:
  int id_;
};

}  // namespace drsim::cli
