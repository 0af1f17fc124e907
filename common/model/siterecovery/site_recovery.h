// Azure Site Recovery as drsim models it (issue 4), one pure class per noun; include this to
// get all of them. The drivers (secondary region, CLI, drills) feed these with `now` and act on
// what they return; nothing here does I/O, logs or throws.
//
//   site_recovery_item.h       protected VMs, their disks, and which targets accept them
//   site_recovery_policy.h     retention, app-consistent frequency, RPO threshold
//   recovery_point_schedule.h  recovery points, their 5-minute / hourly cadence, the pruning
//                              ladder
//   recovery_point_log.h       the points one VM or group holds at its target
//   recovery_point_loss.h      writes given up by failing over to a point
//   site_recovery_health.h     Healthy / Warning / Critical / Not applicable
//   site_recovery_lifecycle.h  enable → protect → (test) failover → commit → re-protect →
//                              failback, per VM or multi-VM consistency group
//   site_recovery_vault.h      VMs and consistency groups by name; routes operator steps
//   site_recovery_plan.h       recovery plans and their ordered, parallel execution
//   site_recovery_job.h        jobs and their legal states
#pragma once

#include "common/model/siterecovery/recovery_point_log.h"
#include "common/model/siterecovery/recovery_point_loss.h"
#include "common/model/siterecovery/recovery_point_schedule.h"
#include "common/model/siterecovery/health.h"
#include "common/model/siterecovery/item.h"
#include "common/model/siterecovery/job.h"
#include "common/model/siterecovery/lifecycle.h"
#include "common/model/siterecovery/plan.h"
#include "common/model/siterecovery/policy.h"
#include "common/model/siterecovery/vault.h"
