#include "cli/deploy_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "common/core/names.h"
#include "common/tls/certificates.h"

namespace drsim::cli {

namespace {

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "drsim: %s\n", message.c_str());
  return code;
}

Status write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) return unavailable("--out: cannot write " + path.string());
  return Status::ok();
}

}  // namespace

Result<ChaosMeshPlacement> parse_namespace_flags(const std::vector<std::string>& flags) {
  ChaosMeshPlacement placement;
  for (const auto& flag : flags) {
    auto eq = flag.find('=');
    std::string daemon = eq == std::string::npos ? "" : flag.substr(0, eq);
    std::string ns = eq == std::string::npos ? flag : flag.substr(eq + 1);
    if (ns.empty() || dns_label(ns) != ns) {
      return invalid_argument("--namespace " + flag + ": '" + ns +
                              "' is not a Kubernetes namespace name (a-z, 0-9, '-')");
    }
    if (daemon.empty()) {
      placement.default_namespace = ns;
    } else if (daemon == "primary" || daemon == "secondary" || daemon == "trafficmgr") {
      placement.namespace_of[daemon] = ns;
    } else {
      return invalid_argument("--namespace " + flag + ": '" + daemon +
                              "' is not a daemon (primary, secondary, trafficmgr)");
    }
  }
  return placement;
}

int cmd_drill_export_chaos_mesh(const Drill& drill, const std::string& out,
                                const std::vector<std::string>& namespace_flags) {
  auto placement = parse_namespace_flags(namespace_flags);
  if (!placement.is_ok()) return fail(placement.status().message(), 2);
  const ChaosMeshExport exported = chaos_mesh_export(drill, *placement);
  for (const auto& u : exported.unsupported) {
    std::fprintf(stderr, "drsim: not exported: %s\n", u.c_str());
  }
  const bool nothing = exported.objects.empty() && exported.faults > 0;
  if (nothing) {
    std::fprintf(stderr, "drsim: drill %s: none of its %d fault(s) has a Chaos Mesh equivalent\n",
                 drill.name.c_str(), exported.faults);
  }
  if (out == "-") {
    std::cout << chaos_mesh_yaml(drill, exported);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) return fail("--out: cannot create " + out + ": " + ec.message(), 2);
    // One file per object and a kustomization listing them: `kubectl apply -k DIR`.
    std::string kustomization = chaos_mesh_yaml(drill, exported, ChaosMeshDocuments::kHeaderOnly);
    kustomization += "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
    if (!exported.objects.empty()) kustomization += "resources:\n";
    for (const auto& o : exported.objects) {
      const std::string file = o["metadata"]["name"].as<std::string>() + ".yaml";
      YAML::Emitter e;
      e << o;
      if (Status s = write_text(std::filesystem::path(out) / file, std::string(e.c_str()) + "\n");
          !s.is_ok()) {
        return fail(s.message(), 2);
      }
      kustomization += "  - " + file + "\n";
    }
    if (Status s = write_text(std::filesystem::path(out) / "kustomization.yaml", kustomization);
        !s.is_ok()) {
      return fail(s.message(), 2);
    }
    std::fprintf(stderr, "drsim: wrote %zu object(s) and kustomization.yaml to %s\n",
                 exported.objects.size(), out.c_str());
  }
  return nothing ? 1 : 0;
}

int cmd_certs_make(const std::string& dir, const std::vector<std::string>& identities) {
  std::vector<std::string> ids = identities;
  if (ids.empty()) ids.assign(tls::kTopologyIdentities.begin(), tls::kTopologyIdentities.end());
  for (const auto& id : ids) {
    if (Status s = validate_name("--names", id); !s.is_ok()) return fail(s.message(), 2);
  }
  if (Status s = tls::ensure_certificates(dir, ids, std::chrono::system_clock::now()); !s.is_ok()) {
    return fail("certs make: " + s.message(), s.code() == StatusCode::kInvalidArgument ? 2 : 1);
  }
  std::printf(
      "%s: the CA (ca.crt, and ca.key, which signs: keep it here, copy it nowhere) and\n"
      "one certificate and key per identity; each host gets ca.crt and its own two:\n",
      dir.c_str());
  for (const auto& id : ids) {
    auto files = tls::identity_files(dir, id);
    std::printf("  %-13s %s %s %s\n", id.c_str(), files.ca_cert.filename().c_str(),
                files.cert.filename().c_str(), files.key.filename().c_str());
  }
  return 0;
}

}  // namespace drsim::cli
