// The gRPC edge of "who may call what": every call a daemon serves over mTLS is judged here,
// before any handler runs, from the caller's certificate (its CN, which gRPC verified against the
// topology's CA) and the table of common/core/rpc_access.h. A refused call ends with
// PERMISSION_DENIED naming the RPC, the caller and who is allowed.
#pragma once

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/server_context.h>

#include "common/core/rpc_access.h"

namespace drsim::net {

// The identity of the caller of a call: the CN of its client certificate ("" when it has none,
// e.g. over plain TCP).
std::string caller_identity(const grpc::AuthContext& auth);
// The same for a call being served.
std::string caller_identity(const grpc::ServerContextBase& ctx);
// check_claimed_region (common/core/rpc_access.h) for the caller of `ctx`: a request body that
// names its sender's region must name the caller's certificate.
Status check_caller_claim(const grpc::ServerContextBase& ctx, std::string_view field,
                          std::string_view claimed);

class RpcAuthorizer final : public grpc::AuthMetadataProcessor {
 public:
  explicit RpcAuthorizer(RpcAccessContext context) : context_(std::move(context)) {}
  // A table lookup: runs on gRPC's thread, no need for its blocking pool.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  const RpcAccessContext context_;
};

}  // namespace drsim::net
