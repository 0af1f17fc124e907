#include "common/model/faults/netns_layout.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace drsim::model {

std::string ipv4_text(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

bool Ipv4Net::overlaps(const Ipv4Net& other) const {
  int shorter = std::min(prefix, other.prefix);
  uint32_t m = shorter == 0 ? 0 : ~uint32_t{0} << (32 - shorter);
  return (address & m) == (other.address & m);
}

std::string Ipv4Net::text() const { return ipv4_text(network()) + "/" + std::to_string(prefix); }

namespace {
bool parse_number(std::string_view s, unsigned max, unsigned* out) {
  if (s.empty() || s.size() > 3) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out <= max;
}
}  // namespace

Result<Ipv4Net> parse_ipv4_net(const std::string& text, const std::string& field) {
  auto bad = [&] {
    return invalid_argument(field + ": '" + text + "' is not an IPv4 network like " +
                            kDefaultNetnsSubnet);
  };
  std::string_view rest = text;
  Ipv4Net net;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    unsigned prefix = 0;
    if (!parse_number(rest.substr(slash + 1), 32, &prefix)) return bad();
    net.prefix = static_cast<int>(prefix);
    rest = rest.substr(0, slash);
  }
  uint32_t address = 0;
  for (int i = 0; i < 4; ++i) {
    auto dot = rest.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return bad();
    unsigned octet = 0;
    if (!parse_number(rest.substr(0, dot), 255, &octet)) return bad();
    address = address << 8 | octet;
    rest = i < 3 ? rest.substr(dot + 1) : std::string_view{};
  }
  net.address = address & net.mask();
  return net;
}

namespace {
// The next space-separated word of `line` from `*pos` ("" at the end).
std::string next_word(const std::string& line, size_t* pos) {
  size_t begin = line.find_first_not_of(' ', *pos);
  if (begin == std::string::npos) return "";
  size_t end = line.find(' ', begin);
  if (end == std::string::npos) end = line.size();
  *pos = end;
  return line.substr(begin, end - begin);
}
}  // namespace

std::optional<Ipv4Net> route_network(const std::string& route_line) {
  size_t pos = 0;
  std::string word = next_word(route_line, &pos);
  if (word.empty()) return std::nullopt;
  // Route types first: `ip route` prints them for everything but unicast.
  for (const char* type : {"unicast", "local", "broadcast", "multicast", "throw", "unreachable",
                           "prohibit", "blackhole", "nat", "anycast"}) {
    if (word == type) {
      word = next_word(route_line, &pos);
      if (word.empty()) return std::nullopt;
      break;
    }
  }
  if (word == "default") return std::nullopt;
  auto net = parse_ipv4_net(word, "route");
  if (!net.is_ok()) return std::nullopt;
  return *net;
}

Status check_subnet_free(const Ipv4Net& subnet, const std::vector<std::string>& route_lines,
                         const std::string& field) {
  for (const auto& line : route_lines) {
    auto net = route_network(line);
    if (net && net->overlaps(subnet)) {
      return invalid_argument(field + ": " + subnet.text() + " overlaps the host's route '" + line +
                              "'; pick a subnet the host does not use (default " +
                              kDefaultNetnsSubnet + ")");
    }
  }
  return Status::ok();
}

const NetnsMember* NetnsLayout::find(const std::string& name) const {
  for (const auto& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string netns_tag(const std::string& home) {
  uint32_t h = 2166136261u;
  for (unsigned char c : home) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06x", h & 0xffffff);
  return buf;
}

Result<NetnsLayout> plan_netns_layout(const std::string& home, const Ipv4Net& subnet,
                                      const std::string& field) {
  if (subnet.prefix < 8 || subnet.prefix > 29) {
    return invalid_argument(field + ": " + subnet.text() +
                            " must be a /8 to /29 network (the bridge and four daemons need "
                            "addresses .1 to .5)");
  }
  NetnsLayout layout;
  layout.tag = netns_tag(home);
  layout.subnet = subnet;
  // Interface names have at most 15 characters: "drs" + 6 + "br" / "v" + digit.
  layout.bridge = "drs" + layout.tag + "br";
  layout.host_address = ipv4_text(subnet.network() + 1);
  int i = 0;
  for (const char* name : {"primary", "secondary", "trafficmgr", "faultproxy"}) {
    layout.members.push_back({name, "drsim-" + layout.tag + "-" + name,
                              "drs" + layout.tag + "v" + std::to_string(i),
                              ipv4_text(subnet.network() + 2 + i)});
    ++i;
  }
  return layout;
}

std::vector<Command> netns_setup_commands(const NetnsLayout& l) {
  const std::string prefix = "/" + std::to_string(l.subnet.prefix);
  std::vector<Command> out = {
      {"ip", "link", "add", l.bridge, "type", "bridge"},
      {"ip", "addr", "add", l.host_address + prefix, "dev", l.bridge},
      {"ip", "link", "set", l.bridge, "up"},
  };
  for (const auto& m : l.members) {
    out.push_back({"ip", "netns", "add", m.netns});
    out.push_back({"ip", "link", "add", m.host_veth, "type", "veth", "peer", "name", "eth0",
                   "netns", m.netns});
    out.push_back({"ip", "link", "set", m.host_veth, "master", l.bridge, "up"});
    out.push_back({"ip", "-n", m.netns, "addr", "add", m.address + prefix, "dev", "eth0"});
    out.push_back({"ip", "-n", m.netns, "link", "set", "eth0", "up"});
    out.push_back({"ip", "-n", m.netns, "link", "set", "lo", "up"});
  }
  return out;
}

std::vector<Command> netns_teardown_commands(const NetnsLayout& l) {
  std::vector<Command> out;
  for (const auto& m : l.members) {
    out.push_back({"ip", "link", "del", m.host_veth});
    out.push_back({"ip", "netns", "del", m.netns});
  }
  out.push_back({"ip", "link", "del", l.bridge});
  return out;
}

Command netns_exec(const std::string& netns) { return {"ip", "netns", "exec", netns}; }

}  // namespace drsim::model
