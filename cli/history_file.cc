#include "cli/history_file.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "common/core/time.h"

namespace drsim::cli {

using model::CallEnd;
using model::ClientKind;
using model::OpKind;
using model::OpRecord;
using model::Outcome;
using nlohmann::json;

std::string new_run_id() {
  std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%d-%H%M%S", std::gmtime(&now));
  return fmt::format("{}-{}", when, ::getpid());
}

namespace {

json op_to_json(const OpRecord& op) {
  json j = {{"id", op.id},
            {"run", op.run},
            {"op", model::op_kind_name(op.kind)},
            {"workload", op.workload},
            {"key", op.key},
            {"value", op.value},
            {"invoke_ns", op.invoke_ns},
            {"complete_ns", op.complete_ns},
            {"outcome", model::outcome_name(op.outcome)},
            {"end", model::call_end_name(op.end)},
            {"region", op.region},
            {"epoch", op.epoch},
            {"seq", op.seq},
            {"client", op.client},
            {"lane", op.lane},
            {"client_kind", model::client_kind_name(op.client_kind)}};
  if (op.kind == OpKind::kGet) j["found"] = op.found;
  if (!op.error.empty()) j["error"] = op.error;
  return j;
}

OpRecord op_from_json(const json& j, const std::string& default_run) {
  OpRecord op;
  op.id = j.at("id");
  std::string kind = j.at("op");
  op.kind = kind == "put" ? OpKind::kPut : kind == "delete" ? OpKind::kDelete : OpKind::kGet;
  op.workload = j.at("workload");
  op.key = j.at("key");
  op.value = j.value("value", "");
  op.found = j.value("found", false);
  op.invoke_ns = j.at("invoke_ns");
  op.complete_ns = j.at("complete_ns");
  std::string outcome = j.at("outcome");
  op.outcome = outcome == "ok"     ? Outcome::kOk
               : outcome == "fail" ? Outcome::kFail
                                   : Outcome::kIndeterminate;
  std::string end = j.value("end", "answered");
  op.end = end == "deadline"    ? CallEnd::kDeadline
           : end == "keepalive" ? CallEnd::kKeepalive
           : end == "cancelled" ? CallEnd::kCancelled
                                : CallEnd::kAnswered;
  op.region = j.value("region", "");
  op.epoch = j.value("epoch", 0);
  op.seq = j.value("seq", 0);
  // Older files have no client; the load generator puts it in the id's high bits.
  op.client = j.value("client", static_cast<uint32_t>(op.id >> 40));
  op.lane = j.value("lane", 0u);
  op.client_kind = j.value("client_kind", "ttl") == "stale" ? ClientKind::kStale : ClientKind::kTtl;
  op.run = j.value("run", default_run);
  op.error = j.value("error", "");
  return op;
}

json started_line(const std::string& run) {
  return {{"run_started",
           {{"run", run}, {"pid", ::getpid()}, {"started_unix_nanos", wall_now_unix_nanos()}}}};
}

json ended_line(uint64_t operations, const std::string& reason) {
  return {{"run_ended",
           {{"operations", operations},
            {"reason", reason},
            {"ended_unix_nanos", wall_now_unix_nanos()}}}};
}

}  // namespace

HistoryWriter::HistoryWriter(std::string path, std::string run)
    : path_(std::move(path)), run_(std::move(run)), last_flush_(std::chrono::steady_clock::now()) {}

Result<std::unique_ptr<HistoryWriter>> HistoryWriter::open(const std::string& path,
                                                           const std::string& run) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  std::unique_ptr<HistoryWriter> w(new HistoryWriter(path, run));
  w->out_.open(path, std::ios::trunc);
  if (!w->out_) return unavailable("cannot write history " + path);
  w->out_ << started_line(run).dump() << "\n";
  w->out_.flush();
  if (!w->out_) return unavailable("cannot write history " + path);
  return w;
}

void HistoryWriter::append(const OpRecord& op) {
  std::lock_guard lock(mu_);
  if (finished_) return;  // the end line is the last line (records of calls cut by an interrupt)
  out_ << op_to_json(op).dump() << "\n";
  ++written_;
  if (std::chrono::steady_clock::now() - last_flush_ >= kFlushInterval) flush_locked();
}

void HistoryWriter::flush() {
  std::lock_guard lock(mu_);
  flush_locked();
}

