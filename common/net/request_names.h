// The RPC edge's name check for requests with many name fields (Backup): every non-empty string
// field called like a resource (vault, policy, vm, disk, snapshot, image, item, plan, ...), at any
// depth, must pass drsim::validate_name. Empty fields are left to the handler (some are optional).
#pragma once

#include <google/protobuf/message.h>

#include "common/core/status.h"

namespace drsim::net {

// INVALID_ARGUMENT naming the field path ("ops[2].protect.vm: '../x' may use only ...").
Status validate_request_names(const google::protobuf::Message& request);

}  // namespace drsim::net
