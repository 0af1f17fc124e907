#include "trafficmgr/region_status_poller.h"

#include <boost/asio/post.hpp>

#include "common/core/check.h"
#include "common/core/names.h"
#include "common/net/grpc_util.h"
#include "trafficmgr/prober.h"

namespace drsim::trafficmgr {

Result<RegionAdminSpec> parse_region_admin_flag(const std::string& value) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("--region-admin: '" + value + "': " + why);
  };
  auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0) return bad("expected NAME=HOST:PORT");
  RegionAdminSpec spec{value.substr(0, eq), value.substr(eq + 1)};
  if (Status s = validate_name("name", spec.name); !s.is_ok()) return bad(s.message());
  if (auto split = split_host_port(spec.address); !split.is_ok()) {
    return bad(split.status().message());
  }
  return spec;
}

struct RegionStatusPoller::Call {
  size_t region = 0;
  grpc::ClientContext context;
  v1::GetStatusRequest request;
  v1::GetStatusResponse response;
};

RegionStatusPoller::RegionStatusPoller(Scheduler& scheduler, const net::Transport& transport,
                                       std::vector<RegionAdminSpec> regions, Duration interval,
                                       Duration timeout)
    : scheduler_(scheduler),
      in_flight_(regions.size(), false),
      interval_(interval),
      timeout_(timeout),
      alive_(std::make_shared<RegionStatusPoller*>(this)),
      weak_alive_(alive_) {
  DRSIM_CHECK(interval > Duration::zero() && timeout > Duration::zero());
  for (auto& spec : regions) {
    // The region named by --region-admin must be the one answering there.
    stubs_.push_back(v1::RegionAdmin::NewStub(transport.channel(spec.address, spec.name)));
    snapshots_.push_back(RegionSnapshot{std::move(spec), std::nullopt, "not asked yet", 0, 0});
  }
}

RegionStatusPoller::~RegionStatusPoller() {
  stop();
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return outstanding_.empty(); });
}

void RegionStatusPoller::start() {
  running_ = true;
  poll();
}

void RegionStatusPoller::stop() {
  running_ = false;
  alive_.reset();
  if (timer_) scheduler_.cancel(*timer_);
  timer_.reset();
  std::lock_guard lock(mu_);
  for (Call* call : outstanding_) call->context.TryCancel();
}

void RegionStatusPoller::poll() {
  timer_.reset();
  if (!running_) return;
  for (size_t i = 0; i < stubs_.size(); ++i) {
    if (in_flight_[i]) continue;  // a slow region gets one call at a time, not a pile
    in_flight_[i] = true;
    auto* call = new Call;
    call->region = i;
    call->context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout_));
    {
      std::lock_guard lock(mu_);
      outstanding_.insert(call);
    }
    stubs_[i]->async()->GetStatus(
        &call->context, &call->request, &call->response,
        [this, call](grpc::Status status) { on_call_done(call, status); });
  }
  timer_ = scheduler_.schedule_at(scheduler_.now() + interval_, [this] { poll(); });
}

void RegionStatusPoller::on_call_done(Call* call, const grpc::Status& status) {
  scheduler_.post([weak = weak_alive_, region = call->region, status,
                   response = std::move(call->response)]() mutable {
    if (auto self = weak.lock()) (*self)->on_answer(region, status, std::move(response));
  });
  std::lock_guard lock(mu_);
  outstanding_.erase(call);
  delete call;
  if (outstanding_.empty()) idle_.notify_all();
}

void RegionStatusPoller::on_answer(size_t region, const grpc::Status& status,
                                   v1::GetStatusResponse response) {
  in_flight_[region] = false;
  RegionSnapshot& snapshot = snapshots_[region];
  if (status.ok()) {
    snapshot.status = std::move(response);
    snapshot.error.clear();
    snapshot.answered_unix_nanos = scheduler_.wall_unix_nanos();
  } else {
    ++snapshot.calls_failed;
    snapshot.error = std::string(status_code_name(static_cast<StatusCode>(status.error_code()))) +
                     ": " + status.error_message();
  }
}

}  // namespace drsim::trafficmgr
