// Checking a "host:port" listen address given on a command line or in a config file.
#pragma once

#include <string>

#include "common/core/status.h"

namespace drsim::config {

// Splits "host:port"; port 0 allowed. Error names the flag.
Status validate_listen_address(const std::string& flag, const std::string& address);

}  // namespace drsim::config
