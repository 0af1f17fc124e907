// History files: the JSON-lines record of one client run (`drsim load`, a drill), written as the
// run goes so that a stopped or interrupted run keeps every completed operation, and read back —
// one file or every run of a home together — for `drsim check` and the drill report.
//
// A file is: {"run_started": {"run": ID, "pid": N, "started_unix_nanos": T}}, then one line per
// completed operation (each naming its run), then {"run_ended": {...}} when the run finished
// (normally or on SIGINT/SIGTERM). A file without the last line was being written, or its
// writer died.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/model/drill/history.h"

namespace drsim::cli {

// A run id unique on this machine: "<UTC yyyymmdd-hhmmss>-<pid>".
std::string new_run_id();

// Appends a run's operations to its file, flushing at least every kFlushInterval.
class HistoryWriter {
 public:
  static constexpr std::chrono::milliseconds kFlushInterval{200};

  // Creates (truncates) the file and writes the run's first line.
  static Result<std::unique_ptr<HistoryWriter>> open(const std::string& path,
                                                     const std::string& run);
  // Thread-safe.
  void append(const model::OpRecord& op);
  void flush();
  // Writes the last line ({"run_ended": {"operations": N, "reason": why}}) and flushes.
  Status finish(const std::string& reason);

  const std::string& path() const { return path_; }
  const std::string& run() const { return run_; }

 private:
  HistoryWriter(std::string path, std::string run);
  void flush_locked();

  std::string path_;
  std::string run_;
  std::mutex mu_;
  bool finished_ = false;  // the end line is written: nothing more is
  std::ofstream out_;
  uint64_t written_ = 0;
  std::chrono::steady_clock::time_point last_flush_;
};

// Writes a whole run at once (a drill's history): first line, operations, last line.
Status write_history(const std::string& path, const std::string& run,
                     const std::vector<model::OpRecord>& ops);

struct HistoryFile {
  std::string path;
  std::string run;     // from the first line; the file name for files without one
  int64_t pid = 0;     // the writer's process id (0: unknown)
  bool ended = false;  // the last line is there (files without a first line count as ended)
  std::vector<model::OpRecord> ops;
};
Result<HistoryFile> read_history_file(const std::string& path);

// Where `drsim load` writes by default: <home>/history/load-<run>.jsonl.
std::string default_history_path(const std::string& home, const std::string& run);

// Every run recorded in a home (<home>/history/*.jsonl and a drill's <home>/history.jsonl),
// merged for one check. FAILED_PRECONDITION, naming the file and why, when they cannot be
// checked together correctly: a run still being written (its writer is alive), a run whose
// writer died before its last line (the calls it had in flight are missing, so what they wrote
// would look like lost writes), the same run in two files, or two runs that put the same value
// into one key (the checker could not tell whose write survived). NOT_FOUND when there is none.
struct HomeHistories {
  std::vector<std::string> paths;
  std::vector<model::OpRecord> ops;
};
Result<HomeHistories> read_home_histories(const std::string& home);

}  // namespace drsim::cli
