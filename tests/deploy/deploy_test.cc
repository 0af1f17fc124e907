// The packaging for real clusters (deploy/systemd, deploy/k8s) against the daemons it runs: every
// flag a unit or a manifest passes is one the daemon has (its --help), ports, probes and volumes
// agree with those flags, and the ConfigMap agrees with the topology. Kubernetes overlays are
// rendered with `kubectl kustomize` when kubectl is installed (it is not a Debian package); without
// it the same checks run on the manifests parsed directly, and the test says so. Also the
// Chaos Mesh export of every drill, whose selectors must match the manifests' pods.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace {

namespace fs = std::filesystem;
const fs::path kSource = DRSIM_SOURCE_DIR;
const fs::path kBin = DRSIM_BIN_DIR;
const fs::path kK8s = kSource / "deploy/k8s";

struct CommandResult {
  int status = -1;
  std::string out;
};

// A command the test builds from fixed paths (never input); stdout, and stderr when asked.
CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.out.append(buf, n);
  int st = ::pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The long flags a daemon's --help lists.
const std::set<std::string>& help_flags(const std::string& binary) {
  static std::map<std::string, std::set<std::string>> cache;
  auto it = cache.find(binary);
  if (it != cache.end()) return it->second;
  CommandResult r = run((kBin / binary).string() + " --help 2>&1");
  EXPECT_EQ(r.status, 0) << binary << " --help failed: " << r.out;
  // Option lines only ("  --listen TEXT ...", "  -h,--help ..."): a flag merely named in another
  // flag's description does not count.
  std::set<std::string> flags;
  std::regex option(R"(^\s+(?:-[a-zA-Z],)?(--[a-z0-9][a-z0-9-]*))");
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, option)) flags.insert(m[1]);
  }
  EXPECT_TRUE(flags.count("--listen")) << binary << " --help lists no --listen:\n" << r.out;
  return cache[binary] = flags;
}

// "--x=y" / "--x y" argument lists -> flag -> values.
std::multimap<std::string, std::string> parse_args(const std::vector<std::string>& args) {
  std::multimap<std::string, std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) continue;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      out.emplace(a.substr(0, eq), a.substr(eq + 1));
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      out.emplace(a, args[++i]);
    } else {
      out.emplace(a, "");
    }
  }
  return out;
}

std::string one(const std::multimap<std::string, std::string>& args, const std::string& flag) {
  auto it = args.find(flag);
  return it == args.end() ? "" : it->second;
}

int port_of(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return -1;
  try {
    return std::stoi(host_port.substr(colon + 1));
  } catch (...) {
    return -1;
  }
}

// ------------------------------------------------------------------------------------ Kubernetes

// The daemons each layout runs, and the namespace each one's objects land in.
struct Layout {
  std::string dir;  // under deploy/k8s
  std::map<std::string, std::string> namespace_of;
};
const std::vector<Layout>& layouts() {
  static const std::vector<Layout> l = {
      {"base", {{"primary", "drsim"}, {"secondary", "drsim"}, {"trafficmgr", "drsim"}}},
      {"overlays/two-namespace",
       {{"primary", "drsim-primary"},
        {"secondary", "drsim-secondary"},
        {"trafficmgr", "drsim-primary"}}},
      {"overlays/two-cluster/cluster-a", {{"primary", "drsim"}, {"trafficmgr", "drsim"}}},
      {"overlays/two-cluster/cluster-b", {{"secondary", "drsim"}}},
  };
  return l;
}

void PrintTo(const Layout& layout, std::ostream* os) { *os << layout.dir; }

std::string kubectl() {
  CommandResult r = run("command -v kubectl 2>/dev/null");
  std::string path = r.out.substr(0, r.out.find('\n'));
  return r.status == 0 ? path : "";
}

// Every file a kustomization names (resources, generators' files and envs) exists and every
// resource parses; returns the resources' objects and the env files' and topology files' paths.
struct Parsed {
  std::vector<YAML::Node> objects;
  std::vector<fs::path> env_files;
  std::vector<fs::path> topology_files;
};
void parse_kustomization(const fs::path& dir, Parsed* out) {
  const fs::path k = dir / "kustomization.yaml";
  ASSERT_TRUE(fs::exists(k)) << k;
  YAML::Node kust;
  ASSERT_NO_THROW(kust = YAML::LoadFile(k.string())) << k;
  for (const auto& r : kust["resources"]) {
    fs::path p = dir / r.as<std::string>();
    ASSERT_TRUE(fs::exists(p)) << k << " lists " << r.as<std::string>() << ", which is missing";
    if (fs::is_directory(p)) {
      parse_kustomization(p, out);
      continue;
    }
    std::vector<YAML::Node> docs;
    ASSERT_NO_THROW(docs = YAML::LoadAllFromFile(p.string())) << p;
    for (auto& d : docs) {
      if (d.IsMap()) out->objects.push_back(d);
    }
  }
  for (const auto& g : kust["configMapGenerator"]) {
    for (const auto& e : g["envs"]) {
      fs::path p = dir / e.as<std::string>();
      ASSERT_TRUE(fs::exists(p)) << k << " lists " << p << ", which is missing";
      out->env_files.push_back(p);
    }
    for (const auto& f : g["files"]) {
      fs::path p = dir / f.as<std::string>();
      ASSERT_TRUE(fs::exists(p)) << k << " lists " << p << ", which is missing";
      ASSERT_NO_THROW(YAML::LoadFile(p.string())) << p;
      if (p.filename() == "topology.yaml") out->topology_files.push_back(p);
    }
  }
}

