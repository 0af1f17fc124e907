#include "common/config/listen_address.h"

#include <string>

namespace drsim::config {

Status validate_listen_address(const std::string& flag, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return invalid_argument(flag + ": '" + address + "' is not host:port");
  }
  std::string port = address.substr(colon + 1);
  for (char c : port) {
    if (c < '0' || c > '9') return invalid_argument(flag + ": port '" + port + "' is not a number");
  }
  if (port.size() > 5 || std::stoi(port) > 65535) {
    return invalid_argument(flag + ": port " + port + " is out of range 0..65535");
  }
  return Status::ok();
}

}  // namespace drsim::config
