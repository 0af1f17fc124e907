#include "common/tls/certificates.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/core/names.h"
#include "common/runtime/durable_file.h"

namespace drsim::tls {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

// The reason of OpenSSL's last error (its queue is cleared).
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "OpenSSL error " + std::to_string(e);
}

Result<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return failed_precondition("cannot read " + file.string() + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Result<Owned<X509>> parse_certificate(const fs::path& file, const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return failed_precondition(file.string() + ": not a PEM certificate");
  }
  return cert;
}

Result<Owned<X509>> read_certificate(const fs::path& file) {
  auto pem = read_file(file);
  if (!pem.is_ok()) return pem.status();
  return parse_certificate(file, *pem);
}

// A private key is refused when others may read it (as ssh does).
Result<Owned<EVP_PKEY>> read_key(const fs::path& file, std::string* pem_out = nullptr) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return failed_precondition("cannot read " + file.string() + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return failed_precondition(file.string() + ": mode " + mode +
                               " lets other users read the private key; it must be 0600");
  }
  auto pem = read_file(file);
  if (!pem.is_ok()) return pem.status();
  Owned<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return failed_precondition(file.string() + ": not a PEM private key");
  }
  if (pem_out) *pem_out = std::move(*pem);
  return key;
}

std::string common_name(X509* cert) {
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) < 0) {
    return "";
  }
  return cn;
}

// Verifies `cert` against the single trusted `ca` at `now`; "" when it verifies, else why.
std::string verify_against(X509* ca, X509* cert, Clock::time_point now) {
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1) {
    return openssl_reason();
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, Clock::to_time_t(now));
  if (X509_verify_cert(ctx.get()) == 1) return "";
  std::string why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
  return why;
}

Result<Owned<X509>> read_ca(const fs::path& file, Clock::time_point now) {
  auto ca = read_certificate(file);
  if (!ca.is_ok()) return ca.status();
  if (X509_check_ca(ca->get()) == 0) {
    return failed_precondition(file.string() + ": not a CA certificate");
  }
  if (std::string why = verify_against(ca->get(), ca->get(), now); !why.empty()) {
    return failed_precondition(file.string() + ": " + why);
  }
  return std::move(*ca);
}

Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return internal_error(std::string("certificate extension ") + OBJ_nid2sn(nid) + "=" + value +
                          ": " + openssl_reason());
  }
  return Status::ok();
}

struct Issued {
  Owned<X509> cert;
  Owned<EVP_PKEY> key;
};

