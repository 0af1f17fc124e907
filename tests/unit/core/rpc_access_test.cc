// The who-may-call-what table (common/core/rpc_access.h): complete for every service drsim
// serves, and the decisions and messages for each kind of caller.
#include "common/core/rpc_access.h"

#include <set>
#include <string>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "drsim/v1/admin.pb.h"
#include "drsim/v1/backup.pb.h"
#include "drsim/v1/faultproxy.pb.h"
#include "drsim/v1/replication.pb.h"
#include "drsim/v1/siterecovery.pb.h"
#include "drsim/v1/trafficmgr.pb.h"
#include "drsim/v1/workload.pb.h"

namespace drsim {
namespace {

const RpcAccessContext kPrimary{"secondary", {"primary", "secondary"}};

TEST(RpcAccess, EveryRpcOfEveryServiceHasExactlyOneRule) {
  std::set<std::string> served;
  // Loads each proto file into the generated pool (it is filled lazily).
  for (const auto* d : {drsim::v1::PutRequest::descriptor(), drsim::v1::GetStatusRequest::descriptor(),
                        drsim::v1::ReplicationFrame::descriptor(),
                        drsim::v1::ProtectItemRequest::descriptor(),
                        drsim::v1::CreateVaultRequest::descriptor(),
                        drsim::v1::AddLinkRequest::descriptor(),
                        drsim::v1::ResolveRequest::descriptor()}) {
    ASSERT_NE(d, nullptr);
  }
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* service : {"drsim.v1.Workload", "drsim.v1.RegionAdmin", "drsim.v1.Replication",
                              "drsim.v1.SiteRecovery", "drsim.v1.Backup", "drsim.v1.FaultProxy",
                              "drsim.v1.TrafficManager"}) {
    const auto* s = pool->FindServiceByName(service);
    ASSERT_NE(s, nullptr) << service;
    for (int i = 0; i < s->method_count(); ++i) {
      std::string path = "/" + s->full_name() + "/" + s->method(i)->name();
      served.insert(path);
      EXPECT_TRUE(rpc_callers(path).has_value()) << path << " has no rule";
    }
  }
  std::set<std::string> ruled;
  for (const RpcRule& rule : rpc_rules()) {
    EXPECT_TRUE(ruled.insert(std::string(rule.method)).second) << rule.method << " twice";
    if (!std::string(rule.method).starts_with("/grpc.health.v1.")) {
      EXPECT_TRUE(served.count(std::string(rule.method))) << rule.method << " is not served";
    }
  }
}

TEST(RpcAccess, MutatingCallsOnlyFromTheOperator) {
  for (const char* method : {"/drsim.v1.RegionAdmin/Failover", "/drsim.v1.SiteRecovery/CreatePlan",
                             "/drsim.v1.Backup/DeleteVault", "/drsim.v1.FaultProxy/SetFault",
                             "/drsim.v1.TrafficManager/SetLatency"}) {
    EXPECT_TRUE(check_rpc_access(method, "operator", kPrimary).is_ok()) << method;
    for (const char* who : {"primary", "secondary", "trafficmgr", "faultproxy", "test-failover"}) {
      Status s = check_rpc_access(method, who, kPrimary);
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << method << " " << who;
      EXPECT_EQ(s.message(), std::string(method) + ": caller '" + who +
                                 "' may not call it (allowed: operator)");
    }
  }
}

TEST(RpcAccess, ReplicationAndHandOverOnlyFromThePeerRegion) {
  EXPECT_TRUE(check_rpc_access("/drsim.v1.Replication/Stream", "secondary", kPrimary).is_ok());
  EXPECT_TRUE(check_rpc_access("/drsim.v1.Backup/GeoPutBlob", "secondary", kPrimary).is_ok());
  EXPECT_TRUE(check_rpc_access("/drsim.v1.SiteRecovery/AdoptItems", "secondary", kPrimary).is_ok());
  for (const char* who : {"operator", "trafficmgr", "primary", "faultproxy"}) {
    Status s = check_rpc_access("/drsim.v1.Replication/Stream", who, kPrimary);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << who;
    EXPECT_EQ(s.message(), std::string("/drsim.v1.Replication/Stream: caller '") + who +
                               "' may not call it (allowed: secondary (the peer region))");
  }
  // Without a configured peer nobody may.
  Status s = check_rpc_access("/drsim.v1.Replication/Fence", "secondary", RpcAccessContext{});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("none configured"), std::string::npos) << s.message();
}

TEST(RpcAccess, LeaseWitnessCallsFromEitherRegionReadsFromAnyone) {
  RpcAccessContext tm{"", {"primary", "secondary"}};
  EXPECT_TRUE(check_rpc_access("/drsim.v1.TrafficManager/RenewLease", "primary", tm).is_ok());
  EXPECT_TRUE(check_rpc_access("/drsim.v1.TrafficManager/FenceLease", "secondary", tm).is_ok());
  EXPECT_EQ(check_rpc_access("/drsim.v1.TrafficManager/RenewLease", "operator", tm).code(),
            StatusCode::kPermissionDenied);
  for (const char* who : {"operator", "primary", "trafficmgr", "faultproxy"}) {
    EXPECT_TRUE(check_rpc_access("/drsim.v1.TrafficManager/Resolve", who, tm).is_ok()) << who;
    EXPECT_TRUE(check_rpc_access("/drsim.v1.Workload/Put", who, kPrimary).is_ok()) << who;
    EXPECT_TRUE(check_rpc_access("/drsim.v1.RegionAdmin/GetStatus", who, kPrimary).is_ok());
  }
  EXPECT_EQ(check_rpc_access("/drsim.v1.Workload/Put", "", kPrimary).code(),
            StatusCode::kPermissionDenied);
  Status s = check_rpc_access("/drsim.v1.Nope/Nothing", "operator", kPrimary);
  EXPECT_EQ(s.message(), "/drsim.v1.Nope/Nothing: not a drsim RPC; nobody may call it");
}

TEST(RpcAccess, ARegionNamedInTheRequestMustBeTheCallersCertificate) {
  EXPECT_TRUE(check_claimed_region("hello.region", "primary", "primary").is_ok());
  Status s = check_claimed_region("hello.region", "primary", "secondary");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "hello.region: claims region 'primary' but the caller's certificate is 'secondary'");
  EXPECT_EQ(check_claimed_region("region", "", "primary").code(), StatusCode::kPermissionDenied);
  // Plain TCP (--insecure): no certificate, nobody identified; the claim stands as it is.
  EXPECT_TRUE(check_claimed_region("region", "secondary", "").is_ok());
}

}  // namespace
}  // namespace drsim
