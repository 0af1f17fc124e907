// The record of a drill's client operations (a Jepsen-style history): what each put, delete
// and get asked, when it was invoked and completed (wall clock), how it ended and which region
// answered. The load generator writes it; history_checker.h judges it against the final state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace drsim::model {

enum class OpKind { kPut, kDelete, kGet };

// Jepsen's three endings: kFail means definitely not applied; kIndeterminate (a timeout, a
// dropped connection) means it may or may not have been applied, possibly after completion.
enum class Outcome { kOk, kFail, kIndeterminate };

// How the client's call ended: the server answered (ok or an error); the client gave up waiting
// on a silent server — its own deadline expired, or its keepalive pings went unanswered (a
// frozen or black-holed server); or the client cancelled it (the load was stopped).
enum class CallEnd { kAnswered, kDeadline, kKeepalive, kCancelled };

// The client waited until its own timeout (deadline or keepalive) on a server that said nothing.
inline bool client_gave_up(CallEnd end) {
  return end == CallEnd::kDeadline || end == CallEnd::kKeepalive;
}

// Which kind of client ran the operation: one that re-resolves when its cached answer's TTL
// expires, or a stale one that keeps its cached address past a failover (re-resolving only after
// failures, or never) with several requests in flight.
enum class ClientKind { kTtl, kStale };

// "put", "delete", "get".
const char* op_kind_name(OpKind kind);
// "ok", "fail", "indeterminate".
const char* outcome_name(Outcome outcome);
// "answered", "deadline", "keepalive", "cancelled".
const char* call_end_name(CallEnd end);
// "ttl", "stale".
const char* client_kind_name(ClientKind kind);

// Puts and deletes change state; gets do not.
inline bool is_write(OpKind kind) { return kind != OpKind::kGet; }

struct OpRecord {
  uint64_t id = 0;
  OpKind kind = OpKind::kPut;
  std::string workload;
  std::string key;
  // The value a put wrote, or the value a get read (when found).
  std::string value;
  bool found = false;  // gets only: the key existed
  // Wall-clock unix nanoseconds at the client.
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;
  Outcome outcome = Outcome::kIndeterminate;
  std::string region;  // region that answered; "" when none did
  uint64_t epoch = 0;  // as reported by the answering region (0 if unknown)
  uint64_t seq = 0;    // per-workload write sequence assigned by the active region (writes)
  uint32_t client = 0;  // which client ran it (unique within its run)
  uint32_t lane = 0;    // which of the client's in-flight slots (0 for a one-at-a-time client)
  ClientKind client_kind = ClientKind::kTtl;
  CallEnd end = CallEnd::kAnswered;
  // The `drsim load` (or drill) run that recorded it: clients of two runs are different clients.
  std::string run;
  std::string error;
};

// Key of the final state: (workload, key).
using WorkloadKey = std::pair<std::string, std::string>;

// Contents of the active region read after the drill: (workload, key) → value. A key that is
// absent was deleted or never written.
using FinalState = std::map<WorkloadKey, std::string>;

}  // namespace drsim::model
