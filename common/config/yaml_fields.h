// Reading validated fields from YAML with errors that name the file, the
// field and the line: shared by topology files, drill files and the Traffic Manager's
// --config file.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <yaml-cpp/yaml.h>

#include "common/core/status.h"
#include "common/config/listen_address.h"

namespace drsim::config {

// The whole text of a config or drill file; INVALID_ARGUMENT naming it when
// it cannot be read.
inline Result<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return invalid_argument(path + ": cannot read the " + what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// yaml-cpp keeps both entries of a repeated map key and every lookup silently answers the
// first: "source:N: field: key 'k' appears twice (first at line M)" for the first repeat found
// anywhere under `node`, so a file never means something other than what it says.
inline Status check_unique_keys(const std::string& source, const YAML::Node& node,
                                const std::string& field = "") {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (Status s = check_unique_keys(source, node[i], field + "[" + std::to_string(i) + "]");
          !s.is_ok()) {
        return s;
      }
    }
    return Status::ok();
  }
  if (!node.IsMap()) return Status::ok();
  std::map<std::string, int> first_line;
  for (const auto& kv : node) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    int line = kv.first.Mark().line + 1;
    std::string here = field.empty() ? key : field + "." + key;
    if (auto [it, fresh] = first_line.emplace(key, line); !fresh) {
      return invalid_argument(source + ":" + std::to_string(line) + ": " + here + ": key '" +
                              key + "' appears twice (first at line " +
                              std::to_string(it->second) + "); remove one");
    }
    if (Status s = check_unique_keys(source, kv.second, here); !s.is_ok()) return s;
  }
  return Status::ok();
}

// Parses YAML text; a syntax error is "source:line: invalid YAML: why", a repeated key as
// check_unique_keys says.
inline Result<YAML::Node> load_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " +
                            e.msg);
  }
  if (Status s = check_unique_keys(source, root); !s.is_ok()) return s;
  return root;
}

class ConfigError {
 public:
  // One format for every file drsim reads (topology, drill, Traffic Manager config, prices):
  // "file:N: field: reason", N the line of the offending node (left out when unknown).
  explicit ConfigError(std::string source, std::string prefix = "")
      : source_(std::move(source)), prefix_(std::move(prefix)) {}

  Status at(const std::string& field, const YAML::Node& node, const std::string& reason) const {
    return invalid_argument(locate(field, node) + ": " + reason);
  }
  // Where a field is, for messages built elsewhere: "file:N: field".
  std::string locate(const std::string& field, const YAML::Node& node) const {
    std::string name = prefix_.empty() ? field : field.empty() ? prefix_ : prefix_ + "." + field;
    int line = node && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    std::string out = source_;
    if (line) out += ":" + std::to_string(line);
    if (!name.empty()) out += ": " + name;
    return out;  // "file:N: field", "file: field", "file:N" (the top level), "file"
  }
  ConfigError nested(const std::string& prefix) const {
    return ConfigError(source_, prefix_.empty() ? prefix : prefix_ + "." + prefix);
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::string prefix_;
};

inline Status check_keys(const ConfigError& err, const std::string& field, const YAML::Node& node,
                  const std::set<std::string>& allowed) {
  if (!node.IsMap()) return err.at(field, node, "must be a mapping");
  for (const auto& kv : node) {
    // YAML allows any node as a key ("? [a, b]: 1"); drsim's files have names only. as<string>()
    // of a list or a mapping throws (the price-file fuzz target found it ending the process).
    if (!kv.first.IsScalar()) {
      return err.at(field, kv.first, "a key must be a plain name, not a list or a mapping");
    }
    const std::string& key = kv.first.Scalar();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return err.at(field.empty() ? key : field + "." + key, kv.first,
                    "unknown field (expected one of: " + list + ")");
    }
  }
  return Status::ok();
}

template <typename T>
Status read_uint(const ConfigError& err, const std::string& field, const YAML::Node& node,
                 uint64_t min, uint64_t max, T* out) {
  if (!node) return Status::ok();
  if (!node.IsScalar()) return err.at(field, node, "must be a number");
  const std::string& text = node.Scalar();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return err.at(field, node, "'" + text + "' is not a non-negative whole number");
  }
  if (text.size() > 19) return err.at(field, node, "'" + text + "' is too large");
  uint64_t v = std::stoull(text);
  if (v < min || v > max) {
    return err.at(field, node,
                  std::to_string(v) + " is out of range " + std::to_string(min) + ".." +
                      std::to_string(max));
  }
  *out = static_cast<T>(v);
  return Status::ok();
}

inline Status read_bool(const ConfigError& err, const std::string& field, const YAML::Node& node,
                        bool* out) {
  if (!node) return Status::ok();
  if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
    return err.at(field, node, "must be true or false");
  }
  *out = node.Scalar() == "true";
  return Status::ok();
}

inline Status read_listen(const ConfigError& err, const std::string& field, const YAML::Node& node,
                   std::string* out) {
  if (!node) return Status::ok();
  if (!node.IsScalar()) return err.at(field, node, "must be host:port");
  auto at = parse_host_port(field, node.Scalar());
  if (!at.is_ok()) return err.at(field, node, at.status().message().substr(field.size() + 2));
  if (at->host != "127.0.0.1" && at->host != "localhost") {
    return err.at(field, node, "drsim runs its topology on loopback only (127.0.0.1)");
  }
  *out = node.Scalar();
  return Status::ok();
}


}  // namespace drsim::config
