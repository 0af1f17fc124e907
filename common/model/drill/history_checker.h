// The drill history checker: judges a client history (history.h) against the final state of
// the active region — lost acknowledged writes, recovered indeterminate writes, stale reads —
// and measures RTO, RPO and availability over time for the drill report. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/time.h"
#include "common/model/drill/history.h"

namespace drsim::model {

// ---- Consistency check --------------------------------------------------------------------

inline constexpr size_t kDefaultMaxStaleReadExamples = 100;

struct CheckOptions {
  // Stale reads are all counted; only this many are kept as examples.
  size_t max_stale_read_examples = kDefaultMaxStaleReadExamples;
};

struct OpCounts {
  uint64_t attempted = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t indeterminate = 0;
};

// An acknowledged put or delete the final state contradicts.
struct LostOp {
  uint64_t id = 0;
  OpKind kind = OpKind::kPut;
  std::string workload;
  std::string key;
  std::string value;   // the put's value ("" for a delete)
  std::string region;  // region that acknowledged it
  uint64_t epoch = 0;
  uint64_t seq = 0;
  int64_t complete_ns = 0;
  // What the final state holds for the key instead (nullopt: absent).
  std::optional<std::string> final_value;
};

// An indeterminate put whose value is in the final state: it was applied after all.
struct RecoveredOp {
  uint64_t id = 0;
  std::string workload;
  std::string key;
  std::string value;
};

// An ok get that saw a state older than a write acknowledged before the get was invoked.
struct StaleRead {
  uint64_t read_id = 0;
  std::string workload;
  std::string key;
  std::string region;  // region that answered the read
  bool seen_found = false;
  std::string seen_value;  // when seen_found
  int64_t read_invoke_ns = 0;
  // The newest-invoked acknowledged write that completed before the read was invoked.
  uint64_t newer_write_id = 0;
  OpKind newer_write_kind = OpKind::kPut;
  std::string newer_value;  // "" for a delete
  int64_t newer_write_complete_ns = 0;
};

struct CheckResult {
  OpCounts writes;  // puts and deletes
  OpCounts reads;   // gets
  std::map<std::string, uint64_t> ok_writes_by_region;

  std::vector<LostOp> lost;  // every lost op, in history order
  uint64_t lost_count = 0;

  std::vector<RecoveredOp> recovered;
  uint64_t recovered_count = 0;

  uint64_t stale_read_count = 0;
  std::vector<StaleRead> stale_read_examples;  // the first max_stale_read_examples
  // Ok gets that saw a value no ok or indeterminate put wrote (not judged stale; reported).
  uint64_t unexplained_read_count = 0;

  // No lost write and no stale read.
  bool valid() const { return lost_count == 0 && stale_read_count == 0; }
};

// Rules (Jepsen, with indeterminate ops treated as possibly applied at any time after their
// invocation, so they never cause a false positive):
// - an ok put w is lost when the final value of its key is neither w's value nor the value of
//   another ok/indeterminate put that could have been linearized after w (completed at or
//   after w's invocation); when the key is absent, w is lost unless an ok/indeterminate
//   delete of the key could have been linearized after w.
// - an ok delete d is lost when the key is present and every ok/indeterminate put of that
//   value completed strictly before d was invoked.
// - an ok get r is stale when some ok write w completed before r was invoked and every write
//   that could have produced what r saw (puts of that value; deletes or the initial state for
//   not-found) completed strictly before w was invoked.
// Failed ops are counted but otherwise ignored: they were definitely not applied.
CheckResult check_history(const std::vector<OpRecord>& ops, const FinalState& final_state,
                          const CheckOptions& opts = {});

// ---- RTO ----------------------------------------------------------------------------------

// Timeline of one outage, wall-clock unix nanos; 0 means the step did not happen.
struct OutageMarks {
  int64_t fault_ns = 0;     // outage injected
  int64_t detected_ns = 0;  // Traffic Manager marked the failed region Degraded
  int64_t promoted_ns = 0;  // failover completed (standby promoted)
  int64_t routed_ns = 0;    // Traffic Manager started answering the new region
  std::string new_region;
};

// Which marks were 0 (so the parts that need them are nullopt).
struct MissingMarks {
  bool fault = false;
  bool detected = false;
  bool promoted = false;
  bool routed = false;
  bool any() const { return fault || detected || promoted || routed; }
};

// A window with no acknowledged write.
struct WriteGap {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  Duration length() const { return Duration(end_ns - start_ns); }
};

struct RtoBreakdown {
  // First ok write answered by new_region completing at or after the fault, minus the fault.
  std::optional<Duration> total;
  std::optional<int64_t> first_ack_new_ns;
  uint64_t first_ack_new_id = 0;

  // Parts, each present only when both its ends exist, clamped at zero.
  std::optional<Duration> detection;  // detected − fault
  std::optional<Duration> promotion;  // promoted − detected
  std::optional<Duration> routing;    // routed − promoted
  std::optional<Duration> client;     // first ack by the new region − routed
  // The client part split by cause, following the client call (same run, client and lane) that
  // made the first ack by the new region back to the routing change: time it spent blocked in
  // calls it gave up on at its own deadline or keepalive timeout (a frozen or black-holed
  // server holds a request until the client gives up) is client_deadline; the rest (its cached answer had not expired yet,
  // the round trip itself) is client_ttl. client_deadline + client_ttl == client.
  std::optional<Duration> client_deadline;
  std::optional<Duration> client_ttl;
  MissingMarks missing;
  bool clamped = false;  // some part was negative (marks out of order) and shown as zero

