// drsim's JSON output, one convention for every verb's --json (docs/cli.md, "JSON"):
//   - one object per command, its first key "schema_version" (kJsonSchemaVersion);
//   - snake_case keys (the proto field names), every field present (defaults included, so a
//     script never has to guess whether a key is missing or zero);
//   - numbers as JSON numbers, int64/uint64 too (protobuf's own JSON mapping quotes them);
//   - enums by their proto name ("ROLE_ACTIVE"), bytes as base64, maps as objects.
#pragma once

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "common/core/status.h"

namespace drsim::cli {

inline constexpr int kJsonSchemaVersion = 1;

using JsonObject = nlohmann::ordered_json;

// The message as a JSON object by the rules above (no schema_version).
JsonObject proto_to_json(const google::protobuf::Message& message);

// `body` (an object) with "schema_version" first.
JsonObject json_document(const JsonObject& body);

// A command that changed something: {"schema_version": 1, "ok": true, ...body}.
JsonObject json_ok(const JsonObject& body = JsonObject::object());

// A command that failed, for people: "drsim: <message>" on stderr; returns the exit code, 2 for
// bad input (INVALID_ARGUMENT), else 1 (docs/cli.md).
int print_error(const Status& s);
// A command that failed, as its output asks: print_json_error with --json, else print_error.
int print_failure(const Status& s, bool as_json);

// A command that failed, with --json: prints {"schema_version": 1, "ok": false, "error":
// {"code": "FAILED_PRECONDITION", "message": ...}} on stdout (a script reads one document
// whatever happened) and returns the exit code: 2 for bad input, else 1 (docs/cli.md).
int print_json_error(const Status& s);

// Prints json_document(body) on stdout, indented, with a final newline.
void print_json_document(const JsonObject& body);
inline void print_json_document(const google::protobuf::Message& message) {
  print_json_document(proto_to_json(message));
}

}  // namespace drsim::cli
