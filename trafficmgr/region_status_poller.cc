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
  if (auto split = config::parse_host_port("--region-admin " + spec.name, spec.address,
                                           config::PortZero::kRefused);
      !split.is_ok()) {
    return split.status();
  }
  return spec;
}

// What a call of each kind answers; the finished call's is moved to the loop.
struct RegionStatusPoller::Answer {
  size_t region = 0;
  Ask ask = kStatus;
  v1::GetStatusResponse status;
  v1::ListItemsResponse items;
  v1::ListJobsResponse jobs;
  v1::ListVaultsResponse vaults;
};

// One call in flight: its context, the request of its kind and where the answer goes.
struct RegionStatusPoller::Call {
  grpc::ClientContext context;
  v1::GetStatusRequest status_request;
  v1::ListItemsRequest items_request;
  v1::ListJobsRequest jobs_request;
  v1::ListVaultsRequest vaults_request;
  Answer answer;
};

RegionStatusPoller::RegionStatusPoller(Scheduler& scheduler, const net::Transport& transport,
                                       std::vector<RegionAdminSpec> regions, Duration interval,
                                       Duration timeout, Duration lists_interval)
    : scheduler_(scheduler),
      in_flight_(regions.size(), std::array<bool, kAsks>{}),
      interval_(interval),
      timeout_(timeout),
      lists_interval_(lists_interval),
      alive_(std::make_shared<RegionStatusPoller*>(this)),
      weak_alive_(alive_) {
  DRSIM_CHECK(interval > Duration::zero() && timeout > Duration::zero() &&
              lists_interval > Duration::zero());
  for (auto& spec : regions) {
    // The region named by --region-admin must be the one answering there.
    auto channel = transport.channel(spec.address, spec.name);
    stubs_.push_back(Stubs{v1::RegionAdmin::NewStub(channel), v1::SiteRecovery::NewStub(channel),
                           v1::Backup::NewStub(channel)});
    RegionSnapshot snapshot{std::move(spec), std::nullopt, "not asked yet", 0, 0, {}, {}, {}};
    snapshot.sr_items.error = snapshot.sr_jobs.error = snapshot.vaults.error = "not asked yet";
    snapshots_.push_back(std::move(snapshot));
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
  const bool lists = !lists_asked_ || scheduler_.now() - *lists_asked_ >= lists_interval_;
  if (lists) lists_asked_ = scheduler_.now();
  for (size_t i = 0; i < stubs_.size(); ++i) {
    ask(i, kStatus);
    if (!lists) continue;
    for (Ask a : {kSrItems, kSrJobs, kVaults}) ask(i, a);
  }
  timer_ = scheduler_.schedule_at(scheduler_.now() + interval_, [this] { poll(); });
}

void RegionStatusPoller::ask(size_t region, Ask what) {
  if (in_flight_[region][what]) return;  // a slow region gets one call at a time, not a pile
  in_flight_[region][what] = true;
  auto* call = new Call;
  call->answer.region = region;
  call->answer.ask = what;
  call->context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout_));
  {
    std::lock_guard lock(mu_);
    outstanding_.insert(call);
  }
  auto done = [this, call](grpc::Status status) { on_call_done(call, status); };
  const Stubs& stubs = stubs_[region];
  switch (what) {
    case kStatus:
      stubs.admin->async()->GetStatus(&call->context, &call->status_request, &call->answer.status,
                                      done);
      break;
    case kSrItems:
      stubs.site_recovery->async()->ListItems(&call->context, &call->items_request,
                                              &call->answer.items, done);
      break;
    case kSrJobs:
      stubs.site_recovery->async()->ListJobs(&call->context, &call->jobs_request,
                                             &call->answer.jobs, done);
      break;
    case kVaults:
      stubs.backup->async()->ListVaults(&call->context, &call->vaults_request,
                                        &call->answer.vaults, done);
      break;
    case kAsks:
      DRSIM_CHECK(false);
  }
}

void RegionStatusPoller::on_call_done(Call* call, const grpc::Status& status) {
  scheduler_.post([weak = weak_alive_, answer = std::move(call->answer), status]() mutable {
    if (auto self = weak.lock()) (*self)->on_answer(std::move(answer), status);
  });
  std::lock_guard lock(mu_);
  outstanding_.erase(call);
  delete call;
  if (outstanding_.empty()) idle_.notify_all();
}

void RegionStatusPoller::on_answer(Answer a, const grpc::Status& status) {
  in_flight_[a.region][a.ask] = false;
  RegionSnapshot& snapshot = snapshots_[a.region];
  const std::string error =
      status.ok() ? ""
                  : std::string(status_code_name(static_cast<StatusCode>(status.error_code()))) +
                        ": " + status.error_message();
  auto keep = [&](auto& list, auto&& answer) {
    list.error = error;
    if (status.ok()) list.answer = std::move(answer);
  };
  switch (a.ask) {
    case kStatus:
      if (status.ok()) {
        snapshot.status = std::move(a.status);
        snapshot.error.clear();
        snapshot.answered_unix_nanos = scheduler_.wall_unix_nanos();
      } else {
        ++snapshot.calls_failed;
        snapshot.error = error;
      }
      break;
    case kSrItems:
      keep(snapshot.sr_items, std::move(a.items));
      break;
    case kSrJobs:
      keep(snapshot.sr_jobs, std::move(a.jobs));
      break;
    case kVaults:
      keep(snapshot.vaults, std::move(a.vaults));
      break;
    case kAsks:
      break;
  }
}

}  // namespace drsim::trafficmgr
