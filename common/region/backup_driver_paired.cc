// BackupDriver's clock and schedule (the scaled backup clock, persisted) and the paired region:
// shipping vault operations and blobs to it (geo-redundant vaults) and taking them in.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/region/backup_driver.h"
#include "common/net/grpc_util.h"
#include "common/region/backup_driver_parts.h"

namespace drsim::region {

namespace v1 = drsim::v1;
using namespace backup_driver_parts;

// ---------------------------------------------------------------- clock and schedule

Result<v1::SetBackupClockResponse> BackupDriver::set_clock(const v1::SetBackupClockRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  if (req.time_scale() != 0) {
    if (Status s = clock_->set_scale(req.time_scale()); !s.is_ok()) return s;
  }
  if (req.advance_nanos() != 0) {
    if (Status s = clock_->advance(Duration(req.advance_nanos())); !s.is_ok()) {
      return s;
    }
  }
  spdlog::info("backup: clock at {} (x{})", model::format_drill_time(now()), clock_->scale());
  on_tick();  // what the jump made due happens before the answer
  v1::SetBackupClockResponse resp;
  resp.set_now(model::format_drill_time(now()));
  resp.set_now_nanos(to_nanos(now()));
  resp.set_time_scale(clock_->scale());
  return resp;
}

void BackupDriver::save_clock() {
  if (Status s = store_.put_record(kClockRecord, "now", std::to_string(to_nanos(now())));
      !s.is_ok()) {
    spdlog::warn("backup: cannot save the backup clock: {}", s.message());
  }
}

void BackupDriver::arm() {
  if (stopped_) return;
  if (timer_) scheduler_.cancel(*timer_);
  Time next = kNever;
  for (const auto* v : local_.registry.list(node_.options().name)) {
    next = std::min(next, v->next_deadline());
  }
  Duration wait = clock_->base_delay_until(next);
  wait = std::clamp<Duration>(wait, kMinTimerWait, kMaxTimerWait);
  timer_ = scheduler_.schedule_after(wait, [this] {
    timer_.reset();
    on_tick();
  });
}

void BackupDriver::on_tick() {
  if (stopped_) return;
  if (node_.in_outage()) {  // a region in an outage runs no backups
    arm();
    return;
  }
  std::vector<std::string> vaults;
  for (const auto* v : local_.registry.list(node_.options().name)) vaults.push_back(v->name());
  for (const auto& name : vaults) {
    const Time t = now();
    const model::RecoveryServicesVault* v = local_.registry.find(name);
    for (const auto& vm : v->due_backups(t)) {
      const Time slot = v->item(vm)->next_backup_due();
      auto job = run_backup(name, vm, /*on_demand=*/false, kNever, slot);
      if (!job.is_ok() && !warned_.contains(vm)) {
        warned_.insert(vm);
        spdlog::warn("backup: scheduled backup of {} in vault {} not run: {}", vm, name,
                     job.status().message());
      }
    }
    v = local_.registry.find(name);
    if (v != nullptr && v->next_deadline() <= now()) {
      v1::VaultOp op;
      op.mutable_expire()->set_vault(name);
      if (auto r = commit(std::move(op)); !r.is_ok()) {
        spdlog::warn("backup: expiry in vault {}: {}", name, r.status().message());
      }
    }
  }
  save_clock();
  arm();
}

// ---------------------------------------------------------------- paired region

v1::Backup::Stub* BackupDriver::peer() {
  const std::string& address = node_.options().peer_address;
  if (address.empty()) return nullptr;
  if (address != peer_address_ || !peer_stub_) {
    peer_stub_ = v1::Backup::NewStub(node_.peer_channel(address));
    peer_address_ = address;
    peer_applied_known_ = false;
  }
  return peer_stub_.get();
}

template <typename Request, typename Response, typename Method, typename Then>
void BackupDriver::call_peer(Method method, Request req, Then then) {
  struct Call {
    grpc::ClientContext ctx;
    Request req;
    Response resp;
  };
  auto call = node_.loop_gate()->make_call<Call>("backup shipping");
  call->req = std::move(req);
  net::set_deadline(call->ctx,
                    std::chrono::duration_cast<std::chrono::milliseconds>(kShipDeadline));
  in_flight_ = std::shared_ptr<grpc::ClientContext>(call, &call->ctx);
  shipping_ = true;
  // Through the loop gate: the answer may come after the daemon's loop has gone.
  method(peer()->async(), &call->ctx, &call->req, &call->resp,
         [this, gate = node_.loop_gate(), call, then](grpc::Status s) {
           gate->post([this, call, then, s] {
             if (stopped_) return;
             in_flight_.reset();
             shipping_ = false;
             if (!s.ok()) return ship_failed(net::from_grpc(s));
             if (!ship_error_.empty()) {
               spdlog::info("backup: paired region {} reachable again", node_.options().peer_name);
               ship_error_.clear();
             }
             then(call->resp);
           });
         });
}

void BackupDriver::ship_next() {
  if (shipping_ || stopped_ || retry_scheduled_ || node_.in_outage() || peer() == nullptr) return;
  if (!peer_applied_known_) return ship_op(nullptr);  // asks what the peer has
  if (peer_applied_ >= local_ops_.size()) return;
  auto op = std::make_shared<v1::VaultOp>(local_ops_[peer_applied_]);  // seq peer_applied_ + 1
  if (op->has_backup() && op->backup().geo_copy()) {
    ship_blob(op, "");
  } else {
    ship_op(op);
  }
}

void BackupDriver::ship_blob(std::shared_ptr<v1::VaultOp> op, std::string start_key) {
  auto page = store_.read_blob({"", op->backup().blob()}, start_key, kCopyPageKeys);
  if (!page.is_ok()) return ship_failed(page.status());
  v1::GeoBlobChunk chunk;
  chunk.set_source_region(node_.options().name);
  chunk.set_blob(op->backup().blob());
  for (auto& [k, v] : page->items) {
    auto* item = chunk.add_items();
    item->set_key(std::move(k));
    item->set_value(std::move(v));
  }
  chunk.set_last(page->next_key.empty());
  call_peer<v1::GeoBlobChunk, v1::GeoBlobChunkResponse>(
      [](auto* a, auto... args) { a->GeoPutBlob(args...); }, std::move(chunk),
      [this, op, next = std::move(page->next_key)](const v1::GeoBlobChunkResponse&) {
        if (next.empty()) return ship_op(op);
        ship_blob(op, next);
      });
}

void BackupDriver::ship_op(std::shared_ptr<v1::VaultOp> op) {
  v1::GeoOpsRequest req;
  req.set_source_region(node_.options().name);
  if (op) *req.add_ops() = *op;
  call_peer<v1::GeoOpsRequest, v1::GeoOpsResponse>(
      [](auto* a, auto... args) { a->GeoApplyOps(args...); }, std::move(req),
      [this](const v1::GeoOpsResponse& resp) {
        peer_applied_ = resp.applied_seq();
        peer_applied_known_ = true;
        ship_next();
      });
}

void BackupDriver::ship_failed(const Status& why) {
  if (why.code() == StatusCode::kOutOfRange) peer_applied_known_ = false;
  if (ship_error_ != why.message()) {
    spdlog::warn("backup: paired-region copy to {} waits: {}", node_.options().peer_name,
                 why.message());
    ship_error_ = why.message();
  }
  retry_scheduled_ = true;
  scheduler_.schedule_after(kShipRetry, [this] {
    retry_scheduled_ = false;
    ship_next();
  });
}

std::optional<std::pair<std::pair<std::string, std::string>, uint64_t>>
BackupDriver::point_naming(const VaultSet& set, uint64_t blob) {
  for (const auto& [item, points] : set.points) {
    for (const auto& [id, data] : points) {
      if (data.blob == blob) return std::make_pair(item, id);
    }
  }
  return std::nullopt;
}

const BackupDriver::VaultSet& BackupDriver::paired_copy(const std::string& source) const {
  static const VaultSet kNoCopy;
  auto set = paired_.find(source);
  return set == paired_.end() ? kNoCopy : set->second;
}

Status BackupDriver::drop_unnamed_geo_blobs() {
  auto stored = store_.list_blobs();
  if (!stored.is_ok()) return stored.status();
  std::map<std::string, std::vector<uint64_t>> by_source;
  for (const auto& b : *stored) {
    if (!b.region.empty()) by_source[b.region].push_back(b.id);
  }
  for (const auto& [source, blobs] : by_source) {
    const VaultSet& copy = paired_copy(source);
    auto drop = model::unnamed_geo_blobs(
        blobs, [&](uint64_t b) { return point_naming(copy, b).has_value(); });
    for (uint64_t b : drop) {
      if (Status s = store_.delete_blob({source, b}); !s.is_ok()) return s;
    }
    if (!drop.empty()) {
      spdlog::info("backup: dropped {} blob(s) of {}'s paired copy that no recovery point names",
                   drop.size(), source);
    }
  }
  return Status::ok();
}

Status BackupDriver::geo_put_blob(const v1::GeoBlobChunk& chunk) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  const std::string& src = chunk.source_region();
  if (Status s = check_name("source_region", src); !s.is_ok()) return s;
  if (src == node_.options().name) {
    return invalid_argument("source_region: " + src + " is this region");
  }
  for (int i = 0; i < chunk.items_size(); ++i) {
    if (chunk.items(i).key().empty()) {
      return invalid_argument("items[" + std::to_string(i) + "].key: must not be empty");
    }
  }
  const VaultSet& copy = paired_copy(src);
  const auto decision = geo_intake_[src].on_chunk(
      chunk.blob(), [&](uint64_t b) { return point_naming(copy, b).has_value(); });
  if (decision.kind == model::GeoChunkDecision::Kind::kRefuseNamed) {
    // The source ships a point's data before the op that names it, and never again: data an
    // applied op names is a recovery point, immutable here as in the source's vault.
    const auto named = *point_naming(copy, chunk.blob());
    return failed_precondition(
        "blob: " + std::to_string(chunk.blob()) + " holds recovery point " +
        std::to_string(named.second) + " of " + named.first.second + " in vault " +
        named.first.first + " of " + src +
        "'s paired copy; a recovery point's data does not change");
  }
  if (decision.drop_blob) {
    if (Status s = store_.delete_blob({src, *decision.drop_blob}); !s.is_ok()) return s;
  }
  return store_.put_blob({src, chunk.blob()}, [&] {
    storage::KeyValues items;
    for (const auto& kv : chunk.items()) items.emplace_back(kv.key(), kv.value());
    return items;
  }());
}

