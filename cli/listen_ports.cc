#include "cli/listen_ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "common/config/listen_address.h"

namespace drsim::cli {

namespace {
constexpr int kLinuxDefaultEphemeralLow = 32768;
constexpr int kBandWidth = 8192;
constexpr int kTriesPerFlag = 64;

// Binds a socket of `type` to host:port (no SO_REUSEADDR: a connection's port in TIME_WAIT
// counts as taken). 1 bound, 0 in use, -1 cannot tell (the host is not this namespace's).
int try_bind(const std::string& host, int port, int type) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  if (::inet_pton(AF_INET, h.c_str(), &sa.sin_addr) != 1) return -1;
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = errno;
  ::close(fd);
  if (rc == 0) return 1;
  return err == EADDRINUSE || err == EACCES ? 0 : -1;
}
}  // namespace

PortBand band_below_ephemeral(int ephemeral_low) {
  PortBand band{std::max(1024, ephemeral_low - kBandWidth), ephemeral_low};
  if (band.empty()) return PortBand{};
  return band;
}

int ephemeral_port_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  int high = 0;
  if (in >> low >> high && low > 0 && low <= high) return low;
  return kLinuxDefaultEphemeralLow;
}

PortBand listen_port_band() { return band_below_ephemeral(ephemeral_port_low()); }

bool port_is_free(const std::string& host, int port) {
  return try_bind(host, port, SOCK_STREAM) != 0 && try_bind(host, port, SOCK_DGRAM) != 0;
}

bool is_listen_flag(const std::string& flag) {
  return flag == "--listen" || flag == "--http-listen" || flag == "--dns-listen" ||
         flag == "--dashboard-listen";
}

int choose_listen_ports(std::vector<std::string>& argv, const PortBand& band, std::mt19937& rng,
                        const std::function<bool(const std::string&, int)>& free) {
  if (band.empty()) return 0;
  std::uniform_int_distribution<int> pick(band.low, band.high - 1);
  std::vector<int> chosen;
  int replaced = 0;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (!is_listen_flag(argv[i])) continue;
    std::string& value = argv[i + 1];
    auto at = config::parse_host_port(argv[i], value);
    if (!at.is_ok() || at->port != 0) continue;
    const std::string& host = at->host;
    for (int t = 0; t < kTriesPerFlag; ++t) {
      int port = pick(rng);
      if (std::find(chosen.begin(), chosen.end(), port) != chosen.end()) continue;
      if (!free(host, port)) continue;
      chosen.push_back(port);
      value = config::join_host_port(host, static_cast<uint16_t>(port));
      ++replaced;
      break;
    }
  }
  return replaced;
}

bool lost_port_race(const std::string& failure) {
  return failure.find("already in use") != std::string::npos;
}

}  // namespace drsim::cli
