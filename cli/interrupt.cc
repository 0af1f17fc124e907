#include "cli/interrupt.h"

#include "cli/child_process.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace drsim::cli {

namespace {

using namespace std::chrono_literals;

std::atomic<int> g_interrupted{0};
std::atomic<int> g_handled_by_caller{0};
// Set once the waiting thread has decided to stop everything: from then on nothing else may
// end the process or free what a clean-up uses; the waiting thread ends it with 128+signal.
std::atomic<bool> g_tearing_down{false};

[[noreturn]] void wait_for_tear_down() {
  while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
}

struct Registry {
  std::mutex mu;
  std::map<pid_t, std::string> owned;
  std::map<int, std::function<void()>> cleanups;
  int next_id = 1;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: the waiting thread may use it at exit
  return *r;
}

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

bool gone(pid_t pid) { return !process_alive(pid); }  // reaps our own children

// Stops every owned process (SIGCONT: a paused one cannot act on SIGTERM; SIGTERM; SIGKILL
// after a grace), then runs the clean-ups, bounded (a stuck one must not keep the CLI alive).
// In that order: a clean-up removes what the processes ran in (their network namespaces).
void tear_down(int sig) {
  std::vector<std::function<void()>> cleanups;
  std::map<pid_t, std::string> owned;
  {
    std::lock_guard lock(registry().mu);
    g_tearing_down = true;  // under the lock: a clean-up copied here is not freed under it
    for (auto& [id, fn] : registry().cleanups) cleanups.push_back(fn);
    owned = registry().owned;
  }
  std::fprintf(stderr, "\ndrsim: interrupted by %s: stopping %zu process(es) this command started\n",
               sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP", owned.size());
  for (const auto& [pid, what] : owned) {
    ::kill(pid, SIGCONT);
    ::kill(pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + 3s;
  for (const auto& [pid, what] : owned) {
    while (!gone(pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    if (!gone(pid)) {
      ::kill(pid, SIGKILL);
      for (int i = 0; i < 100 && !gone(pid); ++i) std::this_thread::sleep_for(10ms);
    }
    std::fprintf(stderr, "drsim: stopped %s (pid %d)\n", what.c_str(), pid);
  }
  if (!cleanups.empty()) {
    auto done = std::async(std::launch::async, [&cleanups] {
      for (auto& fn : cleanups) fn();
    });
    if (done.wait_for(5s) != std::future_status::ready) {
      std::fprintf(stderr, "drsim: clean-up did not finish within 5 s; exiting anyway\n");
      // Leak the future's thread: the process exits below.
      new std::future<void>(std::move(done));
    }
  }
  std::fflush(stderr);
  std::fflush(stdout);
}

}  // namespace

void install_interrupt_handling() {
  static std::once_flag once;
  std::call_once(once, [] {
    sigset_t set = interrupt_signals();
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A command that finishes (e.g. fails because its daemons were just stopped) while the
    // waiting thread stops everything must not exit first with its own code: registered first,
    // this runs last at exit and waits for the waiting thread's _Exit(128+signal).
    std::atexit([] {
      if (g_tearing_down) wait_for_tear_down();
    });
    std::thread([set] {
      int sig = 0;
      while (true) {
        if (::sigwait(&set, &sig) != 0) continue;
        bool first = g_interrupted.exchange(sig) == 0;
        if (first && g_handled_by_caller.load() > 0) continue;  // the command stops by itself
        break;
      }
      tear_down(sig);
      std::_Exit(128 + sig);
    }).detach();
  });
}

int interrupted_by() { return g_interrupted.load(); }

void own_process(pid_t pid, const std::string& what) {
  std::lock_guard lock(registry().mu);
  if (g_tearing_down) {
    // Started after the waiting thread took its list of processes to stop: stop it here.
    ::kill(pid, SIGKILL);
    return;
  }
  registry().owned[pid] = what;
}

void release_process(pid_t pid) {
  std::lock_guard lock(registry().mu);
  registry().owned.erase(pid);
}

void release_all_processes() {
  std::lock_guard lock(registry().mu);
  registry().owned.clear();
}

InterruptHandledByCaller::InterruptHandledByCaller() { ++g_handled_by_caller; }
InterruptHandledByCaller::~InterruptHandledByCaller() { --g_handled_by_caller; }

InterruptCleanup::InterruptCleanup(std::function<void()> fn) {
  std::lock_guard lock(registry().mu);
  id_ = registry().next_id++;
  registry().cleanups[id_] = std::move(fn);
}

InterruptCleanup::~InterruptCleanup() {
  {
    std::lock_guard lock(registry().mu);
    if (!g_tearing_down) {
      registry().cleanups.erase(id_);
      return;
    }
  }
  wait_for_tear_down();  // the clean-up may be running on what the caller is about to free
}

}  // namespace drsim::cli
