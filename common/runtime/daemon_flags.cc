#include "common/runtime/daemon_flags.h"

#include "common/runtime/process_runtime.h"

namespace drsim::runtime {

void DaemonFlags::add_to(CLI::App& app, const std::string& ready_help) {
  app.add_option("--ready-file", ready_file, ready_help);
  app.add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "spdlog level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
}

void DaemonFlags::start_logging(const std::string& process) const {
  setup_logging(process, log_format, log_level);
}

}  // namespace drsim::runtime
