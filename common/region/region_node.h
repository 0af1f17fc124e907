// RegionNode: the driver of one region daemon. Lives on the process's single
// io_context thread and owns the region's models (RegionRole, one
// ReplicationSource and ReplicationSink per workload), its RegionStore and the
// replication streams. gRPC handlers post work to it; it answers through
// completion callbacks run on the loop.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/model/region_role.h"
#include "common/model/replication_sink.h"
#include "common/model/replication_source.h"
#include "common/net/asio_scheduler.h"
#include "common/net/health_service.h"
#include "common/region/region_options.h"
#include "common/storage/region_store.h"
#include "drsim/v1/admin.pb.h"
#include "drsim/v1/replication.grpc.pb.h"
#include "drsim/v1/workload.pb.h"

namespace drsim::region {

class SinkStream;
class SourceStream;

// How a refused or failed client write ended, for the client's history: a
// write refused before it was applied is a definite failure; one that was
// applied locally but not confirmed by the standby is indeterminate.
enum class Applied { kNo, kUnknown };

struct WriteOutcome {
  Status status;
  Applied applied = Applied::kNo;
  std::vector<drsim::v1::WriteResult> results;
};

class RegionNode {
 public:
  using WriteDone = std::function<void(WriteOutcome)>;

  RegionNode(RegionOptions options, boost::asio::io_context& io, storage::RegionStore& store,
             net::HealthService& health);
  ~RegionNode();

  // Loads durable state and starts replication. Call on the loop.
  Status start(const std::string& bound_address);
  void stop();

  // Client API (loop thread).
  void write(std::vector<drsim::v1::WriteOp> ops, WriteDone done);
  Status get(const drsim::v1::GetRequest& req, drsim::v1::GetResponse* resp);
  Status scan(const drsim::v1::ScanRequest& req, drsim::v1::ScanResponse* resp);

  // Admin API (loop thread).
  void status(bool reset_lag_stats, drsim::v1::GetStatusResponse* out);
  Result<drsim::v1::FailoverResponse> failover(const std::string& reason);
  void set_outage(bool outage);
  void set_peer(const std::string& address);

  // Replication sink (server streams), called by SinkStream on the loop.
  void on_sink_frame(SinkStream* stream, const drsim::v1::ReplicationFrame& frame);
  void on_sink_closed(SinkStream* stream);
  // Replication source (client stream), called by SourceStream on the loop.
  void on_source_reply(SourceStream* stream, const drsim::v1::ReplicationReply& reply);
  void on_source_write_done(SourceStream* stream);
  void on_source_closed(SourceStream* stream, const Status& status);

  boost::asio::io_context& io() { return io_; }
  bool in_outage() const { return outage_; }
  const RegionOptions& options() const { return options_; }

 private:
  struct PendingWrite {
    WriteDone done;
    int remaining = 0;  // sync workloads still waiting for the standby's ack
    Time started;
    bool finished = false;
    std::vector<drsim::v1::WriteResult> results;
  };
  struct SyncWaiter {
    Seq seq;
    std::shared_ptr<PendingWrite> write;
  };
  struct Workload {
    WorkloadSpec spec;
    model::ReplicationSource source;
    model::ReplicationSink sink;
    Epoch last_epoch{0};
    // Unacknowledged changes kept in memory for sending (front = recent_first).
    std::deque<drsim::v1::Change> recent;
    Seq recent_first{1};
    std::deque<SyncWaiter> waiters;
  };
  struct QueuedOp {
    drsim::v1::WriteOp op;
    Workload* workload;
    std::shared_ptr<PendingWrite> write;
  };

  Workload* find(const std::string& name);
  Status validate_op(const drsim::v1::WriteOp& op, Workload** w);
  void flush_writes();
  void finish(const std::shared_ptr<PendingWrite>& w, WriteOutcome outcome);
  void fail_waiters(const Status& why, Applied applied);
  void check_sync_timeouts();
  bool replicating() const;
  void update_health();
  void persist_meta();
  void on_role_change(const model::RoleChanged& change);

  // Source side.
  void maybe_connect();
  void schedule_reconnect();
  void pump();
  Status collect(Workload& w, model::SeqRange range, drsim::v1::ChangeBatch* batch);
  void drop_link(const std::string& why);
  // The standby made everything up to w.source.acked() durable: drop those
  // changes from the send cache and release the sync writes waiting on them.
  void on_standby_durable(Workload& w);

  // Sink side.
  void sink_hello(SinkStream* stream, const drsim::v1::Hello& hello);
  void sink_batch(SinkStream* stream, const drsim::v1::ChangeBatch& batch);
  void sink_reject(SinkStream* stream, const Status& why);
  drsim::v1::Welcome welcome() const;

  RegionOptions options_;
  boost::asio::io_context& io_;
  net::AsioScheduler scheduler_;
  storage::RegionStore& store_;
  net::HealthService& health_;
  std::unique_ptr<model::RegionRole> role_;
  bool protected_ = true;
  bool outage_ = false;
  bool stopped_ = false;
  std::string address_;
  std::map<std::string, std::unique_ptr<Workload>> workloads_;
  std::vector<Workload*> order_;

  std::vector<QueuedOp> queued_;
  bool flush_posted_ = false;

  std::unique_ptr<drsim::v1::Replication::Stub> peer_stub_;
  SourceStream* link_ = nullptr;
  bool link_welcomed_ = false;
  bool reconnect_scheduled_ = false;
  std::string link_error_;
  uint64_t refusals_ = 0;
  uint64_t connects_ = 0;
  std::string diverged_;
  size_t pump_cursor_ = 0;

  SinkStream* sink_ = nullptr;
  std::string sink_source_;
};

}  // namespace drsim::region
