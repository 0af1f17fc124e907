#include "common/net/rpc_authorizer.h"

#include <spdlog/spdlog.h>

#include "common/net/grpc_util.h"

namespace drsim::net {

std::string caller_identity(const grpc::AuthContext& auth) {
  auto names = auth.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  return names.empty() ? "" : std::string(names.front().data(), names.front().size());
}

std::string caller_identity(const grpc::ServerContextBase& ctx) {
  auto auth = ctx.auth_context();
  return auth ? caller_identity(*auth) : "";
}

Status check_caller_claim(const grpc::ServerContextBase& ctx, std::string_view field,
                          std::string_view claimed) {
  Status s = check_claimed_region(field, claimed, caller_identity(ctx));
  if (!s.is_ok()) spdlog::warn("refused: {}", s.message());
  return s;
}

grpc::Status RpcAuthorizer::Process(const InputMetadata& auth_metadata,
                                    grpc::AuthContext* context, OutputMetadata*,
                                    OutputMetadata*) {
  auto path = auth_metadata.find(":path");
  std::string method =
      path == auth_metadata.end() ? "" : std::string(path->second.data(), path->second.size());
  std::string caller = context ? caller_identity(*context) : "";
  Status s = check_rpc_access(method, caller, context_);
  if (!s.is_ok()) spdlog::warn("refused: {}", s.message());
  return to_grpc(s);
}

}  // namespace drsim::net
