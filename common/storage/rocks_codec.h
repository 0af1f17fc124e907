// Shared by the RocksDB stores of a region (RegionStore, BackupStore): big-endian integers in
// keys (so keys sort by number) and RocksDB status as a drsim Status.
#pragma once

#include <rocksdb/iterator.h>
#include <rocksdb/status.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/core/status.h"

namespace drsim::storage {

inline void put_u64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Corruption is DATA_LOSS; anything else INTERNAL, naming what was being done.
inline Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status(StatusCode::kDataLoss, what + ": " + s.ToString());
  if (s.IsNoSpace()) {
    return Status(StatusCode::kResourceExhausted, "disk full: " + what + ": " + s.ToString());
  }
  return internal_error(what + ": " + s.ToString());
}

// Reads a page of at most `limit` keys under `prefix` from `prefix + start_key` into `items`
// (keys without the prefix), and no further once the page holds `max_bytes` of keys and values
// (it always holds one key); `next_key` is where the next page starts, empty when done.
inline Status read_prefix_page(rocksdb::Iterator& it, const std::string& prefix,
                               const std::string& start_key, size_t limit,
                               std::vector<std::pair<std::string, std::string>>* items,
                               std::string* next_key, const std::string& what,
                               size_t max_bytes = SIZE_MAX) {
  size_t bytes = 0;
  for (it.Seek(prefix + start_key); it.Valid() && it.key().starts_with(prefix); it.Next()) {
    std::string key = it.key().ToString().substr(prefix.size());
    if (items->size() == limit || (!items->empty() && bytes >= max_bytes)) {
      *next_key = std::move(key);
      break;
    }
    bytes += key.size() + it.value().size();
    items->emplace_back(std::move(key), it.value().ToString());
  }
  return from_rocks(it.status(), what);
}

}  // namespace drsim::storage
