// RegionNode: the driver of one region daemon. Lives on the process's single
// loop thread and owns the region's models (RegionRole, one
// ReplicationSource and ReplicationSink per workload), its RegionStore and the
// replication streams. It reaches its peer and the lease witness only through the injected
// RegionLinks (gRPC in the daemon, in-memory in tests/sim) and its timers only through the
// injected Scheduler. gRPC handlers post work to it; it answers through
// completion callbacks run on the loop.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/core/scheduler.h"
#include "common/model/replication/batch_admission.h"
#include "common/model/replication/handover.h"
#include "common/model/replication/lease.h"
#include "common/model/replication/lease_wait.h"
#include "common/model/replication/region_protection.h"
#include "common/model/replication/region_role.h"
#include "common/model/replication/resync_plan.h"
#include "common/model/replication/resync_progress.h"
#include "common/model/replication/send_queue.h"
#include "common/model/replication/sink.h"
#include "common/model/replication/source.h"
#include "common/model/replication/sync_acks.h"
#include "common/net/health_service.h"
#include "common/net/loop_gate.h"
#include "common/net/transport.h"
#include "common/region/region_links.h"
#include "common/region/region_options.h"
#include "common/storage/region_store.h"
#include "drsim/v1/admin.pb.h"
#include "drsim/v1/replication.pb.h"
#include "drsim/v1/trafficmgr.pb.h"
#include "drsim/v1/workload.pb.h"

namespace drsim::region {

// How a refused or failed client write ended, for the client's history: a
// write refused before it was applied is a definite failure; one that was
// applied locally but not confirmed by the standby is indeterminate.
enum class Applied { kNo, kUnknown };

struct WriteOutcome {
  Status status;
  Applied applied = Applied::kNo;
  std::vector<drsim::v1::WriteResult> results;
};

class RegionNode final : public SourceEvents, public SinkEvents {
 public:
  using WriteDone = std::function<void(WriteOutcome)>;
  using ReprotectDone = std::function<void(Result<drsim::v1::ReprotectResponse>)>;
  using PlannedFailoverDone = std::function<void(Result<drsim::v1::PlannedFailoverResponse>)>;

  // `links` reach the peer region and the lease witness; `transport` dials the peer's vaults for
  // the other drivers (peer_channel); `scheduler` and `clock` are the process's (built in main,
  // shared with the other drivers); `io` is the loop the gRPC services post to. The admin RPC
  // SetClockOffset skews `clock`.
  RegionNode(RegionOptions options, RegionLinks links, net::Transport transport,
             boost::asio::io_context& io, Scheduler& scheduler, SkewedClock& clock,
             storage::RegionStore& store, net::HealthService& health);
  ~RegionNode() override;

  // Loads durable state and starts replication. Call on the loop.
  Status start(const std::string& bound_address);
  void stop();

  // Client API (loop thread).
  void write(std::vector<drsim::v1::WriteOp> ops, WriteDone done);
  // Another service's veto on client writes to one workload (Backup: a VM captured into an
  // image is generalized and refuses writes). OK admits the write.
  using WriteGate = std::function<Status(const std::string& workload)>;
  void set_write_gate(WriteGate gate) { write_gate_ = std::move(gate); }
  Status get(const drsim::v1::GetRequest& req, drsim::v1::GetResponse* resp);
  Status scan(const drsim::v1::ScanRequest& req, drsim::v1::ScanResponse* resp);

