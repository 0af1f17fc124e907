// The per-topology CA and identity certificates (common/tls/certificates.h), checked with
// OpenSSL itself: chain, names, modes, re-use, and the errors for bad files.
#include "common/tls/certificates.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace drsim::tls {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

const std::vector<std::string> kAll(kTopologyIdentities.begin(), kTopologyIdentities.end());

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("drsim-tls-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::unique_ptr<X509, decltype(&X509_free)> read_x509(const fs::path& p) {
  FILE* f = std::fopen(p.c_str(), "r");
  X509* x = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  return {x, &X509_free};
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Certificates, IssuesAChainOpenSslVerifiesWithNamesAndModes) {
  fs::path dir = fresh_dir("chain");
  ASSERT_TRUE(ensure_certificates(dir, kAll, Clock::now()).is_ok());
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(dir / "ca.key"), 0600u);
  auto ca = read_x509(dir / "ca.crt");
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  for (const std::string& id : kAll) {
    IdentityFiles files = identity_files(dir, id);
    EXPECT_EQ(mode_of(files.key), 0600u) << id;
    auto cert = read_x509(files.cert);
    ASSERT_TRUE(cert) << id;
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  &X509_STORE_free);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        &X509_STORE_CTX_free);
    X509_STORE_add_cert(store.get(), ca.get());
    X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
    EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
        << id << ": " << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    char cn[64] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
    EXPECT_EQ(std::string(cn), id);
    std::string dns = id + ".drsim";
    EXPECT_EQ(X509_check_host(cert.get(), dns.c_str(), dns.size(), 0, nullptr), 1) << id;
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1) << id;
    EXPECT_NE(X509_check_host(cert.get(), "other.drsim", 0, 0, nullptr), 1) << id;
    auto loaded = load_identity(dir, id, Clock::now());
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    EXPECT_EQ(loaded->cert_pem, read_text(files.cert));
    EXPECT_EQ(loaded->ca_pem, read_text(dir / "ca.crt"));
  }
  fs::remove_all(dir);
}

TEST(Certificates, ASecondRunReusesTheCaAndIssuesOnlyWhatIsMissing) {
  fs::path dir = fresh_dir("reuse");
  ASSERT_TRUE(ensure_certificates(dir, {"primary"}, Clock::now()).is_ok());
  std::string ca = read_text(dir / "ca.crt");
  std::string primary = read_text(dir / "primary.crt");
  ASSERT_TRUE(ensure_certificates(dir, kAll, Clock::now()).is_ok());
  EXPECT_EQ(read_text(dir / "ca.crt"), ca);
  EXPECT_EQ(read_text(dir / "primary.crt"), primary);
  EXPECT_TRUE(load_identity(dir, "operator", Clock::now()).is_ok());
  fs::remove_all(dir);
}

TEST(Certificates, AnExpiredCaIsNotOverwrittenAndTheErrorSaysSo) {
  fs::path dir = fresh_dir("expired");
  auto eleven_years_ago = Clock::now() - std::chrono::hours(24 * 365 * 11);
  ASSERT_TRUE(ensure_certificates(dir, {"primary"}, eleven_years_ago).is_ok());
  std::string ca = read_text(dir / "ca.crt");
  Status s = ensure_certificates(dir, {"primary"}, Clock::now());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find((dir / "ca.crt").string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not overwritten"), std::string::npos) << s.message();
  EXPECT_EQ(read_text(dir / "ca.crt"), ca);
  auto loaded = load_identity(dir, "primary", Clock::now());
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_NE(loaded.status().message().find("expired"), std::string::npos)
      << loaded.status().message();
  fs::remove_all(dir);
}

TEST(Certificates, ACertificateOfAnotherCaIsRefusedNamingTheFile) {
  fs::path dir = fresh_dir("mine");
  fs::path other = fresh_dir("foreign");
  ASSERT_TRUE(ensure_certificates(dir, {"operator"}, Clock::now()).is_ok());
  ASSERT_TRUE(ensure_certificates(other, {"operator"}, Clock::now()).is_ok());
  fs::copy_file(other / "operator.crt", dir / "operator.crt", fs::copy_options::overwrite_existing);
  fs::copy_file(other / "operator.key", dir / "operator.key", fs::copy_options::overwrite_existing);
  auto loaded = load_identity(dir, "operator", Clock::now());
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_NE(loaded.status().message().find((dir / "operator.crt").string() +
                                           ": does not verify against"),
            std::string::npos)
      << loaded.status().message();
  Status s = ensure_certificates(dir, {"operator"}, Clock::now());
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("not overwritten"), std::string::npos) << s.message();
  fs::remove_all(dir);
  fs::remove_all(other);
}

