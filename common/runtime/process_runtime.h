// What every drsim daemon's main needs around its loop: logging set-up, a
// ready file announcing the bound address, and SIGTERM/SIGINT turned into a
// clean stop on the io_context.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/core/status.h"

namespace drsim::runtime {

// log_format is "text" or "json"; level one of spdlog's names.
void setup_logging(const std::string& process, const std::string& log_format,
                   const std::string& level);

// Writes {"pid":…, "address":"host:port", …extra} atomically (tmp + rename). UNAVAILABLE
// "--ready-file: cannot write PATH.tmp: <why>" when it cannot.
Status write_ready_file(const std::string& path, const std::string& address,
                        const std::string& extra_json_fields = "");

// Calls on_stop once on the loop when SIGTERM or SIGINT arrives.
class StopSignals {
 public:
  StopSignals(boost::asio::io_context& io, std::function<void()> on_stop);

 private:
  boost::asio::signal_set signals_;
};

}  // namespace drsim::runtime