std::map<std::string, std::string> read_env_file(const fs::path& p) {
  std::map<std::string, std::string> env;
  std::istringstream in(read_file(p));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// The objects of a layout, rendered by kubectl, or — without kubectl — read from the files with
// the base ConfigMap's settings. `how` says which.
struct Objects {
  std::vector<YAML::Node> objects;
  std::map<std::string, std::string> config;  // the drsim-config ConfigMap's data
  bool rendered = false;
};
Objects objects_of(const Layout& layout) {
  Objects o;
  const std::string k = kubectl();
  if (!k.empty()) {
    CommandResult r = run(k + " kustomize " + (kK8s / layout.dir).string() + " 2>&1");
    EXPECT_EQ(r.status, 0) << "kubectl kustomize " << layout.dir << " failed:\n" << r.out;
    for (auto& d : YAML::LoadAll(r.out)) {
      if (!d.IsMap()) continue;
      o.objects.push_back(d);
      if (d["kind"].as<std::string>() == "ConfigMap") {
        for (const auto& kv : d["data"]) {
          o.config[kv.first.as<std::string>()] = kv.second.as<std::string>();
        }
      }
    }
    o.rendered = true;
    return o;
  }
  std::cout << "NOTE: kubectl is not on PATH (it is not a Debian 12 package), so " << layout.dir
            << " was NOT rendered with `kubectl kustomize`; its kustomization "
            << "files were parsed directly and the checks below ran on the base manifests "
               "without the overlay's patches and namespaces.\n";
  Parsed parsed;
  parse_kustomization(kK8s / layout.dir, &parsed);
  o.objects = parsed.objects;
  for (const auto& e : parsed.env_files) {
    for (const auto& [key, value] : read_env_file(e)) o.config[key] = value;
  }
  if (!parsed.topology_files.empty())
    o.config["topology.yaml"] = read_file(parsed.topology_files[0]);
  return o;
}

const YAML::Node* find(const std::vector<YAML::Node>& objects, const std::string& kind,
                       const std::string& name) {
  for (const auto& o : objects) {
    if (o["kind"].as<std::string>() == kind && o["metadata"]["name"].as<std::string>() == name) {
      return &o;
    }
  }
  return nullptr;
}

std::string component_label(const YAML::Node& labels) {
  return labels["app.kubernetes.io/component"]
             ? labels["app.kubernetes.io/component"].as<std::string>()
             : "";
}

// $(VAR) -> the ConfigMap's value (as the kubelet expands args from envFrom).
std::string expand(const std::string& text, const std::map<std::string, std::string>& config) {
  std::string out = text;
  std::regex var(R"(\$\(([A-Z0-9_]+)\))");
  std::smatch m;
  while (std::regex_search(out, m, var)) {
    auto it = config.find(m[1]);
    EXPECT_NE(it, config.end()) << "$(" << m[1] << ") is not in the ConfigMap";
    out = m.prefix().str() + (it == config.end() ? "" : it->second) + m.suffix().str();
  }
  return out;
}

// The pod template of `daemon`'s workload in a layout, checked against the daemon's flags.
void check_daemon(const Objects& objects, const Layout& layout, const std::string& daemon) {
  SCOPED_TRACE(layout.dir + ": " + daemon);
  const bool region = daemon != "trafficmgr";
  const std::string name = "drsim-" + daemon;
  const YAML::Node* workload = find(objects.objects, region ? "StatefulSet" : "Deployment", name);
  ASSERT_NE(workload, nullptr) << (region ? "StatefulSet " : "Deployment ") << name << " missing";
  const YAML::Node& w = *workload;
  if (objects.rendered) {
    EXPECT_EQ(w["metadata"]["namespace"].as<std::string>(), layout.namespace_of.at(daemon));
  }
  EXPECT_EQ(w["spec"]["replicas"].as<int>(), 1);
  // Selectors and pod labels: what Services and Chaos Mesh (`drsim drill export`) select on.
  const YAML::Node& tmpl = w["spec"]["template"];
  EXPECT_EQ(tmpl["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>(), "drsim");
  EXPECT_EQ(component_label(tmpl["metadata"]["labels"]), daemon);
  EXPECT_EQ(component_label(w["spec"]["selector"]["matchLabels"]), daemon);
  EXPECT_TRUE(tmpl["spec"]["securityContext"]["runAsNonRoot"].as<bool>());

  ASSERT_EQ(tmpl["spec"]["containers"].size(), 1u);
  const YAML::Node& c = tmpl["spec"]["containers"][0];
  EXPECT_EQ(c["name"].as<std::string>(), daemon);  // TimeChaos's containerNames
  const std::string binary = c["command"][0].as<std::string>();
  EXPECT_EQ(binary, name);
  std::vector<std::string> raw_args;
  for (const auto& a : c["args"]) raw_args.push_back(a.as<std::string>());
  const auto args = parse_args(raw_args);
  for (const auto& [flag, value] : args) {
    EXPECT_TRUE(help_flags(binary).count(flag))
        << binary << " has no flag " << flag << " (the manifest passes it)";
  }
  // The gRPC port: --listen, the container's port, the Service's port.
  const int grpc_port = port_of(one(args, "--listen"));
  ASSERT_GT(grpc_port, 0);
  ASSERT_EQ(c["ports"].size(), 1u);
  EXPECT_EQ(c["ports"][0]["name"].as<std::string>(), "grpc");
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), grpc_port);
  const YAML::Node* service = find(objects.objects, "Service", name);
  ASSERT_NE(service, nullptr) << "Service " << name << " missing";
  EXPECT_EQ(component_label((*service)["spec"]["selector"]), daemon);
  EXPECT_EQ((*service)["spec"]["ports"][0]["targetPort"].as<std::string>(), "grpc");
  const int service_port = (*service)["spec"]["ports"][0]["port"].as<int>();
  if (region) {
    EXPECT_EQ(w["spec"]["serviceName"].as<std::string>(), name);
    EXPECT_EQ((*service)["spec"]["clusterIP"].as<std::string>(), "None");
    EXPECT_TRUE((*service)["spec"]["publishNotReadyAddresses"].as<bool>());
  }
  // Every address a daemon dials names a Service port that exists.
  for (const char* flag : {"--peer", "--witness", "--endpoint", "--region-admin"}) {
    for (auto [it, end] = args.equal_range(flag); it != end; ++it) {
      std::string address = expand(it->second, objects.config);
      EXPECT_EQ(port_of(address), service_port) << flag << " " << address;
    }
  }

  // Probes: grpc.health.v1 is behind mTLS, which a kubelet gRPC probe cannot speak; liveness
  // GETs /metrics of the loopback HTTP server the args start, readiness connects to gRPC.
  for (const char* probe : {"livenessProbe", "readinessProbe"}) {
    ASSERT_TRUE(c[probe]) << probe << " missing";
    EXPECT_FALSE(c[probe]["grpc"]) << probe << ": a kubelet gRPC probe has no client certificate";
    EXPECT_FALSE(c[probe]["httpGet"]) << probe << ": the HTTP server listens on loopback only";
  }
  const std::string http_listen = one(args, region ? "--http-listen" : "--dashboard-listen");
  ASSERT_TRUE(http_listen.starts_with("127.0.0.1:")) << http_listen;
  std::string liveness;
  for (const auto& part : c["livenessProbe"]["exec"]["command"])
    liveness += part.as<std::string>() + " ";
  // The daemon serves HTTPS there with its certificate (--tls-dir): the probe speaks TLS and
  // verifies the server against the CA and the daemon's identity.
  EXPECT_NE(liveness.find("openssl s_client "), std::string::npos) << liveness;
  EXPECT_NE(liveness.find(" -connect 127.0.0.1:" + std::to_string(port_of(http_listen)) + " "),
            std::string::npos)
      << liveness;
  EXPECT_NE(liveness.find(" -verify_return_error -CAfile " + one(args, "--tls-dir") +
                          "/ca.crt -verify_hostname " + daemon + ".drsim "),
            std::string::npos)
      << liveness;
  EXPECT_NE(liveness.find("GET /metrics"), std::string::npos) << liveness;
  EXPECT_EQ(c["readinessProbe"]["tcpSocket"]["port"].as<std::string>(), "grpc");

  // Volumes: the state directory on the PVC (regions) or the pod's own (Traffic Manager), the
  // certificates copied from the daemon's Secret with the key's mode the daemon requires.
  std::map<std::string, std::string> mounts;  // path -> volume
  for (const auto& m : c["volumeMounts"]) {
    mounts[m["mountPath"].as<std::string>()] = m["name"].as<std::string>();
  }
  auto volume_at = [&](const std::string& path) -> std::string {
    std::string best, volume;
    for (const auto& [mount, v] : mounts) {
      if ((path == mount || path.starts_with(mount + "/")) && mount.size() > best.size()) {
        best = mount;
        volume = v;
      }
    }
    return volume;
  };
  const std::string state = one(args, region ? "--data-dir" : "--state-dir");
  ASSERT_FALSE(state.empty());
  if (region) {
    EXPECT_EQ(volume_at(state), "data") << state;
    ASSERT_EQ(w["spec"]["volumeClaimTemplates"].size(), 1u);
    EXPECT_EQ(w["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as<std::string>(), "data");
    // Site Recovery keeps its points beside the data dir (<data-dir>.points): same volume.
    EXPECT_EQ(volume_at(state + ".points"), "data");
  } else {
    EXPECT_EQ(volume_at(state), "state") << state;
  }
  const std::string tls_dir = one(args, "--tls-dir");
  EXPECT_EQ(volume_at(tls_dir), "tls");
  std::string secret;
  for (const auto& v : tmpl["spec"]["volumes"]) {
    if (v["name"].as<std::string>() == "tls-secret")
      secret = v["secret"]["secretName"].as<std::string>();
  }
  EXPECT_EQ(secret, "drsim-tls-" + daemon);
  ASSERT_EQ(tmpl["spec"]["initContainers"].size(), 1u);
  std::string copy;
  for (const auto& part : tmpl["spec"]["initContainers"][0]["command"])
    copy += part.as<std::string>() + " ";
  EXPECT_NE(copy.find("install -m 0600 /secret/" + daemon + ".key " + tls_dir), std::string::npos)
      << copy;
}

// The ConfigMap's flags agree with its topology.yaml.
void check_config(const Objects& objects) {
  ASSERT_TRUE(objects.config.count("topology.yaml"));
  YAML::Node topology = YAML::Load(objects.config.at("topology.yaml"));
  std::string workloads;
  for (const auto& w : topology["workloads"]) {
    workloads += (workloads.empty() ? "" : ",") + w["name"].as<std::string>() + ":" +
                 w["mode"].as<std::string>();
  }
  EXPECT_EQ(objects.config.at("DRSIM_WORKLOADS"), workloads);
  const YAML::Node tm = topology["traffic_manager"];
  EXPECT_EQ(objects.config.at("DRSIM_PROFILE"), tm["profile"].as<std::string>());
  EXPECT_EQ(objects.config.at("DRSIM_PROBE_INTERVAL_MS"),
            tm["probe_interval_ms"].as<std::string>());
  EXPECT_EQ(objects.config.at("DRSIM_PROBE_TIMEOUT_MS"), tm["probe_timeout_ms"].as<std::string>());
  EXPECT_EQ(objects.config.at("DRSIM_TOLERATED_FAILURES"),
            tm["tolerated_failures"].as<std::string>());
  EXPECT_EQ(objects.config.at("DRSIM_TTL_MS"), tm["ttl_ms"].as<std::string>());
  // The topology's listen ports are the pods' --listen ports.
  for (const auto& o : objects.objects) {
    const std::string kind = o["kind"].as<std::string>();
    if (kind != "StatefulSet" && kind != "Deployment") continue;
    const std::string daemon = component_label(o["metadata"]["labels"]);
    std::vector<std::string> raw;
    for (const auto& a : o["spec"]["template"]["spec"]["containers"][0]["args"])
      raw.push_back(a.as<std::string>());
    const std::string listen = daemon == "trafficmgr"
                                   ? tm["listen"].as<std::string>()
                                   : topology["regions"][daemon]["listen"].as<std::string>();
    EXPECT_EQ(port_of(one(parse_args(raw), "--listen")), port_of(listen)) << daemon;
  }
}

class K8sLayout : public ::testing::TestWithParam<Layout> {};

TEST_P(K8sLayout, ObjectsAgreeWithTheDaemonsFlagsAndTheTopology) {
  const Layout& layout = GetParam();
  Objects objects = objects_of(layout);
  ASSERT_FALSE(objects.objects.empty());
  std::multiset<std::string> kinds, want;
  for (const auto& o : objects.objects) kinds.insert(o["kind"].as<std::string>());
  for (const auto& [daemon, ns] : layout.namespace_of) {
    want.insert(daemon == "trafficmgr" ? "Deployment" : "StatefulSet");
    want.insert("Service");
  }
  for (const char* kind : {"StatefulSet", "Deployment", "Service"}) {
    // Two-cluster halves add LoadBalancer Services (drsim-*-external) for the other cluster.
    size_t external = 0;
    for (const auto& o : objects.objects) {
      if (o["kind"].as<std::string>() == kind &&
          o["metadata"]["name"].as<std::string>().ends_with("-external")) {
        ++external;
        EXPECT_EQ(o["spec"]["type"].as<std::string>(), "LoadBalancer");
      }
    }
    EXPECT_EQ(kinds.count(kind) - external, want.count(kind)) << kind;
  }
  if (objects.rendered) {
    std::set<std::string> namespaces;
    for (const auto& [daemon, ns] : layout.namespace_of) namespaces.insert(ns);
    EXPECT_EQ(kinds.count("ConfigMap"), namespaces.size());
    EXPECT_EQ(kinds.count("Namespace"), namespaces.size());
  }
  for (const auto& [daemon, ns] : layout.namespace_of) check_daemon(objects, layout, daemon);
  check_config(objects);
}

INSTANTIATE_TEST_SUITE_P(Deploy, K8sLayout, ::testing::ValuesIn(layouts()),
                         [](const auto& param_info) {
                           std::string name = param_info.param.dir;
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// Without kubectl the rendered checks fall back to these; with it, they run as well, so the
// fallback itself stays tested.
TEST(K8sManifests, EveryKustomizationFileExistsAndParses) {
  for (const auto& layout : layouts()) {
    SCOPED_TRACE(layout.dir);
    Parsed parsed;
    parse_kustomization(kK8s / layout.dir, &parsed);
    EXPECT_FALSE(parsed.objects.empty());
    EXPECT_FALSE(parsed.env_files.empty());
    EXPECT_FALSE(parsed.topology_files.empty());
  }
}

// ------------------------------------------------------------------------------------ systemd

struct Unit {
  std::map<std::string, std::vector<std::string>> service;  // [Service] key -> values
};
Unit parse_unit(const fs::path& p) {
  Unit u;
  std::istringstream in(read_file(p));
  std::string section, line, pending;
  while (std::getline(in, line)) {
    if (!pending.empty()) line = pending + " " + line;
    pending.clear();
    if (!line.empty() && line.back() == '\\') {
      pending = line.substr(0, line.size() - 1);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    auto eq = line.find('=');
    if (section == "[Service]" && eq != std::string::npos) {
      u.service[line.substr(0, eq)].push_back(line.substr(eq + 1));
    }
  }
  return u;
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(Systemd, UnitsRunRealFlagsWithTheirEnvironmentFileAndHardening) {
  const std::map<std::string, std::string> units = {{"drsim-primary", "primary"},
                                                    {"drsim-secondary", "secondary"},
                                                    {"drsim-trafficmgr", "trafficmgr"}};
  for (const auto& [unit_name, identity] : units) {
    SCOPED_TRACE(unit_name);
    const fs::path path = kSource / "deploy/systemd" / (unit_name + ".service");
    ASSERT_TRUE(fs::exists(path)) << path;
    Unit u = parse_unit(path);
    auto value = [&](const std::string& key) {
      return u.service.count(key) ? u.service[key].back() : std::string();
    };
    EXPECT_EQ(value("Restart"), "on-failure");
    EXPECT_EQ(value("User"), "drsim");
    EXPECT_EQ(value("NoNewPrivileges"), "yes");
    EXPECT_EQ(value("ProtectSystem"), "strict");
    EXPECT_EQ(value("PrivateTmp"), "yes");
    EXPECT_EQ(value("ProtectHome"), "yes");
    EXPECT_EQ(value("CapabilityBoundingSet"), "");
    EXPECT_EQ(value("StateDirectory"), unit_name);
    EXPECT_EQ(value("ReadWritePaths"), "/var/lib/" + unit_name);
    EXPECT_EQ(value("EnvironmentFile"), "/etc/drsim/" + identity + ".env");

    ASSERT_EQ(u.service["ExecStart"].size(), 1u);
    std::vector<std::string> words = split_words(value("ExecStart"));
    ASSERT_FALSE(words.empty());
    EXPECT_EQ(words[0], "/usr/bin/" + unit_name);
    const auto args = parse_args(words);
    for (const auto& [flag, v] : args) {
      EXPECT_TRUE(help_flags(unit_name).count(flag))
          << unit_name << " has no flag " << flag << " (the unit passes it)";
    }
    // Every ${VAR} is set by the example environment file or by systemd itself.
    const auto env = read_env_file(kSource / "deploy/systemd" / (identity + ".env"));
    std::regex var(R"(\$\{([A-Z0-9_]+)\})");
    const std::string exec = value("ExecStart");
    for (std::sregex_iterator i(exec.begin(), exec.end(), var), end; i != end; ++i) {
      const std::string name = (*i)[1];
      EXPECT_TRUE(env.count(name) || name == "STATE_DIRECTORY" || name == "CREDENTIALS_DIRECTORY")
          << "${" << name << "} is not in deploy/systemd/" << identity << ".env";
    }
    // The state lives in the state directory; the certificates are the unit's credentials,
    // named as --tls-dir expects (ca.crt, <identity>.crt, <identity>.key).
    EXPECT_TRUE(one(args, identity == "trafficmgr" ? "--state-dir" : "--data-dir")
                    .starts_with("${STATE_DIRECTORY}"));
    EXPECT_EQ(one(args, "--tls-dir"), "${CREDENTIALS_DIRECTORY}");
    std::set<std::string> credentials;
    for (const auto& c : u.service["LoadCredential"]) credentials.insert(c.substr(0, c.find(':')));
    EXPECT_EQ(credentials, (std::set<std::string>{"ca.crt", identity + ".crt", identity + ".key"}));
    if (identity != "trafficmgr") {
      EXPECT_EQ(one(args, "--name"), identity);
    }
    // The HTTP endpoints a daemon refuses off loopback are on loopback in the example.
    for (const auto& [key, v] : env) {
      if (key.ends_with("HTTP_LISTEN") || key.ends_with("DASHBOARD_LISTEN")) {
        EXPECT_TRUE(v.starts_with("127.")) << key << "=" << v;
      }
    }
  }
}

// `systemd-analyze verify` where systemd is installed (Debian 12 has it; a container may not):
// the units with ExecStart pointing at the build's binaries, so only the units are judged.
TEST(Systemd, UnitsPassSystemdAnalyzeVerify) {
  CommandResult which = run("command -v systemd-analyze 2>/dev/null");
  if (which.status != 0) {
    std::cout << "NOTE: systemd-analyze is not installed, so `systemd-analyze verify` did not run; "
                 "the unit checks of Systemd.UnitsRunRealFlags... still did.\n";
    // Not a skip: the other systemd test covers the flags and hardening.
    return;
  }
  const fs::path dir = fs::temp_directory_path() / ("drsim-units-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string files;
  for (const char* unit : {"drsim-primary", "drsim-secondary", "drsim-trafficmgr"}) {
    std::string text = read_file(kSource / "deploy/systemd" / (std::string(unit) + ".service"));
    const std::string from = "/usr/bin/" + std::string(unit);
    text.replace(text.find(from), from.size(), (kBin / unit).string());
    std::ofstream(dir / (std::string(unit) + ".service")) << text;
    files += " " + (dir / (std::string(unit) + ".service")).string();
  }
  CommandResult r = run("systemd-analyze verify" + files + " 2>&1");
  fs::remove_all(dir);
  // Only complaints about our units count (the host's own units may be noisy in a container).
  std::istringstream in(r.out);
  std::vector<std::string> ours;
  for (std::string line; std::getline(in, line);) {
    if (line.find("drsim-") != std::string::npos) ours.push_back(line);
  }
  std::string all;
  for (const auto& l : ours) all += l + "\n";
  EXPECT_TRUE(ours.empty()) << all;
}

// ------------------------------------------------------------------------------------ Chaos Mesh

// Every drill of deploy/drills exports; every object's selectors name pods the base manifests
// run, in the namespaces the layout puts them.
TEST(ChaosMeshExport, EveryDrillExportsWithSelectorsOfTheManifestsPods) {
  std::set<std::string> components;
  Parsed base;
  parse_kustomization(kK8s / "base", &base);
  for (const auto& o : base.objects) {
    if (o["kind"].as<std::string>() == "StatefulSet" ||
        o["kind"].as<std::string>() == "Deployment") {
      components.insert(component_label(o["spec"]["template"]["metadata"]["labels"]));
    }
  }
  ASSERT_EQ(components, (std::set<std::string>{"primary", "secondary", "trafficmgr"}));
  int objects = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "deploy/drills")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    // The file after the repeated --namespace: each takes one value.
    CommandResult r = run((kBin / "drsim").string() +
                          " drill export --chaos-mesh --namespace drsim-primary --namespace "
                          "secondary=drsim-secondary " +
                          entry.path().string() + " 2>/dev/null");
    std::vector<YAML::Node> docs;
    ASSERT_NO_THROW(docs = YAML::LoadAll(r.out)) << r.out;
    // 0: something mapped (or nothing to map); 1: faults, none mapped (stderr says which).
    EXPECT_TRUE(r.status == 0 || (r.status == 1 && docs.empty())) << r.status << "\n" << r.out;
    for (const auto& d : docs) {
      if (!d.IsMap()) continue;
      ++objects;
      std::vector<YAML::Node> selectors = {d["spec"]["selector"]};
      if (d["spec"]["target"]) selectors.push_back(d["spec"]["target"]["selector"]);
      for (const YAML::Node& selector : selectors) {
        ASSERT_TRUE(selector.IsMap()) << d;
        const std::string component = component_label(selector["labelSelectors"]);
        EXPECT_TRUE(components.count(component)) << component;
        EXPECT_EQ(selector["labelSelectors"]["app.kubernetes.io/name"].as<std::string>(), "drsim");
        EXPECT_EQ(selector["namespaces"][0].as<std::string>(),
                  component == "secondary" ? "drsim-secondary" : "drsim-primary");
      }
    }
  }
  EXPECT_GT(objects, 5);
}

TEST(ChaosMeshExport, OutDirectoryHoldsOneFilePerObjectAndAKustomization) {
  const fs::path out = fs::temp_directory_path() / ("drsim-chaos-" + std::to_string(::getpid()));
  CommandResult r = run((kBin / "drsim").string() + " drill export --chaos-mesh " +
                        (kSource / "deploy/drills/split-brain-partition.yaml").string() +
                        " --out " + out.string() + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  YAML::Node k = YAML::LoadFile((out / "kustomization.yaml").string());
  ASSERT_GT(k["resources"].size(), 0u);
  EXPECT_NE(read_file(out / "kustomization.yaml")
                .find("# " + std::to_string(k["resources"].size()) + " object(s) from "),
            std::string::npos);
  for (const auto& res : k["resources"]) {
    YAML::Node o = YAML::LoadFile((out / res.as<std::string>()).string());
    EXPECT_EQ(o["metadata"]["name"].as<std::string>() + ".yaml", res.as<std::string>());
  }
  fs::remove_all(out);
}

TEST(ChaosMeshExport, BadNamespaceIsExit2NamingTheFlag) {
  CommandResult r = run((kBin / "drsim").string() + " drill export --chaos-mesh " +
                        (kSource / "deploy/drills/region-outage-kill.yaml").string() +
                        " --namespace bogus=x 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--namespace bogus=x: 'bogus' is not a daemon"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// ------------------------------------------------------------------------------------ certs

// `drsim certs make`: the CA and certificates for hosts `drsim up` does not start, re-used on a
// second run (the same CA), keys readable by their owner only; a bad name is exit 2.
TEST(CertsMake, MakesThenReusesACaAndOneCertificatePerIdentity) {
  const fs::path dir = fs::temp_directory_path() / ("drsim-certs-" + std::to_string(::getpid()));
  const std::string make = (kBin / "drsim").string() + " certs make --out " + dir.string();
  CommandResult first = run(make + " --names primary,secondary,trafficmgr 2>&1");
  ASSERT_EQ(first.status, 0) << first.out;
  for (const char* f : {"ca.crt", "ca.key", "primary.crt", "primary.key", "secondary.crt",
                        "secondary.key", "trafficmgr.crt", "trafficmgr.key"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  EXPECT_FALSE(fs::exists(dir / "operator.crt"));
  EXPECT_EQ(fs::status(dir / "primary.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_NE(first.out.find("  trafficmgr    ca.crt trafficmgr.crt trafficmgr.key"),
            std::string::npos)
      << first.out;
  const std::string ca = read_file(dir / "ca.crt");
  CommandResult again = run(make + " --names primary,operator 2>&1");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_EQ(read_file(dir / "ca.crt"), ca);  // the same CA signs the new identity
  EXPECT_TRUE(fs::exists(dir / "operator.crt"));
  CommandResult bad = run(make + " --names primary,../x 2>&1");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("--names: '../x'"), std::string::npos) << bad.out;
  fs::remove_all(dir);
}

}  // namespace

namespace {

// ------------------------------------------------------------------------------------ systemd, run

// A loopback port free now (bound and released; the daemon binds it a moment later).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// GET `path` from 127.0.0.1:port over HTTPS — the daemons serve their HTTP endpoints with their
// certificate — verifying the server against `ca` as `identity` (openssl s_client, as the
// Kubernetes liveness probe does); the whole answer ("" when nothing answers within 5 s).
std::string https_get(int port, const std::string& path, const fs::path& ca,
                      const std::string& identity) {
  const std::string command =
      "printf 'GET " + path +
      " HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' | timeout 5 "
      "openssl s_client -quiet -verify_return_error -CAfile '" +
      ca.string() + "' -verify_hostname " + identity + ".drsim -connect 127.0.0.1:" +
      std::to_string(port) + " 2>/dev/null";
  return run(command).out;
}

// The daemons a test started, stopped (SIGTERM, then SIGKILL after 10 s) by PID when it ends.
struct Daemons {
  std::vector<pid_t> pids;
  ~Daemons() { stop(); }
  void stop() {
    for (pid_t p : pids) ::kill(p, SIGTERM);
    for (pid_t p : pids) {
      for (int i = 0; i < 100 && ::waitpid(p, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (::waitpid(p, nullptr, WNOHANG) == 0) {
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
      }
    }
    pids.clear();
  }
  // Runs argv with stdout and stderr into `log`.
  pid_t start(const std::vector<std::string>& argv, const fs::path& log) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    if (pid > 0) pids.push_back(pid);
    return pid;
  }
};

// The three units' ExecStart lines as systemd runs them — the example .env files with every
// address moved to a free loopback port, ${STATE_DIRECTORY} and ${CREDENTIALS_DIRECTORY} as
// systemd sets them (credentials mode 0400), certificates from `drsim certs make` — make a
// working topology: replication over mTLS, the lease held, the Traffic Manager routing to the
// primary. So the units' flags are not only names the daemons know but values they accept.
TEST(Systemd, UnitsCommandLinesStartAWorkingTopology) {
  const fs::path dir =
      fs::temp_directory_path() / ("drsim-units-run-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  CommandResult certs = run((kBin / "drsim").string() + " certs make --out " +
                            (dir / "tls").string() + " --names primary,secondary,trafficmgr 2>&1");
  ASSERT_EQ(certs.status, 0) << certs.out;
  std::map<std::string, int> grpc, http;
  for (const char* id : {"primary", "secondary", "trafficmgr"}) {
    grpc[id] = free_port();
    http[id] = free_port();
    ASSERT_GT(grpc[id], 0);
    ASSERT_GT(http[id], 0);
  }
  auto at = [](int port) { return "127.0.0.1:" + std::to_string(port); };
  // Each example variable that is an address -> the loopback address of the same role.
  const std::map<std::string, std::map<std::string, std::string>> addresses = {
      {"primary",
       {{"DRSIM_LISTEN", at(grpc["primary"])},
        {"DRSIM_PEER", at(grpc["secondary"])},
        {"DRSIM_WITNESS", at(grpc["trafficmgr"])},
        {"DRSIM_HTTP_LISTEN", at(http["primary"])}}},
      {"secondary",
       {{"DRSIM_LISTEN", at(grpc["secondary"])},
        {"DRSIM_PEER", at(grpc["primary"])},
        {"DRSIM_WITNESS", at(grpc["trafficmgr"])},
        {"DRSIM_HTTP_LISTEN", at(http["secondary"])}}},
      {"trafficmgr",
       {{"DRSIM_LISTEN", at(grpc["trafficmgr"])},
        {"DRSIM_PRIMARY_ENDPOINT", at(grpc["primary"])},
        {"DRSIM_SECONDARY_ENDPOINT", at(grpc["secondary"])},
        {"DRSIM_DASHBOARD_LISTEN", at(http["trafficmgr"])}}},
  };
  Daemons daemons;
  for (const char* id : {"secondary", "primary", "trafficmgr"}) {
    SCOPED_TRACE(id);
    auto env = read_env_file(kSource / "deploy/systemd" / (std::string(id) + ".env"));
    for (const auto& [key, value] : addresses.at(id)) {
      ASSERT_TRUE(env.count(key)) << key << " is not in " << id << ".env";
      env[key] = value;
    }
    for (const auto& [key, value] : env) {
      EXPECT_TRUE(addresses.at(id).count(key) || port_of(value) < 0)
          << key << "=" << value << " looks like an address this test does not move to loopback";
    }
    const fs::path creds = dir / ("creds-" + std::string(id));
    fs::create_directories(creds);
    for (const std::string& f :
         std::vector<std::string>{"ca.crt", std::string(id) + ".crt", std::string(id) + ".key"}) {
      fs::copy_file(dir / "tls" / f, creds / f);
      fs::permissions(creds / f, fs::perms::owner_read);
    }
    env["STATE_DIRECTORY"] = (dir / ("state-" + std::string(id))).string();
    env["CREDENTIALS_DIRECTORY"] = creds.string();
    fs::create_directories(env["STATE_DIRECTORY"]);
    const std::string unit = "drsim-" + std::string(id);
    Unit u = parse_unit(kSource / "deploy/systemd" / (unit + ".service"));
    std::vector<std::string> argv;
    for (std::string word : split_words(u.service["ExecStart"].back())) {
      std::smatch m;
      std::regex var(R"(\$\{([A-Z0-9_]+)\})");
      while (std::regex_search(word, m, var))
        word = m.prefix().str() + env[m[1]] + m.suffix().str();
      argv.push_back(word);
    }
    argv[0] = (kBin / unit).string();
    ASSERT_GT(daemons.start(argv, dir / (std::string(id) + ".log")), 0);
  }
  // Bounded: 60 s on a loaded machine; each check says what it last saw.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string primary_health, secondary_health, state;
  bool ok = false;
  while (!ok && std::chrono::steady_clock::now() < deadline) {
    const fs::path ca = dir / "tls" / "ca.crt";
    primary_health = https_get(http["primary"], "/health", ca, "primary");
    secondary_health = https_get(http["secondary"], "/health", ca, "secondary");
    state = https_get(http["trafficmgr"], "/api/state", ca, "trafficmgr");
    const std::string metrics = https_get(http["primary"], "/metrics", ca, "primary");
    ok = primary_health.starts_with("HTTP/1.1 200") &&
         secondary_health.starts_with("HTTP/1.1 503") &&
         metrics.find("drsim_region_replication_connected{region=\"primary\"} 1") !=
             std::string::npos &&
         std::regex_search(state, std::regex(R"re("name":"primary"[^}]*"routed":true)re"));
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(ok) << "after 60 s:\nprimary /health: " << primary_health
                  << "\nsecondary /health: " << secondary_health
                  << "\ntrafficmgr /api/state: " << state << "\nprimary log:\n"
                  << read_file(dir / "primary.log");
  // The liveness probe of deploy/k8s's primary, as the kubelet runs it (bash -c), with the
  // pod's certificate directory and HTTP port replaced by this run's.
  YAML::Node statefulset = YAML::LoadFile((kK8s / "base/primary/statefulset.yaml").string());
  std::string liveness = statefulset["spec"]["template"]["spec"]["containers"][0]
                                    ["livenessProbe"]["exec"]["command"][2]
                                        .as<std::string>();
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{
           {"/run/drsim/tls/", (dir / "tls").string() + "/"},
           {"127.0.0.1:9090", "127.0.0.1:" + std::to_string(http["primary"])}}) {
    auto found = liveness.find(from);
    ASSERT_NE(found, std::string::npos) << from << " not in " << liveness;
    liveness.replace(found, from.size(), to);
  }
  const fs::path probe_script = dir / "liveness.sh";
  std::ofstream(probe_script) << liveness;
  CommandResult probe = run("bash " + probe_script.string());
  EXPECT_EQ(probe.status, 0) << liveness;
  daemons.stop();
  fs::remove_all(dir);
}

}  // namespace
