// drsim's one JSON convention (cli/json_output.h): snake_case keys, every field present,
// 64-bit integers as numbers, enums by name, bytes as base64, maps as objects, a oneof by the
// member that is set, and "schema_version" first.
#include "cli/json_output.h"

#include <gtest/gtest.h>

#include "drsim/v1/admin.pb.h"
#include "drsim/v1/faultproxy.pb.h"
#include "drsim/v1/siterecovery.pb.h"
#include "drsim/v1/workload.pb.h"

namespace drsim::cli {
namespace {

TEST(JsonOutput, Int64IsANumberKeysAreSnakeCaseAndDefaultsArePresent) {
  v1::ReplicationPointInfo p;
  p.set_id(7);
  p.set_time_unix_nanos(1'767'225'600'000'000'001);  // beyond 2^53: exact as an integer
  (*p.mutable_seqs())["vm-web"] = 12;
  JsonObject j = proto_to_json(p);
  ASSERT_TRUE(j["time_unix_nanos"].is_number_integer()) << j.dump();
  EXPECT_EQ(j["time_unix_nanos"].get<int64_t>(), 1'767'225'600'000'000'001);
  EXPECT_EQ(j["id"], 7);
  EXPECT_EQ(j["seqs"]["vm-web"], 12);
  EXPECT_TRUE(j.contains("data_bytes"));  // 0, but present
  EXPECT_EQ(j["data_bytes"], 0);
  EXPECT_EQ(j["type"], "");
}

TEST(JsonOutput, EnumsByNameMessagesNestedAbsentMessagesNullOneofByItsSetMember) {
  v1::GetStatusResponse st;
  st.set_role(v1::ROLE_ACTIVE);
  st.mutable_lease()->set_state("held");
  JsonObject j = proto_to_json(st);
  EXPECT_EQ(j["role"], "ROLE_ACTIVE");
  EXPECT_EQ(j["lease"]["state"], "held");
  EXPECT_TRUE(j["resync"].is_null()) << j.dump();  // a message that is not set

  v1::Fault f;
  f.mutable_latency()->set_latency_ms(30);
  JsonObject fj = proto_to_json(f);
  EXPECT_EQ(fj["latency"]["latency_ms"], 30);
  EXPECT_FALSE(fj.contains("partition")) << fj.dump();
}

TEST(JsonOutput, BytesAreBase64AndTheDocumentStartsWithItsSchemaVersion) {
  v1::PutRequest put;
  put.set_value(std::string("\x00\xff" "ab", 4));
  JsonObject j = proto_to_json(put);
  EXPECT_EQ(j["value"], "AP9hYg==");
  JsonObject doc = json_document(json_ok({{"region", "secondary"}}));
  EXPECT_EQ(doc.begin().key(), "schema_version");
  EXPECT_EQ(doc["schema_version"], kJsonSchemaVersion);
  EXPECT_EQ(doc["ok"], true);
  EXPECT_EQ(doc["region"], "secondary");
}

}  // namespace
}  // namespace drsim::cli
