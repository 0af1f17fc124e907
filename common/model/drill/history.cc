#include "common/model/drill/history.h"

namespace drsim::model {

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kPut:
      return "put";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kGet:
      return "get";
  }
  return "unknown";
}

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kIndeterminate:
      return "indeterminate";
  }
  return "unknown";
}

const char* call_end_name(CallEnd end) {
  switch (end) {
    case CallEnd::kAnswered:
      return "answered";
    case CallEnd::kDeadline:
      return "deadline";
    case CallEnd::kKeepalive:
      return "keepalive";
    case CallEnd::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

const char* client_kind_name(ClientKind kind) {
  switch (kind) {
    case ClientKind::kTtl:
      return "ttl";
    case ClientKind::kStale:
      return "stale";
  }
  return "unknown";
}

}  // namespace drsim::model
