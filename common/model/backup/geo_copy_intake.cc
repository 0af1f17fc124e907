#include "common/model/backup/geo_copy_intake.h"

namespace drsim::model {

GeoChunkDecision GeoCopyIntake::on_chunk(uint64_t blob, const NamedFn& named) {
  GeoChunkDecision d;
  if (named(blob)) {
    d.kind = GeoChunkDecision::Kind::kRefuseNamed;
    return d;
  }
  // The blob being filled may have been named since its last chunk (its op applied): then it
  // is a recovery point and stays.
  if (filling_ && *filling_ != blob && !named(*filling_)) d.drop_blob = *filling_;
  filling_ = blob;
  return d;
}

std::vector<uint64_t> unnamed_geo_blobs(const std::vector<uint64_t>& stored,
                                        const GeoCopyIntake::NamedFn& named) {
  std::vector<uint64_t> out;
  for (uint64_t b : stored) {
    if (!named(b)) out.push_back(b);
  }
  return out;
}

}  // namespace drsim::model
