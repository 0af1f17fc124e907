// Asio opens sockets without SOCK_CLOEXEC (and accepts with accept(), not accept4): a process the
// daemon starts would inherit them and keep a listening port bound after the daemon dies. Every
// socket a drsim daemon opens or accepts goes through this.
#pragma once

#include <fcntl.h>

namespace drsim::net {

// Sets FD_CLOEXEC on a native descriptor; false when fcntl fails.
inline bool set_close_on_exec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

}  // namespace drsim::net
