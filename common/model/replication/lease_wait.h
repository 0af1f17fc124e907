// A failover's wait for the old active region's lease (RegionNode::wait_out_old_lease): the
// decisions, as values, of a standby about to promote to epoch `next`.
//
// The standby fences its own grant (it stops renewing the old epoch) and asks the lease witness
// to fence too (FenceLease for `next`); the witness answers how long its last grant to the old
// epoch may still be believed. The promotion may begin once both grants are over:
//   - the witness answered: wait until max(own grant's end, now + the witness's remaining time)
//     — the wait is then proven for `next`;
//   - the witness refused because it knows an epoch at least `next` (it restarted and forgot
//     nothing, this standby is behind): learn that epoch and try once more beyond it;
//   - the witness is unreachable: refuse (the old region may still renew there), or, with the
//     operator's --force-without-witness, wait a full lease as the witness would believe it;
//   - the witness refused for any other reason: refuse, saying why.
// When the wait ends, a standby that meanwhile learned an epoch past `next` (another failover)
// is refused: promoting would override it (wait_over).
#pragma once

#include <string>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

// What the standby knows when the witness answers.
struct LeaseWaitFacts {
  std::string region;           // this standby, for messages
  std::string peer;             // the region whose lease is waited out, for messages
  std::string witness_address;  // for messages
  Epoch next;                   // the epoch this wait is for
  Epoch promotion_epoch;        // the epoch a promotion would take now
  Time now;
  Time own_until;          // when this region's own last grant to the old epoch is over
  Duration full_lease;     // LeaseTimes::grantor_belief(): a grant believed this long at most
  bool retry_allowed = true;       // a refusal for a newer epoch may be retried once
  bool force_without_witness = false;  // the operator's --force-without-witness
};

// The witness's answer to FenceLease: the call's status, and when OK its reply.
struct WitnessFenceAnswer {
  Status call;               // OK, or why the call failed (UNAVAILABLE, DEADLINE_EXCEEDED, ...)
  bool refused = false;      // the witness knows an epoch >= next
  Epoch highest;             // the pair's highest epoch it has seen (refused)
  std::string reason;        // why it refused
  Duration remaining{};      // how long its last grant to the old epoch may still be believed
};

struct LeaseWaitStep {
  enum class Kind {
    kWaitUntil,    // wait until `until`, then wait_over
    kRetryBeyond,  // learn `highest` (a standby only records it) and start the wait again
    kRefuse,       // answer `refusal`; nothing is promoted, the fences are lifted
  };
  Kind kind = Kind::kRefuse;
  Time until{};
  bool proven = false;           // kWaitUntil: the witness fenced below `next`
  bool without_witness = false;  // kWaitUntil: the operator's override, the witness unreachable
  Epoch highest;
  Status refusal;
};

LeaseWaitStep after_witness(const LeaseWaitFacts& facts, const WitnessFenceAnswer& answer);

// When the wait is over: OK, or ABORTED naming `learned` (the newest epoch it knows) when the
// region is still a standby whose promotion would now take another epoch than `next`: it learned
// a newer one meanwhile — another failover is under way or done, and this one would override it.
Status wait_over(const std::string& region, Epoch next, bool standby, Epoch promotion_epoch_now,
                 Epoch learned);

}  // namespace drsim::model
