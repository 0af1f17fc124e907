// model::PriceList <-> drsim.v1.PriceList: the cost report's prices on the wire (the CLI sends
// a --prices file's list; the daemon answers with the list it used).
#pragma once

#include "common/model/backup/cost_meter.h"
#include "drsim/v1/backup.pb.h"

namespace drsim::region {

model::PriceList prices_from_proto(const drsim::v1::PriceList& p);
void prices_to_proto(const model::PriceList& p, drsim::v1::PriceList* out);

}  // namespace drsim::region
