#include "tests/support/tmpfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

namespace drsim::testing {

namespace fs = std::filesystem;

Unmount::~Unmount() { umount2(dir.c_str(), MNT_DETACH); }

std::unique_ptr<Unmount> mount_tmpfs(const fs::path& dir) {
  if (mount("drsim-test", dir.c_str(), "tmpfs", 0, "size=256m,mode=0700") != 0) {
    ADD_FAILURE() << "mounting a tmpfs on " << dir << " (the test command runs as root): "
                  << std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<Unmount>(dir);
}

std::unique_ptr<Unmount> restart_on_tmpfs(TestTopology& topo, const std::string& region) {
  topo.kill(region);
  const fs::path data = fs::path(topo.home()) / region / "data";
  const fs::path saved = fs::path(topo.home()) / region / "data-before-tmpfs";
  fs::rename(data, saved);
  fs::create_directory(data);
  auto unmount = mount_tmpfs(data);
  if (!unmount) return nullptr;
  fs::copy(saved, data, fs::copy_options::recursive);
  if (Status s = topo.restart(region); !s.is_ok()) {
    ADD_FAILURE() << "restarting " << region << " on its tmpfs: " << s.message();
    return nullptr;
  }
  return unmount;
}

fs::path fill_leaving(const fs::path& dir, uint64_t leave) {
  struct statfs fs_type {};
  if (statfs(dir.c_str(), &fs_type) != 0 || fs_type.f_type != TMPFS_MAGIC) {
    ADD_FAILURE() << dir << " is not on a tmpfs: not filling it";
    return {};
  }
  struct statvfs st {};
  EXPECT_EQ(statvfs(dir.c_str(), &st), 0);
  const uint64_t free_bytes = uint64_t{st.f_bavail} * st.f_frsize;
  if (free_bytes <= leave) return dir / "filler";  // already as full as asked (no filler made)
  const fs::path filler = dir / "filler";
  int fd = ::open(filler.c_str(), O_CREAT | O_WRONLY, 0600);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(posix_fallocate(fd, 0, static_cast<off_t>(free_bytes - leave)), 0);
  ::close(fd);
  return filler;
}

}  // namespace drsim::testing
