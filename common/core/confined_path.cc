#include "common/core/confined_path.h"

namespace drsim {

namespace fs = std::filesystem;

Result<fs::path> confined_path(const fs::path& base, std::string_view relative,
                               std::string_view field) {
  const std::string f(field);
  if (base.empty()) return invalid_argument(f + ": no base directory to confine it to");
  fs::path rel(relative);
  if (relative.empty() || rel.is_absolute() || rel.has_root_name()) {
    return invalid_argument(f + ": '" + std::string(relative) +
                            "' must be a relative path inside " + base.string());
  }
  fs::path root = base.lexically_normal();
  // "a/b/" ends in an empty element that lexically_relative would count.
  if (!root.has_filename() && root.has_relative_path()) root = root.parent_path();
  fs::path joined = (root / rel).lexically_normal();
  fs::path inside = joined.lexically_relative(root);
  if (inside.empty() || inside == "." || *inside.begin() == "..") {
    return invalid_argument(f + ": '" + std::string(relative) + "' leaves " + root.string() +
                            " (it resolves to " + joined.string() + ")");
  }
  return joined;
}

}  // namespace drsim
