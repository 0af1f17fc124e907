// Reading validated fields from YAML with errors that name the file, the
// field and the line: shared by topology files, drill files and the Traffic Manager's
// --config file.
#pragma once

#include <cstdint>
#include <fstream>
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

// Parses YAML text; a syntax error is "source:line: invalid YAML: why".
inline Result<YAML::Node> load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " +
                            e.msg);
  }
}

enum class ErrorStyle {
  kFieldFirst,  // "file:field: reason (line N)"   (topology files)
  kLineFirst,   // "file:N: field: reason"          (drill files)
};

class ConfigError {
 public:
  explicit ConfigError(std::string source, std::string prefix = "",
                       ErrorStyle style = ErrorStyle::kFieldFirst)
      : source_(std::move(source)), prefix_(std::move(prefix)), style_(style) {}

  Status at(const std::string& field, const YAML::Node& node, const std::string& reason) const {
    std::string name = prefix_.empty() ? field : field.empty() ? prefix_ : prefix_ + "." + field;
    int line = node && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    if (style_ == ErrorStyle::kLineFirst) {
      return invalid_argument(source_ + ":" + (line ? std::to_string(line) + ":" : "") + " " +
                              (name.empty() ? "" : name + ": ") + reason);
    }
    std::string where = source_ + ":" + name + ": " + reason;
    if (line) where += " (line " + std::to_string(line) + ")";
    return invalid_argument(where);
  }
  // Where a field is, for messages built elsewhere: "file:N: field" or "file:field (line N)".
  std::string locate(const std::string& field, const YAML::Node& node) const {
    std::string name = prefix_.empty() ? field : field.empty() ? prefix_ : prefix_ + "." + field;
    int line = node && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    if (style_ == ErrorStyle::kLineFirst) {
      return source_ + ":" + (line ? std::to_string(line) + ":" : "") + " " + name;
    }
    return source_ + ":" + name + (line ? " (line " + std::to_string(line) + ")" : "");
  }
  ConfigError nested(const std::string& prefix) const {
    return ConfigError(source_, prefix_.empty() ? prefix : prefix_ + "." + prefix, style_);
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::string prefix_;
  ErrorStyle style_;
};

inline Status check_keys(const ConfigError& err, const std::string& field, const YAML::Node& node,
                  const std::set<std::string>& allowed) {
  if (!node.IsMap()) return err.at(field, node, "must be a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
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
  Status s = validate_listen_address(field, node.Scalar());
  if (!s.is_ok()) return err.at(field, node, s.message().substr(field.size() + 2));
  std::string host = node.Scalar().substr(0, node.Scalar().rfind(':'));
  if (host != "127.0.0.1" && host != "localhost") {
    return err.at(field, node, "drsim runs its topology on loopback only (127.0.0.1)");
  }
  *out = node.Scalar();
  return Status::ok();
}


}  // namespace drsim::config