  // Admin API (loop thread).
  void status(bool reset_lag_stats, drsim::v1::GetStatusResponse* out);
  // GET /metrics: each workload's write-to-standby-ack histogram (the one status() summarizes;
  // a reset_lag_stats status resets it), while this region replicates to a standby as the
  // active region; empty otherwise. Valid until the loop runs again.
  struct WriteToAck {
    const WorkloadSpec* workload;
    const model::LatencyHistogram* lag;
  };
  std::vector<WriteToAck> write_to_ack() const;
  // Unplanned failover on this standby: promotes it, fences the peer (Replication.Fence) and
  // answers once this region serves (promoted_unix_nanos: then), or with the refusal.
  using FailoverDone = std::function<void(Result<drsim::v1::FailoverResponse>)>;
  void failover(const std::string& reason, FailoverDone done);
  // ---- Lease on being active (region_node_lease.cc), loop thread.
  // Whether a promotion may go ahead without the witness's word on the old lease.
  enum class WitnessOverride { kRequireWitness, kForceWithoutWitness };
  using LeaseWaitDone = std::function<void(Result<Duration>)>;
  // Before an unplanned promotion of this standby: stop granting to the old epoch, fence the
  // witness, then wait (a timer, on this region's monotonic clock) until no grant to the old
  // epoch can still be believed. `done` gets the time waited, or why the promotion must not
  // happen (witness unreachable without the override: UNAVAILABLE naming it).
  void wait_out_old_lease(WitnessOverride override_witness, LeaseWaitDone done);
  // The operator's failover: wait_out_old_lease, then failover(reason, done) (which fences
  // the peer and answers once this region serves).
  void failover_after_lease(const std::string& reason, WitnessOverride override_witness,
                            std::function<void(Result<drsim::v1::FailoverResponse>)> done);
  void set_witness(const std::string& address);
  // A promotion that waited out the old lease was then refused: this standby grants again.
  void lift_promotion_fence();
  void set_outage(bool outage);
  void set_peer(const std::string& address);
  // Re-protect (on the active region after a failover): reverse replication toward the peer,
  // delta or full. `done` runs when the resync finished (or, with no_wait, once planned).
  void reprotect(const std::string& reason, bool no_wait, ReprotectDone done);
  // Planned failover (on the standby): the peer drains its writes here, then hands over.
  void planned_failover(const std::string& reason, Duration drain_timeout, bool reprotect,
                        PlannedFailoverDone done);

  // Replication sink (incoming streams), called by the transport on the loop.
  void on_sink_frame(SinkLink* stream, const drsim::v1::ReplicationFrame& frame) override;
  void on_sink_closed(SinkLink* stream) override;
  // Replication source (the outgoing stream), called by the transport on the loop.
  void on_source_reply(SourceLink* stream, const drsim::v1::ReplicationReply& reply) override;
  void on_source_write_done(SourceLink* stream) override;
  void on_source_closed(SourceLink* stream, const Status& status) override;
  // Replication.Fence from the peer (loop thread): it was promoted at req.epoch. Steps down when
  // this region is active at an older epoch; answers this region's role and epoch.
  Result<drsim::v1::FenceReply> on_fence(const drsim::v1::FenceRequest& req);

  // ---- Site Recovery (common/region/site_recovery_driver.h), loop thread.
  // Newest seq per workload: applied (standby) or written (active).
  std::map<std::string, Seq> workload_seqs() const;
  bool is_standby() const;
  // The active region is streaming to this standby right now.
  bool receiving_replication() const { return sink_ != nullptr; }
  // Any workload holding an incomplete full copy (no usable recovery point).
  bool copy_incomplete(const std::string& workload) const;
  storage::RegionStore& store() { return store_; }
  // Unplanned failover to recovery points: rolls each listed workload back to the state its
  // point (a store checkpoint) holds at `seq`, then promotes this standby as failover() does.
  // Nothing changes when a refusal or a read of a point fails.
  struct PointRollback {
    std::string checkpoint_dir;
    Seq seq;
  };
  Result<drsim::v1::FailoverResponse> failover_to_points(
      const std::string& reason, const std::map<std::string, PointRollback>& points);
  // After an unplanned promotion (failover_to_points): `done` gets `promoted` once this region
  // serves (its peer was fenced or did not answer; promoted_unix_nanos: then), or the refusal.
  void when_serving(drsim::v1::FailoverResponse promoted, std::string reason, FailoverDone done);

  // Change recovery point (this region is active after failover_to_points): rolls each listed
  // workload to the state its new point's checkpoint holds (log kept through `keep_log_through`,
  // the seq the current and the new point share), so writes made since the failover are gone
  // and the workload continues after the new point. All read before anything changes.
  struct PointChange {
    std::string checkpoint_dir;
    Seq seq;               // the new point's seq
    Seq keep_log_through;  // min(old point seq, new point seq)
  };
  Status change_to_points(const std::map<std::string, PointChange>& points);
  // Recovery plans: client ops on a held workload are refused UNAVAILABLE with `reason` (its
  // plan group has not failed over yet), until released.
  void hold_workload(const std::string& workload, const std::string& reason);
  void release_workload(const std::string& workload);
  // UNAVAILABLE naming why, when `workload` is held; else OK.
  Status check_held(const std::string& workload) const;