Result<v1::GeoOpsResponse> BackupDriver::geo_apply_ops(const v1::GeoOpsRequest& req) {
  if (Status s = check_serving(); !s.is_ok()) return s;
  const std::string& src = req.source_region();
  if (Status s = check_name("source_region", src); !s.is_ok()) return s;
  if (src == node_.options().name) {
    return invalid_argument("source_region: " + src + " is this region");
  }
  VaultSet& set = paired_[src];
  set.region = src;
  for (const auto& op : req.ops()) {
    if (op.seq() <= set.applied_seq) continue;  // a resend
    if (op.seq() != set.applied_seq + 1) {
      return out_of_range("ops: seq " + std::to_string(op.seq()) + " after " +
                          std::to_string(set.applied_seq) + "; resend from " +
                          std::to_string(set.applied_seq + 1));
    }
    if (Status s = store_.append_op(src, op); !s.is_ok()) return s;
    if (auto r = apply(set, op); !r.is_ok()) {
      // The source applied it; the same models must agree. Logged, and the copy moves on.
      spdlog::error("backup: paired copy of {}: op {} refused: {}", src, op.seq(),
                    r.status().message());
    }
    set.applied_seq = op.seq();
  }
  v1::GeoOpsResponse resp;
  resp.set_applied_seq(set.applied_seq);
  return resp;
}

}  // namespace drsim::region
