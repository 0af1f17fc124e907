#include "common/runtime/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace drsim::runtime {

namespace {
Status failed(const std::string& what, const std::string& path) {
  return failed_precondition("cannot " + what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

Status replace_file_durably(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return failed("create", tmp);
  ::fchmod(fd, mode);  // whatever the umask
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = failed("write", tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = failed("write", tmp);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return failed("write", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return failed_precondition("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  // The rename is durable once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return failed("open directory", dir);
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return failed("sync directory", dir);
  return Status::ok();
}

}  // namespace drsim::runtime
