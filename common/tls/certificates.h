// The per-topology certificate authority and the certificates of its identities (primary,
// secondary, trafficmgr, faultproxy, operator), as files under <home>/tls/. `drsim up` makes or
// re-uses them (ensure_certificates); each daemon and the CLI load their own (load_identity)
// and hand the PEM text to gRPC's TLS credentials (common/net/transport.h).
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"

namespace drsim::tls {

// The identities of a topology, one certificate each (the certificate's CN). `test-failover` is
// the isolated copy a test failover starts (it has no peer and replicates to nobody).
inline constexpr std::array<std::string_view, 6> kTopologyIdentities = {
    "primary", "secondary", "trafficmgr", "faultproxy", "operator", "test-failover"};

// A drill CA lives as long as the topology's home: 10 years; its certificates as long, unless
// re-issued sooner (rotate_certificates, `drsim certs rotate`; docs/security.md).
inline constexpr std::chrono::hours kCaValidity{24 * 3653};
inline constexpr std::chrono::hours kCertificateValidity{24 * 3653};

// The DNS name in an identity's subjectAltName ("primary.drsim"); a client checks the server it
// reached holds it (gRPC's target name override), whatever address it dialled.
std::string identity_dns_name(std::string_view identity);

struct IdentityFiles {
  std::filesystem::path ca_cert;  // <dir>/ca.crt
  std::filesystem::path cert;     // <dir>/<identity>.crt
  std::filesystem::path key;      // <dir>/<identity>.key (mode 0600)
};
IdentityFiles identity_files(const std::filesystem::path& dir, std::string_view identity);

// Makes `dir` (mode 0700) hold a CA (ca.crt, ca.key) and a certificate and key per identity.
// Re-uses what is there and valid at `now`; issues only what is missing. A file that is there but
// unreadable, expired, from another CA or for another identity is never overwritten: the error
// names the file and why (delete `dir` to start again).
Status ensure_certificates(const std::filesystem::path& dir,
                           const std::vector<std::string>& identities,
                           std::chrono::system_clock::time_point now);

// What a process needs to speak mTLS as `identity`: the CA, its certificate and key (PEM).
struct IdentityPem {
  std::string identity;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads and checks `identity`'s files in `dir`: the CA is valid at `now`, the certificate is
// signed by it, valid at `now` and has CN `identity`, the key matches it and is readable by its
// owner only. Errors name the file and why.
Result<IdentityPem> load_identity(const std::filesystem::path& dir, std::string_view identity,
                                  std::chrono::system_clock::time_point now);

// What a certificate says, for the operator and for checking which one a daemon serves.
struct CertificateInfo {
  std::string common_name;
  std::string serial;  // hex, as `openssl x509 -serial` prints it
  std::chrono::system_clock::time_point not_after;
};
// From PEM text (the first certificate in it); FAILED_PRECONDITION naming `what` when it is none.
Result<CertificateInfo> describe_certificate(const std::string& pem, std::string_view what);

// One identity's certificate before and after rotate_certificates.
struct Rotation {
  std::string identity;
  CertificateInfo before;
  CertificateInfo after;
};

// Re-issues each identity's certificate in `dir` from the same CA, with a new key and serial,
// valid from `now` for `validity`. Nothing is written unless the CA and every identity's current
// files load (load_identity); the new files are first written durably beside the old ones, then
// each identity's key and certificate are renamed over the old two back to back, so a reader
// (a daemon re-reading its files, transport.h) sees the old pair or the new one except in the
// microseconds between the two renames. The CA itself is not rotated (docs/security.md).
Result<std::vector<Rotation>> rotate_certificates(const std::filesystem::path& dir,
                                                  const std::vector<std::string>& identities,
                                                  std::chrono::system_clock::time_point now,
                                                  std::chrono::hours validity = kCertificateValidity);

}  // namespace drsim::tls