// An EC P-256 key and a certificate for it with CN `cn`, signed by `issuer` (self-signed when
// null), valid from `now` for `validity`.
Result<Issued> issue(const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                     Clock::time_point now, std::chrono::hours validity) {
  Issued out;
  // EVP_EC_gen("P-256") spelled out: OpenSSL's macro casts the curve name's constness away
  // C-style, which clang's -Wcast-qual reports here; the call takes a char* vararg.
  char curve[] = "P-256";
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  out.cert.reset(X509_new());
  if (!out.key || !out.cert) return internal_error("EC P-256 key for " + cn + ": " + openssl_reason());
  X509* c = out.cert.get();
  Owned<BIGNUM> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(c)) || X509_set_version(c, 2) != 1) {
    return internal_error("certificate serial for " + cn + ": " + openssl_reason());
  }
  std::time_t from = Clock::to_time_t(now - std::chrono::minutes(5));  // a little clock skew
  std::time_t until = Clock::to_time_t(now + validity);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("drsim"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  if (!ASN1_TIME_set(X509_getm_notBefore(c), from) || !ASN1_TIME_set(X509_getm_notAfter(c), until) ||
      X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
      X509_set_pubkey(c, out.key.get()) != 1) {
    return internal_error("certificate for " + cn + ": " + openssl_reason());
  }
  X509* signer = issuer ? issuer : c;
  Status s = add_extension(c, signer, NID_subject_key_identifier, "hash");
  if (issuer == nullptr) {
    if (s.is_ok()) s = add_extension(c, signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    if (s.is_ok()) s = add_extension(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    std::string san = "DNS:" + identity_dns_name(cn) + ",IP:127.0.0.1";
    if (s.is_ok()) s = add_extension(c, signer, NID_authority_key_identifier, "keyid:always");
    if (s.is_ok()) s = add_extension(c, signer, NID_basic_constraints, "critical,CA:FALSE");
    if (s.is_ok()) s = add_extension(c, signer, NID_key_usage, "critical,digitalSignature");
    if (s.is_ok()) s = add_extension(c, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (s.is_ok()) s = add_extension(c, signer, NID_subject_alt_name, san.c_str());
  }
  if (!s.is_ok()) return s;
  if (X509_sign(c, issuer_key ? issuer_key : out.key.get(), EVP_sha256()) == 0) {
    return internal_error("signing the certificate for " + cn + ": " + openssl_reason());
  }
  return out;
}

std::string to_pem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status write_issued(const Issued& issued, const fs::path& cert, const fs::path& key) {
  // The key first: a certificate without its key would block the next `drsim up`.
  Status s = runtime::replace_file_durably(key.string(), to_pem(issued.key.get()), 0600);
  return s.is_ok() ? runtime::replace_file_durably(cert.string(), to_pem(issued.cert.get()), 0644)
                    : s;
}

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// The CA's key in `dir`, checked against its certificate `ca`; errors say it was needed to issue
// `for_file`.
Result<Owned<EVP_PKEY>> read_ca_key(const fs::path& dir, X509* ca, const fs::path& for_file) {
  const fs::path ca_key = dir / "ca.key";
  auto read = read_key(ca_key);
  if (!read.is_ok()) {
    return failed_precondition(read.status().message() + " (needed to issue " +
                               for_file.string() + ")");
  }
  if (X509_check_private_key(ca, read->get()) != 1) {
    ERR_clear_error();
    return failed_precondition(ca_key.string() + ": is not the key of " +
                               (dir / "ca.crt").string());
  }
  return std::move(*read);
}

CertificateInfo info_of(X509* cert) {
  CertificateInfo out;
  out.common_name = common_name(cert);
  Owned<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (char* hex = serial ? BN_bn2hex(serial.get()) : nullptr) {
    out.serial = hex;
    OPENSSL_free(hex);
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
    out.not_after = Clock::from_time_t(timegm(&tm));
  }
  return out;
}

// The directory's entry is durable once its renames are (rename_pair).
Status sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return failed_precondition("cannot sync " + dir.string() + ": " + why);
  }
  ::close(fd);
  return Status::ok();
}

// A new key and certificate written durably as "<file>.new" beside the identity's files.
struct Staged {
  std::string identity;
  IdentityFiles files;
  CertificateInfo before;
  CertificateInfo after;
};

fs::path staged(const fs::path& file) { return fs::path(file.string() + ".new"); }

void remove_staged(const std::vector<Staged>& all) {
  for (const Staged& s : all) {
    std::error_code ec;
    fs::remove(staged(s.files.key), ec);
    fs::remove(staged(s.files.cert), ec);
  }
}

}  // namespace

std::string identity_dns_name(std::string_view identity) {
  return std::string(identity) + ".drsim";
}

IdentityFiles identity_files(const fs::path& dir, std::string_view identity) {
  std::string id(identity);
  return {dir / "ca.crt", dir / (id + ".crt"), dir / (id + ".key")};
}

Result<IdentityPem> load_identity(const fs::path& dir, std::string_view identity,
                                  Clock::time_point now) {
  if (Status s = validate_name("identity", identity); !s.is_ok()) return s;
  IdentityFiles files = identity_files(dir, identity);
  auto ca = read_ca(files.ca_cert, now);
  if (!ca.is_ok()) return ca.status();
  auto cert = read_certificate(files.cert);
  if (!cert.is_ok()) return cert.status();
  IdentityPem out;
  out.identity = std::string(identity);
  auto key = read_key(files.key, &out.key_pem);
  if (!key.is_ok()) return key.status();
  if (std::string why = verify_against(ca->get(), cert->get(), now); !why.empty()) {
    return failed_precondition(files.cert.string() + ": does not verify against " +
                               files.ca_cert.string() + ": " + why);
  }
  if (std::string cn = common_name(cert->get()); cn != identity) {
    return failed_precondition(files.cert.string() + ": is the certificate of '" + cn +
                               "', not of '" + out.identity + "'");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return failed_precondition(files.key.string() + ": is not the key of " + files.cert.string());
  }
  out.ca_pem = to_pem(ca->get());
  out.cert_pem = to_pem(cert->get());
  return out;
}

