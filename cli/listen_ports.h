// The ports drsim's daemons listen on when the topology leaves them to drsim (`127.0.0.1:0`).
//
// A daemon asked for port 0 gets one from the kernel's ephemeral range, the same range every
// outgoing connection on the machine takes its local port from. `drsim up` pins the bound ports
// so that `drsim inject restart` (and a test's restart) brings the daemon back at the same
// addresses; while it is down, any outgoing connection may take its port — and one that surely
// tries is its peer's, reconnecting to that very port: a TCP connect to a free port of the
// ephemeral range from the same host can be given that port as its own local port and connect
// to itself (simultaneous open). The restarted daemon then fails with "Address already in use".
//
// So drsim chooses the port itself, below the ephemeral range, where the kernel never hands out
// local ports, and checks it is free before it starts the daemon; a start that still loses the
// race to another program is retried on other ports (start_daemon, cli/topology_up.cc).
#pragma once

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace drsim::cli {

// [low, high): the ports drsim picks from.
struct PortBand {
  int low = 0;
  int high = 0;
  bool empty() const { return high <= low; }
};

// The band below the ephemeral range [ephemeral_low, ...]: up to 8,192 ports ending just under
// it, never below 1024 (empty when the ephemeral range starts too low to leave room).
PortBand band_below_ephemeral(int ephemeral_low);
// This machine's: /proc/sys/net/ipv4/ip_local_port_range (the kernel's default, 32768, when it
// cannot be read).
PortBand listen_port_band();
// The low end of this machine's ephemeral range (32768 when it cannot be read).
int ephemeral_port_low();

// Whether `port` on `host` is free for both TCP and UDP (a daemon's DNS listener is UDP). A host
// this process cannot bind at all (a network namespace's address) counts as free: the namespace
// is drsim's own, and the daemon's start tells.
bool port_is_free(const std::string& host, int port);

// The listen flags drsim chooses a port for when their value ends in ":0".
bool is_listen_flag(const std::string& flag);

// Replaces the port of every listen flag of `argv` given as "HOST:0" by a free port of `band`
// (`free` decides; at most 64 tries per flag, then the flag keeps ":0" and the kernel chooses).
// Returns how many it replaced.
int choose_listen_ports(std::vector<std::string>& argv, const PortBand& band, std::mt19937& rng,
                        const std::function<bool(const std::string&, int)>& free = port_is_free);

// True when a daemon's failed start reads as a port another program took first.
bool lost_port_race(const std::string& failure);

}  // namespace drsim::cli
