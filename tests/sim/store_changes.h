// The replicated change the store tests apply: workload "w", key kSEQ, value vSEQ, epoch 1.
#pragma once

#include <cstdint>
#include <string>

#include "drsim/v1/replication.pb.h"

namespace drsim::sim {

inline drsim::v1::Change store_change(uint64_t seq) {
  drsim::v1::Change c;
  c.set_workload("w");
  c.set_key("k" + std::to_string(seq));
  c.set_value("v" + std::to_string(seq));
  c.set_seq(seq);
  c.set_epoch(1);
  return c;
}

}  // namespace drsim::sim
