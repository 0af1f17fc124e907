#include "common/runtime/process_runtime.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace drsim::runtime {

namespace {

// %j: the message escaped for a JSON string (quotes, backslashes, control
// characters), so `--log-format json` lines stay valid whatever a gRPC
// error message contains.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
            dest.append(esc, esc + 6);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

}  // namespace

void setup_logging(const std::string& process, const std::string& log_format,
                   const std::string& level) {
  auto logger = spdlog::stderr_color_mt(process);
  spdlog::set_default_logger(logger);
  if (log_format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('j').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","proc":"%n","level":"%l","msg":"%j"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v");
  }
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

Status write_ready_file(const std::string& path, const std::string& address,
                        const std::string& extra_json_fields) {
  std::string tmp = path + ".tmp";
  auto failed = [](const std::string& what) {
    return unavailable("--ready-file: cannot " + what + ": " + std::strerror(errno));
  };
  {
    errno = 0;
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return failed("write " + tmp);
    out << "{\"pid\":" << ::getpid() << ",\"address\":\"" << address << "\"";
    if (!extra_json_fields.empty()) out << "," << extra_json_fields;
    out << "}\n";
    if (!out.flush()) return failed("write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return failed("rename " + tmp + " to " + path);
  return Status::ok();
}

StopSignals::StopSignals(boost::asio::io_context& io, std::function<void()> on_stop)
    : signals_(io, SIGTERM, SIGINT) {
  signals_.async_wait([on_stop = std::move(on_stop)](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received, stopping", sig);
    on_stop();
  });
}

}  // namespace drsim::runtime