TEST(Certificates, BadFilesGiveErrorsNamingTheFileAndWhy) {
  fs::path dir = fresh_dir("bad");
  ASSERT_TRUE(ensure_certificates(dir, {"primary", "secondary"}, Clock::now()).is_ok());
  auto message = [&](const std::string& id) {
    auto loaded = load_identity(dir, id, Clock::now());
    return loaded.is_ok() ? std::string("ok") : loaded.status().message();
  };
  // Another identity's certificate under this identity's name.
  fs::copy_file(dir / "secondary.crt", dir / "primary.crt", fs::copy_options::overwrite_existing);
  EXPECT_NE(message("primary").find("is the certificate of 'secondary', not of 'primary'"),
            std::string::npos)
      << message("primary");
  // Its key does not match once the certificate is put back from secondary's key alone.
  fs::copy_file(dir / "primary.key", dir / "secondary.key", fs::copy_options::overwrite_existing);
  EXPECT_NE(message("secondary").find("secondary.key: is not the key of"), std::string::npos)
      << message("secondary");
  // A key others may read.
  ::chmod((dir / "secondary.key").c_str(), 0644);
  EXPECT_NE(message("secondary").find("secondary.key: mode 0644 lets other users read"),
            std::string::npos)
      << message("secondary");
  // Garbage and absence.
  std::ofstream(dir / "ca.crt") << "not a certificate\n";
  EXPECT_NE(message("secondary").find("ca.crt: not a PEM certificate"), std::string::npos)
      << message("secondary");
  fs::remove(dir / "ca.crt");
  EXPECT_NE(message("secondary").find("cannot read " + (dir / "ca.crt").string()),
            std::string::npos)
      << message("secondary");
  EXPECT_NE(message("../x").find("identity"), std::string::npos);
  fs::remove_all(dir);
}

// Every file of `dir`, name -> content.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename()] = read_text(e.path());
  return out;
}

std::string serial_of(const fs::path& cert_file) {
  auto x = read_x509(cert_file);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr), &BN_free);
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex;
  OPENSSL_free(hex);
  return out;
}

TEST(Certificates, RotateReissuesEachCertificateFromTheSameCaWithANewKeyAndSerial) {
  fs::path dir = fresh_dir("rotate");
  ASSERT_TRUE(ensure_certificates(dir, kAll, Clock::now()).is_ok());
  auto before = snapshot(dir);
  auto now = Clock::now();
  auto rotated = rotate_certificates(dir, {"primary", "operator"}, now, std::chrono::hours(24));
  ASSERT_TRUE(rotated.is_ok()) << rotated.status().message();
  auto after = snapshot(dir);
  EXPECT_EQ(after.size(), before.size());  // no staged file left behind
  EXPECT_EQ(after["ca.crt"], before["ca.crt"]);
  EXPECT_EQ(after["ca.key"], before["ca.key"]);
  EXPECT_EQ(after["secondary.crt"], before["secondary.crt"]);
  ASSERT_EQ(rotated->size(), 2u);
  for (const Rotation& r : *rotated) {
    const std::string& id = r.identity;
    EXPECT_NE(after[id + ".crt"], before[id + ".crt"]) << id;
    EXPECT_NE(after[id + ".key"], before[id + ".key"]) << id;
    EXPECT_EQ(mode_of(dir / (id + ".key")), 0600u) << id;
    EXPECT_EQ(r.before.common_name, id);
    EXPECT_EQ(r.after.common_name, id);
    EXPECT_NE(r.before.serial, r.after.serial);
    EXPECT_EQ(r.after.serial, serial_of(dir / (id + ".crt"))) << id;
    auto lifetime = r.after.not_after - now;
    EXPECT_GT(lifetime, std::chrono::hours(23));
    EXPECT_LE(lifetime, std::chrono::hours(24));
    auto loaded = load_identity(dir, id, Clock::now());  // same CA, matching key, right CN
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    auto described = describe_certificate(loaded->cert_pem, id);
    ASSERT_TRUE(described.is_ok());
    EXPECT_EQ(described->serial, r.after.serial);
  }
  fs::remove_all(dir);
}

TEST(Certificates, RotateChangesNothingWhenAnIdentityOrTheCaKeyDoesNotLoad) {
  fs::path dir = fresh_dir("rotate-bad");
  ASSERT_TRUE(ensure_certificates(dir, kAll, Clock::now()).is_ok());
  ::chmod((dir / "secondary.key").c_str(), 0644);
  auto before = snapshot(dir);
  auto refused = rotate_certificates(dir, {"primary", "secondary"}, Clock::now());
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("secondary.key: mode 0644"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("nothing rotated"), std::string::npos);
  EXPECT_EQ(snapshot(dir), before);

  ::chmod((dir / "secondary.key").c_str(), 0600);
  fs::rename(dir / "ca.key", dir / "ca.key.away");
  before = snapshot(dir);
  refused = rotate_certificates(dir, {"primary"}, Clock::now());
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("cannot read " + (dir / "ca.key").string()),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(snapshot(dir), before);

  refused = rotate_certificates(dir, {"../primary"}, Clock::now());
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("identity"), std::string::npos);
  EXPECT_FALSE(describe_certificate("not pem", "served").is_ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace drsim::tls