  boost::asio::io_context& io() { return io_; }
  Scheduler& scheduler() { return scheduler_; }
  // The process clock (wall time skewed by `drsim inject clock-skew`).
  const Clock& clock() const { return clock_; }
  // Skews this process's wall clock (SetClockOffset); returns the skew it replaced.
  Duration set_clock_skew(Duration offset) { return clock_.set_offset(offset); }
  // What the replication reactors post through; closed (close_loop_gate) once the loop has
  // stopped for good, so a reactor gRPC finishes later does not post into a freed loop.
  const std::shared_ptr<net::LoopGate>& loop_gate() const { return gate_; }
  void close_loop_gate() { gate_->close(); }
  bool in_outage() const { return outage_; }
  const RegionOptions& options() const { return options_; }
  // A channel to the peer region at `address` (the peer's identity checked with mTLS).
  std::shared_ptr<grpc::Channel> peer_channel(const std::string& address) const {
    return transport_.channel(address, options_.peer_name);
  }

 private:
  WriteGate write_gate_;
  // An unconfirmed active region confirms itself when its peer stays silent this long.
  void arm_confirmation_timeout();
  // Cancels `timer` (Scheduler::cancel) if armed and forgets it.
  void cancel_timer(std::optional<TimerId>& timer);
  struct PendingWrite {
    WriteDone done;
    Time started;
    bool finished = false;
    // Its id in sync_acks_ while it waits for the standby (0: it does not wait).
    model::SyncAckTracker::WriteId sync_id = 0;
    std::vector<drsim::v1::WriteResult> results;
  };
  struct Workload {
    WorkloadSpec spec;
    size_t index = 0;  // in order_ (and send_queue_)
    model::ReplicationSource source;
    model::ReplicationSink sink;
    Epoch last_epoch{0};
    // Unacknowledged changes kept in memory for sending (front = recent_first).
    std::deque<drsim::v1::Change> recent;
    Seq recent_first{1};
    // Re-protect, active side: a full copy being sent from one snapshot.
    struct FullCopy {
      std::unique_ptr<storage::RegionStore::Snapshot> snapshot;
      std::string next_key;
      Seq seq;
      Epoch epoch;
    };
    std::unique_ptr<FullCopy> copy;
    // Re-protect, standby side: a full copy into this region has not finished (durable mark).
    bool copy_incomplete = false;
    // This region wrote after this seq without having heard its standby's cursor (a restart or
    // outage whose confirmation timed out): entries after it may be a branch of its own
    // (RegionStore::mark_unverified). Durable; cleared once a standby's cursor shows nothing
    // was lost, or by a re-protect into this region.
    std::optional<Seq> unverified_after;

    // The cursors replication exchanges for this workload: the newest write it made as a source
    // (hello, handover) and the newest change it applied as a sink (welcome, ack, failover).
    void written_cursor(drsim::v1::WorkloadCursor* out) const {
      out->set_workload(spec.name);
      out->set_seq(source.last_written().value());
      out->set_epoch(last_epoch.value());
    }
    void applied_cursor(drsim::v1::WorkloadCursor* out) const {
      out->set_workload(spec.name);
      out->set_seq(sink.applied().value());
      out->set_epoch(sink.applied_epoch().value());
    }
  };
  struct QueuedOp {
    drsim::v1::WriteOp op;
    Workload* workload;
    std::shared_ptr<PendingWrite> write;
  };

