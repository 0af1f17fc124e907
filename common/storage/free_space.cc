#include "common/storage/free_space.h"

#include <rocksdb/env.h>

namespace drsim::storage {

Status require_free_bytes(rocksdb::Env& env, const std::string& dir, uint64_t needed_bytes,
                          std::string_view needed_for, UnknownRoom unknown) {
  uint64_t free_bytes = 0;
  if (rocksdb::Status s = env.GetFreeSpace(dir, &free_bytes); !s.ok()) {
    if (unknown == UnknownRoom::kAdmit) return Status::ok();
    return unavailable("cannot tell how much room is under " + dir + ": " + s.ToString());
  }
  if (free_bytes >= needed_bytes) return Status::ok();
  return Status(StatusCode::kResourceExhausted,
                "disk full: " + std::to_string(free_bytes) + " bytes free under " + dir +
                    " (at least " + std::to_string(needed_bytes) + " needed " +
                    std::string(needed_for) + ")");
}

Status require_room_to_write(rocksdb::Env& env, const std::string& dir, uint64_t bytes) {
  return require_free_bytes(env, dir, bytes + kStoreReserveBytes,
                            "to write " + std::to_string(bytes) + " bytes and keep a reserve of " +
                                std::to_string(kStoreReserveBytes),
                            UnknownRoom::kAdmit);
}

}  // namespace drsim::storage