  // Last ok write (any region) completing before the fault.
  std::optional<int64_t> last_ok_write_before_fault_ns;
  // Longest window inside the history's span [first invoke, last completion] with no ok write
  // completing; nullopt for an empty history.
  std::optional<WriteGap> longest_write_gap;
};

RtoBreakdown measure_rto(const std::vector<OpRecord>& ops, const OutageMarks& marks);

// ---- RPO ----------------------------------------------------------------------------------

// Per workload: the last seq the old active region acknowledged and the seq the new region
// recovered to (its RecoveryPoint).
struct WorkloadRecoveryPoint {
  std::string workload;
  uint64_t acked_seq_at_old = 0;
  uint64_t recovered_seq = 0;
};

struct WorkloadRpo {
  std::string workload;
  uint64_t acked_seq_at_old = 0;
  uint64_t recovered_seq = 0;
  uint64_t writes = 0;  // acked_seq_at_old − recovered_seq, 0 when the new region is ahead
  // Newest ok write acked by the old region before the fault minus the newest one the new
  // region has (seq <= recovered_seq); zero when nothing was lost, nullopt when either write
  // is not in the history (e.g. the new region recovered nothing).
  std::optional<Duration> time;
};

struct RpoEstimate {
  std::vector<WorkloadRpo> workloads;  // in input order
  uint64_t total_writes = 0;
  std::optional<Duration> max_time;  // over workloads with a time
};

// old_region: the active region before the fault; fault_ns: 0 when there was none (then every
// ok write counts as "before the fault").
RpoEstimate rpo(const std::vector<OpRecord>& ops, const std::string& old_region, int64_t fault_ns,
                const std::vector<WorkloadRecoveryPoint>& points);

// ---- Clients following routing ------------------------------------------------------------

// How the client population moved to the new region after a fault: each client moves when its
// first ok operation answered by new_region completes after the fault. With a long DNS TTL the
// first client moves early (its cache happened to expire) and the last one a TTL later. Only
// TTL-honouring clients are judged (a client is its run and number); stale clients keep their
// address on purpose and may never move.
struct ClientSwitch {
  uint32_t clients = 0;  // clients that ran an operation after the fault
  uint32_t moved = 0;    // of those, clients that got an ok answer from new_region
  std::optional<Duration> first;  // fault -> first client moved
  std::optional<Duration> last;   // fault -> last client moved (only when all moved)
};
ClientSwitch measure_client_switch(const std::vector<OpRecord>& ops, const std::string& new_region,
                                   int64_t fault_ns);

// ---- Writes acknowledged after fencing -----------------------------------------------------

// A region promoted to `epoch` at promoted_ns (wall clock of the client machine), continuing
// each workload from a seq (what it had replicated, the drained cursor, or the recovery point).
struct Promotion {
  uint64_t epoch = 0;
  int64_t promoted_ns = 0;
  std::map<std::string, uint64_t> continued_from;  // workload -> seq; absent: unknown
  std::string region;  // the region promoted ("" where unknown: not judged by region)
};

// Ok writes acknowledged at an older epoch by a region that had been superseded (and should have
// been fenced) — split brain: writes invoked after a promotion completed, and writes in flight
// across it (a stale client's requests queued at a frozen primary and acknowledged when it
// resumes) whose seq lies past what the promoted region continued from. An in-flight write at
// or below that seq was applied, and acknowledged, before the promotion: the client only heard
// of it a little later. Writes without an epoch are not judged.
struct FencedWrites {
  std::vector<uint64_t> ids;           // in history order
  uint64_t invoked_after_promotion = 0;  // of those, invoked after the promotion completed
  uint64_t in_flight_across = 0;         // of those, invoked before it and acked after it
  size_t count() const { return ids.size(); }
};
FencedWrites writes_acked_after_fencing(const std::vector<OpRecord>& ops,
                                        const std::vector<Promotion>& promotions);

// ---- Planned failover ---------------------------------------------------------------------

// Where a planned failover drained a workload to: the former active region's newest seq, all of
// it applied by the promoted region.
struct DrainedCursor {
  std::string workload;
  uint64_t seq = 0;
};

// Ok writes `from_region` acknowledged at an epoch older than new_epoch with a seq past the
// drained cursor of their workload: what a planned failover gave up (it must be none). Ids in
// history order; a workload without a cursor counts every such write.
std::vector<uint64_t> acked_beyond_drain(const std::vector<OpRecord>& ops,
                                         const std::string& from_region, uint64_t new_epoch,
                                         const std::vector<DrainedCursor>& drained);

// ---- Availability -------------------------------------------------------------------------

struct OutcomeCounts {
  uint64_t ok = 0;
  uint64_t fail = 0;
  uint64_t indeterminate = 0;
};

struct Bucket {
  int64_t start_ns = 0;  // covers [start_ns, start_ns + bucket_ns)
  // By answering region; ops no region answered are under "".
  std::map<std::string, OutcomeCounts> by_region;
  OutcomeCounts total() const;
};

// Every op (reads and writes) counted in the bucket of its completion time. Buckets run from
// start_ns to the last completion, empty ones included; ops completing before start_ns are
// skipped. bucket_ns must be positive (checked).
std::vector<Bucket> availability(const std::vector<OpRecord>& ops, int64_t start_ns,
                                 int64_t bucket_ns);

}  // namespace drsim::model