  Workload* find(const std::string& name);
  Status validate_op(const drsim::v1::WriteOp& op, Workload** w);
  // Whether client writes may be admitted now (outage, role, lost writes, lease, hand-over),
  // with the refusal naming why; write() asks at admission and flush_writes() again before the
  // group commit.
  Status admit_client_writes() const;
  // Get and Scan without allow_stale: the active region, confirmed, holding its lease, not
  // behind its standby (the reads a client relies on see every acknowledged write).
  Status admit_client_reads() const;
  // A confirmation by timeout: marks every workload at its newest seq (durably) as where writes
  // made without the standby's word begin. clear_unverified: a welcome showed nothing was lost.
  Status mark_unverified();
  void clear_unverified();
  // The group commit of the writes queued since the last: admitted (role, lease, room),
  // given seqs, made durable in one batch, then acknowledged (async) or left waiting for the
  // standby (sync, while protected).
  void flush_writes();
  // Seqs and changes for `ops` at `epoch` (their keys and values moved out of the ops).
  std::vector<drsim::v1::Change> assign_changes(std::vector<QueuedOp>& ops, Epoch epoch);
  // One durable batch; false when the disk filled meanwhile (the seqs are taken back and the
  // writes refused). Any other store error is a fail-stop.
  bool commit_changes(std::vector<QueuedOp>& ops, const std::vector<drsim::v1::Change>& changes);
  // The committed writes' results, their sync waits and the send cache (changes are moved in).
  void track_committed(std::vector<QueuedOp>& ops, std::vector<drsim::v1::Change>& changes,
                       Epoch epoch);
  static uint64_t bytes_to_store(const std::vector<QueuedOp>& ops);
  // Refuses a group commit's writes (nothing of them durable), then pumps.
  void refuse_writes(const std::vector<QueuedOp>& ops, const Status& why);
  void finish(const std::shared_ptr<PendingWrite>& w, WriteOutcome outcome);
  // Sync writes waiting for the standby (model::SyncAckTracker); each answered once.
  void wait_for_standby(const std::shared_ptr<PendingWrite>& write, size_t workload, Seq seq);
  void answer_sync_writes(const std::vector<model::SyncAckTracker::WriteId>& ids,
                          const WriteOutcome& outcome);
  void fail_waiters(const Status& why, Applied applied);
  // Answers the sync writes past their deadline "outcome unknown", then arms the timer for the
  // next deadline (one timer, at the tracker's next deadline, instead of a polling ticker).
  void check_sync_timeouts();
  void arm_sync_deadline();
  bool replicating() const;
  void update_health();
  void persist_meta();
  void on_role_change(const model::RoleChanged& change);
  model::RegionFacts facts() const;
  model::Protection protection() const;
  Result<drsim::v1::FailoverResponse> promote(const std::string& reason, bool planned,
                                              bool protect);
  // Why this region may not be failed over to now (outage, incomplete copy), else OK.
  Status check_failover() const;
  // The peer is active at `peer_epoch` (its hello or fence): step down when that is newer than
  // ours (a hand-over when this region handed over; fenced otherwise), else record the epoch.
  void on_peer_active(Epoch peer_epoch);
  // Unplanned promotion: tell the peer our epoch. Gating (fence_gates_serving_): confirm (serve)
  // only once it answered that it is the standby, or did not answer within peer_fence_timeout
  // (unreachable). In the background (the lease wait was proven): this region serves already;
  // the fence makes a live old primary step down, and one active at a newer epoch steps this
  // region down.
  void fence_peer();
  void on_fence_reply(uint64_t generation, const Status& status,
                      const drsim::v1::FenceReply& reply);

  // The standby's replies on the outgoing stream (on_source_reply dispatches them).
  void on_source_welcome(const drsim::v1::Welcome& welcome);
  // A welcomed workload's cursor on the standby: where sending resumes, unless the histories
  // diverged or the standby holds writes this region lost (then the link is dropped: false).
  bool accept_standby_cursor(Workload& w, const drsim::v1::WorkloadCursor& cursor);
  // The standby holds writes beyond what this region vouches for (`why`, from
  // model::judge_standby_cursor): refuse writes, fail the waiters, stop replicating.
  void stop_behind_standby(const std::string& why);
  void on_source_ack(const drsim::v1::Ack& ack);
  void on_source_reject(const drsim::v1::Reject& reject);

