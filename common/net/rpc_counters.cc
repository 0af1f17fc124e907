#include "common/net/rpc_counters.h"

#include "common/core/status.h"

namespace drsim::net {

namespace {

using grpc::experimental::InterceptionHookPoints;

class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(grpc::experimental::ServerRpcInfo* info, RpcCounters* counters)
      : method_(info->method() ? info->method() : "?"), counters_(counters) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      counters_->count(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  RpcCounters* counters_;
};

class CountingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingInterceptorFactory(RpcCounters* counters) : counters_(counters) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(info, counters_);
  }

 private:
  RpcCounters* counters_;
};

}  // namespace

void RpcCounters::count(const std::string& method, int status_code) {
  std::string code = status_code_name(static_cast<StatusCode>(status_code));
  std::lock_guard lock(mu_);
  ++counts_[{method, code}];
}

RpcCounters::Snapshot RpcCounters::snapshot() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
make_rpc_counting_interceptor(RpcCounters* counters) {
  return std::make_unique<CountingInterceptorFactory>(counters);
}

}  // namespace drsim::net