Status ensure_certificates(const fs::path& dir, const std::vector<std::string>& identities,
                           Clock::time_point now) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failed_precondition("cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return failed_precondition("cannot chmod 0700 " + dir.string() + ": " + std::strerror(errno));
  }
  const fs::path ca_cert = dir / "ca.crt";
  const fs::path ca_key = dir / "ca.key";
  Owned<X509> ca;
  Owned<EVP_PKEY> key;
  if (file_exists(ca_cert)) {
    auto read = read_ca(ca_cert, now);
    if (!read.is_ok()) {
      return failed_precondition(read.status().message() + " (not overwritten; delete " +
                                 dir.string() + " to make a new CA)");
    }
    ca = std::move(*read);
  } else {
    auto issued = issue("drsim topology CA", nullptr, nullptr, now, kCaValidity);
    if (!issued.is_ok()) return issued.status();
    if (Status s = write_issued(*issued, ca_cert, ca_key); !s.is_ok()) return s;
    ca = std::move(issued->cert);
    key = std::move(issued->key);
  }
  for (const std::string& id : identities) {
    if (Status s = validate_name("identity", id); !s.is_ok()) return s;
    IdentityFiles files = identity_files(dir, id);
    if (file_exists(files.cert) || file_exists(files.key)) {
      auto loaded = load_identity(dir, id, now);
      if (!loaded.is_ok()) {
        return failed_precondition(loaded.status().message() + " (not overwritten; delete " +
                                   dir.string() + " to make new certificates)");
      }
      continue;
    }
    if (!key) {
      auto read = read_ca_key(dir, ca.get(), files.cert);
      if (!read.is_ok()) return read.status();
      key = std::move(*read);
    }
    auto issued = issue(id, ca.get(), key.get(), now, kCertificateValidity);
    if (!issued.is_ok()) return issued.status();
    if (Status s = write_issued(*issued, files.cert, files.key); !s.is_ok()) return s;
  }
  return Status::ok();
}

Result<CertificateInfo> describe_certificate(const std::string& pem, std::string_view what) {
  auto cert = parse_certificate(fs::path(std::string(what)), pem);
  if (!cert.is_ok()) return cert.status();
  return info_of(cert->get());
}

Result<std::vector<Rotation>> rotate_certificates(const fs::path& dir,
                                                  const std::vector<std::string>& identities,
                                                  Clock::time_point now,
                                                  std::chrono::hours validity) {
  auto ca = read_ca(dir / "ca.crt", now);
  if (!ca.is_ok()) return ca.status();
  std::vector<Staged> all;
  for (const std::string& id : identities) {
    auto loaded = load_identity(dir, id, now);  // checks the name too
    if (!loaded.is_ok()) {
      return failed_precondition(loaded.status().message() + " (nothing rotated)");
    }
    auto before = describe_certificate(loaded->cert_pem, id);
    if (!before.is_ok()) return before.status();
    all.push_back({id, identity_files(dir, id), std::move(*before), {}});
  }
  if (all.empty()) return invalid_argument("no identity to rotate");
  auto ca_key = read_ca_key(dir, ca->get(), all.front().files.cert);
  if (!ca_key.is_ok()) return ca_key.status();
  // Every new pair is on disk before any old one is replaced: a failure here changes nothing.
  for (Staged& s : all) {
    auto issued = issue(s.identity, ca->get(), ca_key->get(), now, validity);
    Status st = issued.is_ok() ? write_issued(*issued, staged(s.files.cert), staged(s.files.key))
                               : issued.status();
    if (!st.is_ok()) {
      remove_staged(all);
      return Status(st.code(), st.message() + " (nothing rotated)");
    }
    s.after = info_of(issued->cert.get());
  }
  std::vector<Rotation> out;
  for (const Staged& s : all) {
    // Back to back, nothing between: the key, then its certificate.
    if (::rename(staged(s.files.key).c_str(), s.files.key.c_str()) != 0 ||
        ::rename(staged(s.files.cert).c_str(), s.files.cert.c_str()) != 0) {
      std::string why = std::strerror(errno);
      remove_staged(all);
      return failed_precondition("replacing " + s.files.cert.string() + ": " + why + " (" +
                                 std::to_string(out.size()) + " of " +
                                 std::to_string(all.size()) + " identities rotated before it)");
    }
    out.push_back({s.identity, s.before, s.after});
  }
  if (Status st = sync_directory(dir); !st.is_ok()) return st;
  return out;
}

}  // namespace drsim::tls