  // Re-protect, active side.
  void add_resync_offer(drsim::v1::Hello* hello);
  Status on_resync_welcome(const drsim::v1::Welcome& welcome,
                           std::map<std::string, const drsim::v1::ResyncDecision*>* decisions);
  void send_copy_chunk(Workload& w);
  void check_resync_done();
  void end_resync(const Status& why);
  void answer_reprotect(bool only_no_wait);
  void fill_resync_stats(const model::ResyncProgress& p, int64_t started_wall,
                         drsim::v1::ResyncStats* out) const;
  // Re-protect, standby side.
  Status plan_incoming_resync(const drsim::v1::ResyncOffer& offer,
                              std::vector<drsim::v1::ResyncDecision>* decisions);
  // The peer's log summaries, one per workload hosted here, each valid; else INVALID_ARGUMENT
  // naming the entry.
  Result<std::map<std::string, model::LogSummary>> read_resync_offer(
      const drsim::v1::ResyncOffer& offer);
  Result<drsim::v1::ResyncDecision> plan_workload_resync(Workload& w,
                                                         const model::LogSummary& theirs);
  Result<uint64_t> roll_back_for_resync(Workload& w, model::ResyncPlan& plan,
                                        const model::LogSummary& local, Seq applied);
  Result<std::vector<model::KeyRestore>> rollback_restores(Workload& w, Seq common,
                                                           const model::LogSummary& local);
  void sink_snapshot(SinkLink* stream, const drsim::v1::SnapshotChunk& chunk);
  void check_incoming_done();
  // An ack with the durable cursors of `named` (the workloads a frame touched).
  void send_ack(SinkLink* stream, const std::vector<Workload*>& named);

  // Planned failover: source side (this region is active) and target side (standby).
  void on_handover_request(const drsim::v1::HandoverRequest& req);
  void send_handover_abort(const std::string& why);
  void sink_handover(SinkLink* stream, const drsim::v1::Handover& handover);
  // The pending planned failover failed: answer it with `why`.
  void finish_planned(const Status& why);
  // The planned failover promoted this region: answer once it holds its first lease.
  void answer_planned_when_serving(PlannedFailoverDone done,
                                   drsim::v1::PlannedFailoverResponse resp, Time started);

  // Source side.
  void maybe_connect();
  void schedule_reconnect();
  // Sends the next frame when the stream can take one: a pending control or lease frame, the
  // handover once drained, a full copy's chunk, else a batch of unsent changes.
  void pump();
  bool send_pending_control();
  // Planned failover, draining: once every admitted write is durable on the standby, sends the
  // handover and releases the lease. false while writes are still on their way.
  bool hand_over_if_drained();
  // Fills `batch` from the marked workloads within the frame's budget; false when the link was
  // dropped (a range could not be read).
  bool fill_batch(drsim::v1::ChangeBatch& batch);
  // The changes collect() appended from `before` are `range`'s seqs in order (fail-stop if not).
  void check_collected(const Workload& w, const model::SeqRange& range,
                       const drsim::v1::ChangeBatch& batch, int before) const;
  // Appends `range`'s changes to `batch` while the frame, `*frame_bytes` so far, stays within
  // kMaxFrameBytes (model::frame_takes): a range may be cut short; `*frame_bytes` grows.
  Status collect(Workload& w, model::SeqRange range, drsim::v1::ChangeBatch* batch,
                 size_t* frame_bytes);
  void drop_link(const std::string& why);
  // The standby made everything up to w.source.acked() durable: drop those
  // changes from the send cache and release the sync writes waiting on them.
  void on_standby_durable(Workload& w);

