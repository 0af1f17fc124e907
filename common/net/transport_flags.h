// The two transport flags every daemon takes (--tls-dir DIR | --insecure), in one place so their
// help reads the same in drsim-primary, drsim-secondary, drsim-trafficmgr and drsim-faultproxy.
#pragma once

#include <CLI/CLI.hpp>

#include "common/net/transport.h"

namespace drsim::net {

inline void add_transport_flags(CLI::App& app, TransportFlags& flags) {
  app.add_option("--tls-dir", flags.tls_dir,
                 "mTLS: directory with ca.crt and this daemon's <identity>.crt and .key (`drsim "
                 "up` makes them under <home>/tls), re-read every second (`drsim certs rotate`); "
                 "clients must present a certificate of the CA");
  app.add_flag("--insecure", flags.insecure,
               "plain TCP without authentication instead of mTLS; loopback --listen only (tests)");
}

}  // namespace drsim::net
