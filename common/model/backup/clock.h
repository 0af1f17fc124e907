// BackupClock: the simulated clock of a region's backups — drsim's ScaledTime
// (common/core/scaled_time.h), the same arithmetic Site Recovery's recovery points run on.
// The backup driver reads it through a ScaledClock over the process Clock.
#pragma once

#include "common/core/scaled_time.h"

namespace drsim::model {

using BackupClock = drsim::ScaledTime;
using drsim::kMaxClockAdvance;
using drsim::kMaxTimeScale;
using drsim::kMinTimeScale;

}  // namespace drsim::model