  // Lease (region_node_lease.cc).
  void start_lease();
  enum class EpochRetry { kAllowed, kUsed };
  void wait_out_old_lease(WitnessOverride override_witness, EpochRetry retry, LeaseWaitDone done);
  // What the witness's answer means (model::after_witness), acted on: wait, retry beyond the
  // epoch it knows, or refuse (lifting the fences).
  void on_witness_fence(const model::LeaseWaitStep& step, const Status& call,
                        WitnessOverride override_witness, Time started, Epoch next,
                        LeaseWaitDone done);
  void wait_lease_until(Time until, Time started, Epoch next, LeaseWaitDone done);
  // OK while this active region holds a valid lease (or --unsafe-no-lease); else UNAVAILABLE
  // naming why.
  // OK while the lease is valid; else UNAVAILABLE: "region R does not <what> at epoch N: why".
  Status admit_lease(std::string_view what = "acknowledge writes") const;
  // The lease is valid now, or none applies (an isolated copy, RegionOptions::isolated).
  bool lease_held(Time now) const { return options_.isolated || lease_.valid(now); }
  void renew_lease();
  void renew_with_witness();
  void on_lease_granted(uint64_t id, Epoch epoch);
  // A grantor knows a newer epoch: step down.
  void on_lease_refused(Epoch highest, const std::string& from, const std::string& reason);
  // After a lease change: health, and sync writes waiting past expiry.
  void check_lease();
  void reset_lease();
  // Planned failover, active side: the lease ends when this region hands over (renewals go on,
  // so a grantor that knows the promoted peer's epoch answers with it, but no grant makes the
  // lease valid again).
  void release_lease_at_handover();
  // A planned failover that will not happen (refused, its stream lost or superseded): writes
  // resume, and a lease released at the handover is taken again.
  void abort_handover();
  void sink_lease_request(SinkLink* stream, const drsim::v1::LeaseRequest& req);
  std::string lease_grantors() const;
  void fill_lease_status(drsim::v1::GetStatusResponse* out) const;
  // start()'s parts: the durable role, the workloads at their cursors.
  Status load_role();
  Status load_workloads();
  // status()'s parts: the note after the role, the protection, each workload's cursor and lag.
  std::string status_note(const drsim::v1::LeaseStatus& lease) const;
  void fill_protection_status(drsim::v1::GetStatusResponse* out) const;
  void fill_workload_status(bool reset_lag_stats, drsim::v1::GetStatusResponse* out);

  // Sink side.
  void sink_hello(SinkLink* stream, const drsim::v1::Hello& hello);
  void sink_batch(SinkLink* stream, const drsim::v1::ChangeBatch& batch);
  // What admission advances before a batch is durable, put back if it cannot be made so.
  struct SinkBefore {
    Workload* w;
    model::ReplicationSink sink;
    Epoch last_epoch;
  };
  // The batch as model::admit_change_batch sees it; each workload it names into `before`.
  model::BatchAdmission admit_batch(const drsim::v1::ChangeBatch& batch,
                                    std::vector<SinkBefore>& before);
  // A re-protect into this region under way: the applied changes counted per workload.
  void count_incoming(const std::vector<Workload*>& touched,
                      const std::vector<const drsim::v1::Change*>& applied);
  // Rejects a replicated batch of `changes` this region cannot make durable: a NACK for a full
  // disk (RESOURCE_EXHAUSTED), a fail-stop for anything else.
  void refuse_undurable(SinkLink* stream, int changes, const Status& why);
  void sink_reject(SinkLink* stream, const Status& why);
  drsim::v1::Welcome welcome() const;

  RegionOptions options_;
  RegionLinks links_;
  net::Transport transport_;
  boost::asio::io_context& io_;
  std::shared_ptr<net::LoopGate> gate_;
  Scheduler& scheduler_;
  SkewedClock& clock_;
  storage::RegionStore& store_;
  net::HealthService& health_;
  std::unique_ptr<model::RegionRole> role_;
  bool protected_ = true;
  bool outage_ = false;
  bool stopped_ = false;
  std::string address_;
  std::map<std::string, std::unique_ptr<Workload>> workloads_;
  std::map<std::string, std::string> held_;  // workload → why (recovery plan group pending)
  std::vector<Workload*> order_;

  std::vector<QueuedOp> queued_;
  bool flush_posted_ = false;
  // Client changes refused for a full disk: logged the first time, then at most every 5 s.
  uint64_t disk_full_refused_ = 0;
  std::optional<Time> disk_full_logged_;

  SourceLink* link_ = nullptr;
  bool link_welcomed_ = false;
  bool reconnect_scheduled_ = false;
  std::string link_error_;
  uint64_t refusals_ = 0;
  uint64_t connects_ = 0;
  std::string diverged_;
  // Active: the standby holds writes this region lost (RegionFacts::behind_standby). Writes are
  // refused and health says NOT_SERVING until this region steps down.
  std::string behind_standby_;
  // Workloads that may have changes to send; pump() takes from it (never scans order_).
  model::SendQueue send_queue_;
  model::SyncAckTracker sync_acks_{0, Duration{}};
  std::unordered_map<model::SyncAckTracker::WriteId, std::shared_ptr<PendingWrite>> sync_writes_;
  model::SyncAckTracker::WriteId next_sync_id_ = 0;
  std::optional<TimerId> sync_deadline_timer_;
  Time sync_deadline_at_{};

