#include "common/core/names.h"

namespace drsim {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Printable in a message: control bytes and non-ASCII as \xNN, at most 80 bytes shown.
std::string shown(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : name.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '\\' || c == '\'') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  if (name.size() > 80) out += "...";
  return out;
}

}  // namespace

Status validate_name(std::string_view field, std::string_view name) {
  const std::string f(field);
  if (name.empty()) return invalid_argument(f + ": must not be empty");
  if (name.size() > kMaxNameBytes) {
    return invalid_argument(f + ": '" + shown(name) + "' is " + std::to_string(name.size()) +
                            " bytes; a name is at most " + std::to_string(kMaxNameBytes));
  }
  if (name == "." || name == "..") {
    return invalid_argument(f + ": '" + std::string(name) +
                            "' is not a name (it names a directory)");
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      return invalid_argument(f + ": '" + shown(name) +
                              "' may use only letters, digits, '-', '_' and '.'");
    }
  }
  return Status::ok();
}

}  // namespace drsim