void HistoryWriter::flush_locked() {
  out_.flush();
  last_flush_ = std::chrono::steady_clock::now();
}

Status HistoryWriter::finish(const std::string& reason) {
  std::lock_guard lock(mu_);
  if (finished_) return Status::ok();  // once: an interrupt and the normal end may both ask
  finished_ = true;
  out_ << ended_line(written_, reason).dump() << "\n";
  flush_locked();
  if (!out_) return unavailable("cannot write history " + path_);
  return Status::ok();
}

Status write_history(const std::string& path, const std::string& run,
                     const std::vector<OpRecord>& ops) {
  auto writer = HistoryWriter::open(path, run);
  if (!writer.is_ok()) return writer.status();
  for (const auto& op : ops) (*writer)->append(op);
  return (*writer)->finish("completed");
}

Result<HistoryFile> read_history_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument(path + ": cannot read the history file");
  HistoryFile file;
  file.path = path;
  file.run = std::filesystem::path(path).filename().string();
  file.ended = true;  // a file with no first line is an old whole-run file
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      auto j = json::parse(line);
      if (j.contains("run_started")) {
        const json& s = j["run_started"];
        file.run = s.at("run");
        file.pid = s.value("pid", int64_t{0});
        file.ended = false;
        continue;
      }
      if (j.contains("run_ended")) {
        file.ended = true;
        continue;
      }
      file.ops.push_back(op_from_json(j, file.run));
    } catch (const std::exception& e) {
      return invalid_argument(path + ":" + std::to_string(n) + ": bad history line: " + e.what());
    }
  }
  return file;
}

std::string default_history_path(const std::string& home, const std::string& run) {
  return home + "/history/load-" + run + ".jsonl";
}

Result<HomeHistories> read_home_histories(const std::string& home) {
  std::vector<std::string> paths;
  std::error_code ec;
  if (std::filesystem::exists(home + "/history.jsonl", ec))
    paths.push_back(home + "/history.jsonl");
  std::vector<std::string> loads;
  for (const auto& entry : std::filesystem::directory_iterator(home + "/history", ec)) {
    if (entry.path().extension() == ".jsonl") loads.push_back(entry.path().string());
  }
  std::sort(loads.begin(), loads.end());
  paths.insert(paths.end(), loads.begin(), loads.end());
  if (paths.empty()) {
    return not_found("no history in " + home +
                     " (run `drsim load` first, or name a file with "
                     "--history)");
  }

  HomeHistories merged;
  std::map<std::string, std::string> run_file;  // run -> file
  // (workload, key, value) -> run that put it
  std::map<std::tuple<std::string, std::string, std::string>, std::string> put_by;
  for (const auto& path : paths) {
    auto file = read_history_file(path);
    if (!file.is_ok()) return file.status();
    if (!file->ended) {
      if (process_alive(static_cast<pid_t>(file->pid))) {
        return failed_precondition(fmt::format(
            "{}: run {} is still being written by drsim load (pid {}); check when it has "
            "finished, or check another file with --history",
            path, file->run, file->pid));
      }
      return failed_precondition(fmt::format(
          "{}: run {} has no end record: its writer (pid {}) died, and the calls it had in flight "
          "are not in the file, so what they wrote would look like lost writes; check it alone "
          "with --history {} to accept that, or remove it",
          path, file->run, file->pid, path));
    }
    auto [it, inserted] = run_file.emplace(file->run, path);
    if (!inserted) {
      return failed_precondition(path + ": run " + file->run + " is also in " + it->second +
                                 "; a run's operations must be checked once");
    }
    for (auto& op : file->ops) {
      if (op.kind == OpKind::kPut) {
        auto [p, fresh] = put_by.emplace(std::tuple(op.workload, op.key, op.value), op.run);
        if (!fresh && p->second != op.run) {
          return failed_precondition(
              path + ": runs " + p->second + " and " + op.run + " both put the same value into " +
              op.workload + "/" + op.key +
              "; the checker cannot tell whose write survived (histories written before runs "
              "tagged their values?): check them one at a time with --history");
        }
      }
      merged.ops.push_back(std::move(op));
    }
  }
  std::stable_sort(merged.ops.begin(), merged.ops.end(),
                   [](const OpRecord& a, const OpRecord& b) { return a.invoke_ns < b.invoke_ns; });
  merged.paths = std::move(paths);
  return merged;
}

}  // namespace drsim::cli