  SinkLink* sink_ = nullptr;
  std::string sink_source_;

  // Re-protect, active side: the running or last resync toward the peer.
  struct ReprotectWaiter {
    ReprotectDone done;
    bool no_wait = false;
  };
  model::ResyncProgress resync_;
  int64_t resync_started_wall_ = 0;
  bool resync_welcomed_ = false;                 // the peer answered the re-protect at least once
  std::optional<TimerId> resync_connect_timer_;  // the latest re-protect's connect timeout
  std::string resync_error_;                     // why the last re-protect failed
  std::vector<ReprotectWaiter> reprotect_waiters_;
  // Re-protect, standby side: the running or last resync into this region.
  model::ResyncProgress incoming_;
  int64_t incoming_started_wall_ = 0;

  // Planned failover, source side.
  model::Handover handover_;
  int64_t handover_paused_wall_ = 0;
  // Planned failover, target side: the pending request.
  struct PlannedWait {
    PlannedFailoverDone done;
    SinkLink* stream = nullptr;
    std::string reason;
    bool reprotect = false;
    Time started;
    uint64_t generation = 0;
  };
  std::optional<PlannedWait> planned_;
  // A control frame (handover abort) to send before anything else on the outgoing stream.
  std::optional<drsim::v1::ReplicationFrame> control_frame_;
  uint64_t planned_generation_ = 0;
  std::optional<TimerId> confirmation_timer_;  // the latest armed confirmation timeout
  uint64_t fence_generation_ = 0;              // the latest fence sent to the peer
  CancelCall fence_call_;                      // in flight, cancelled by stop()
  std::string fence_note_;  // while promoted but not serving: what the fence waits for
  struct FenceWaiter {
    drsim::v1::FailoverResponse response;
    std::string reason;
    FailoverDone done;
  };
  std::vector<FenceWaiter> fence_waiters_;  // failovers answered once the fence is settled
  // Answers the waiting failovers: served (`failed` OK, with `how` appended) or failed.
  void answer_fence_waiters(const Status& failed, const std::string& how);
  // A promoted region's failover answer, once it serves: it holds the first lease of its epoch
  // (or a lease duration passed: then the message says it does not serve yet), still active.
  void answer_once_leased(drsim::v1::FailoverResponse promoted, FailoverDone done);

  // Lease: held while active, granted while standby (to the peer's stream).
  model::LeaseHolder lease_;
  std::optional<model::LeaseGrantor> grantor_;
  bool lease_was_valid_ = false;
  std::optional<drsim::v1::ReplicationFrame> lease_frame_;  // a renewal to send on the stream
  bool witness_call_in_flight_ = false;
  // Whether the last health update said this region serves writes, and whether the witness
  // (the Traffic Manager) still has to hear that it has begun to (RENEWAL_KIND_NOW_SERVING).
  bool serving_ = false;
  bool announce_serving_ = false;
  std::string witness_error_;
  bool lease_wait_running_ = false;  // a promotion is waiting out the old lease
  // The epoch whose promotion waited out the old lease with the witness's answer: the witness
  // and this region's grantor both refused the old epoch, so the old active region can renew
  // nowhere and acknowledges nothing once the wait is over. Such a promotion serves at once and
  // fences the peer in the background (fence_peer), instead of waiting for its answer.
  std::optional<Epoch> lease_proven_epoch_;
  bool fence_gates_serving_ = false;  // the fence in flight holds serving back (else background)
  // Answers held until this region, just promoted by a planned failover, holds its first lease
  // (so "failed over" means "takes writes"), or a lease duration passed; run by check_lease.
  std::vector<std::function<void()>> until_lease_held_;
  void answer_when_lease_held(std::function<void()> answer);
  void run_lease_held_answers();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // gRPC callbacks after stop
};

}  // namespace drsim::region
