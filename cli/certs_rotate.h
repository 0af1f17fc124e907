// `drsim certs rotate`: re-issue the certificates of a topology (a new key and serial for each
// identity, from the same CA; tls::rotate_certificates) and, for a topology `drsim up` runs,
// check that every running daemon presents its new certificate on new connections, gRPC and
// HTTPS alike, without a restart (the daemons re-read their files: net::Transport).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace drsim::cli {

struct CertsRotateCommand {
  std::string home;                // the topology's home: <home>/tls, and its running daemons
  std::string dir;                 // or a `drsim certs make` directory (no daemons checked)
  std::vector<std::string> names;  // identities; default: every one the directory holds
  std::chrono::milliseconds wait{10000};  // for the daemons to serve the new certificates
};

// 0 when rotated and (with a home) every running daemon serves its new certificate; 1 when one
// still serves the old one after `wait` or the files could not be rotated; 2 for bad flags.
int cmd_certs_rotate(const CertsRotateCommand& cmd);

}  // namespace drsim::cli
