// What the paired region keeps of a source region's geo-redundant copy (Backup.GeoPutBlob), as a
// model decision. The source ships one recovery point at a time: the point's data (its blob, in
// chunks), then the vault op that names it, and only then the next point's blob; a failed
// shipment starts again from the blob's first chunk. So at any moment the paired region holds at
// most ONE blob of a source that no applied op names: the one being filled. A chunk for another
// unnamed blob means the source moved on and the earlier blob will never be named (a point
// deleted at the source before it shipped, or a caller sending data no point will name): its
// data is dropped. Data an applied op names is a recovery point and does not change.
//
// Without this, a holder of the paired region's certificate could fill this region's disk with
// blobs no point ever names (docs/security.md, "Limits").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace drsim::model {

struct GeoChunkDecision {
  enum class Kind {
    kStore,        // store the chunk
    kRefuseNamed,  // a recovery point names this blob: its data does not change
  };
  Kind kind = Kind::kStore;
  // The blob the source left unnamed (kStore only): delete its data before storing the chunk.
  std::optional<uint64_t> drop_blob;
};

// One per source region, on the paired region's loop.
class GeoCopyIntake {
 public:
  // `named(id)`: whether an applied op of this source names blob `id`.
  using NamedFn = std::function<bool(uint64_t blob)>;

  GeoChunkDecision on_chunk(uint64_t blob, const NamedFn& named);

  // The blob being filled, if any (for status and tests).
  std::optional<uint64_t> filling() const { return filling_; }

 private:
  std::optional<uint64_t> filling_;
};

// At start, which of a source's stored blobs no applied op names: a restart forgets the blob
// being filled, and the source ships it again from its first chunk, so each of them can go.
std::vector<uint64_t> unnamed_geo_blobs(const std::vector<uint64_t>& stored,
                                        const GeoCopyIntake::NamedFn& named);

}  // namespace drsim::model
