#include "common/runtime/process_identity.h"

#include <fstream>
#include <sstream>

namespace drsim::runtime {

Result<uint64_t> process_start_ticks(pid_t pid) {
  if (pid <= 0) return invalid_argument("pid " + std::to_string(pid) + " is not a process");
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) {
    return not_found("no process " + std::to_string(pid));
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the
  // last ')'. starttime is field 22, the 20th after the ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return internal_error("/proc/" + std::to_string(pid) + "/stat: no ')'");
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) {
      return internal_error("/proc/" + std::to_string(pid) + "/stat: has no field " +
                            std::to_string(i));
    }
  }
  try {
    return static_cast<uint64_t>(std::stoull(field));
  } catch (const std::exception&) {
    return internal_error("/proc/" + std::to_string(pid) + "/stat: starttime '" + field +
                          "' is not a number");
  }
}

Status check_identity(const ProcessIdentity& id, const std::string& what) {
  const std::string who = what + " (pid " + std::to_string(id.pid) + ")";
  auto now = process_start_ticks(id.pid);
  if (!now.is_ok()) {
    return now.status().code() == StatusCode::kNotFound ? not_found(who + " is not running")
                                                        : now.status();
  }
  if (id.start_ticks == 0) {
    return failed_precondition(who + ": no start time was recorded, so pid " +
                               std::to_string(id.pid) +
                               " may belong to another process now; not signalling it");
  }
  if (*now != id.start_ticks) {
    return failed_precondition(who + " is gone: pid " + std::to_string(id.pid) +
                               " now belongs to another process (started at tick " +
                               std::to_string(*now) + ", recorded " +
                               std::to_string(id.start_ticks) + "); not signalling it");
  }
  return Status::ok();
}

}  // namespace drsim::runtime
