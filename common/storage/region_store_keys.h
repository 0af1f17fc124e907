// The RegionStore's key layout, shared by its parts (region_store*.cc); not for use elsewhere.
#pragma once

#include <cstdint>
#include <string>

#include "common/storage/region_store.h"
#include "common/storage/rocks_codec.h"

namespace drsim::storage::region_store_keys {

// Key layout (one keyspace, prefixes; workload names never contain '\0'):
//   m                      region meta
//   c\0<workload>          cursor: seq(8) epoch(8), big-endian
//   d\0<workload>\0<key>   data
//   l\0<workload>\0<seq8>  replication log entry (serialized Change)
//   sr\0<name>             Site Recovery vault record (a protected item's spec)
//   u\0<workload>          seq(8): entries after it may be a branch of this region's own
//                          (RegionStore::mark_unverified)
inline constexpr char kMetaKey[] = "m";

inline std::string cursor_key(const std::string& w) { return std::string("c\0", 2) + w; }
// Present while a full copy into this workload is incomplete.
inline std::string copy_mark_key(const std::string& w) { return std::string("f\0", 2) + w; }
inline std::string unverified_key(const std::string& w) { return std::string("u\0", 2) + w; }
inline std::string data_end(const std::string& w) { return std::string("d\0", 2) + w + '\x01'; }
inline std::string log_prefix(const std::string& w) { return std::string("l\0", 2) + w + '\0'; }
inline std::string cursor_value(const WorkloadCursor& c) {
  std::string v;
  put_u64(v, c.seq.value());
  put_u64(v, c.epoch.value());
  return v;
}
inline std::string data_prefix(const std::string& w) { return std::string("d\0", 2) + w + '\0'; }
inline std::string data_key(const std::string& w, const std::string& k) { return data_prefix(w) + k; }
inline std::string log_key(const std::string& w, uint64_t seq) {
  std::string k = std::string("l\0", 2) + w + '\0';
  put_u64(k, seq);
  return k;
}
// Site Recovery vault records (RegionStore::put_record).
inline std::string record_key(const std::string& name) { return std::string("sr\0", 3) + name; }

}  // namespace drsim::storage::region_store_keys
