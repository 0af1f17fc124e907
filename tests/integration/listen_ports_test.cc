// The ports drsim chooses for daemons whose topology says ":0" (cli/listen_ports.h): below the
// ephemeral range, free, distinct, and only for the listen flags that ask for it.
#include "cli/listen_ports.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

namespace drsim::cli {
namespace {

TEST(ListenPorts, BandEndsJustBelowTheEphemeralRange) {
  PortBand band = band_below_ephemeral(32768);
  EXPECT_EQ(band.low, 32768 - 8192);
  EXPECT_EQ(band.high, 32768);
  // Never below 1024; nothing left when the ephemeral range starts that low.
  EXPECT_EQ(band_below_ephemeral(5000).low, 1024);
  EXPECT_EQ(band_below_ephemeral(5000).high, 5000);
  EXPECT_TRUE(band_below_ephemeral(1024).empty());
  EXPECT_TRUE(band_below_ephemeral(800).empty());
}

TEST(ListenPorts, ThisMachinesBandLiesBelowItsEphemeralRange) {
  PortBand band = listen_port_band();
  ASSERT_FALSE(band.empty());
  EXPECT_EQ(band.high, ephemeral_port_low());
}

TEST(ListenPorts, OnlyListenFlagsAskingForPortZeroAreChosen) {
  std::vector<std::string> argv = {"drsim-primary", "--listen", "127.0.0.1:0", "--http-listen",
                                   "127.0.0.1:0", "--dns-listen", "127.0.0.1:5353",
                                   "--peer", "127.0.0.1:0", "--name", "x:0"};
  std::mt19937 rng(7);
  PortBand band{20000, 20100};
  EXPECT_EQ(choose_listen_ports(argv, band, rng, [](const std::string&, int) { return true; }),
            2);
  std::set<std::string> ports;
  for (int i : {2, 4}) {
    ASSERT_EQ(argv[i].rfind("127.0.0.1:", 0), 0u) << argv[i];
    int port = std::stoi(argv[i].substr(10));
    EXPECT_GE(port, band.low);
    EXPECT_LT(port, band.high);
    ports.insert(argv[i]);
  }
  EXPECT_EQ(ports.size(), 2u) << "two flags got the same port";
  EXPECT_EQ(argv[6], "127.0.0.1:5353") << "a port the topology sets is kept";
  EXPECT_EQ(argv[8], "127.0.0.1:0") << "--peer is not a listen flag";
  EXPECT_EQ(argv[10], "x:0");
}

TEST(ListenPorts, PortsInUseAreSkippedAndAFullBandLeavesPortZero) {
  std::mt19937 rng(1);
  std::vector<std::string> argv = {"d", "--listen", "10.0.0.1:0"};
  // Only 20007 is free.
  EXPECT_EQ(choose_listen_ports(argv, PortBand{20000, 20010}, rng,
                                [](const std::string& host, int port) {
                                  EXPECT_EQ(host, "10.0.0.1");
                                  return port == 20007;
                                }),
            1);
  EXPECT_EQ(argv[2], "10.0.0.1:20007");
  std::vector<std::string> none = {"d", "--listen", "127.0.0.1:0"};
  EXPECT_EQ(choose_listen_ports(none, PortBand{20000, 20010}, rng,
                                [](const std::string&, int) { return false; }),
            0);
  EXPECT_EQ(none[2], "127.0.0.1:0") << "the kernel chooses when drsim finds none";
  EXPECT_EQ(choose_listen_ports(none, PortBand{}, rng), 0);
}

TEST(ListenPorts, APortHeldBySomeoneElseIsNotFree) {
  // Find a free port of the band, hold it with a listening socket, and ask again.
  PortBand band = listen_port_band();
  ASSERT_FALSE(band.empty());
  std::vector<std::string> argv = {"d", "--listen", "127.0.0.1:0"};
  std::mt19937 rng(3);
  ASSERT_EQ(choose_listen_ports(argv, band, rng), 1);
  int port = std::stoi(argv[2].substr(10));
  EXPECT_TRUE(port_is_free("127.0.0.1", port));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  EXPECT_FALSE(port_is_free("127.0.0.1", port));
  ::close(fd);
}

TEST(ListenPorts, ALostRaceReadsAsAPortInUse) {
  EXPECT_TRUE(lost_port_race("cannot listen on 127.0.0.1:30001: port 30001 is already in use"));
  EXPECT_TRUE(lost_port_race("--http-listen: cannot bind 127.0.0.1:30002: Address already in use"));
  EXPECT_FALSE(lost_port_race("--data-dir: permission denied"));
}

}  // namespace
}  // namespace drsim::cli
