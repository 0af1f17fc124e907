#include "common/net/request_names.h"

#include <set>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include "common/core/names.h"

namespace drsim::net {

namespace {

namespace pb = google::protobuf;

// Fields whose value names a resource that can reach a storage key or a path.
bool is_name_field(const std::string& field) {
  static const std::set<std::string> kNames = {
      "vault",       "policy",    "vm",           "disk",        "snapshot",
      "image",       "item",      "items",        "group",       "plan",
      "workload",    "target_vm", "attach_to_vm", "merged_into", "source_region",
      "from_region", "name",      "base"};
  return kNames.count(field) > 0;
}

Status walk(const pb::Message& m, const std::string& prefix, int depth) {
  if (depth > 8) return Status::ok();  // our messages nest 4 deep at most
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string path = prefix + f->name();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_map()) continue;  // map keys are checked by their handlers (drained_seqs)
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          Status s = walk(r->GetRepeatedMessage(m, f, i), path + "[" + std::to_string(i) + "].",
                          depth + 1);
          if (!s.is_ok()) return s;
        }
      } else if (Status s = walk(r->GetMessage(m, f), path + ".", depth + 1); !s.is_ok()) {
        return s;
      }
      continue;
    }
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING ||
        f->type() == pb::FieldDescriptor::TYPE_BYTES || !is_name_field(f->name())) {
      continue;
    }
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        std::string v = r->GetRepeatedString(m, f, i);
        if (v.empty()) continue;
        Status s = validate_name(path + "[" + std::to_string(i) + "]", v);
        if (!s.is_ok()) return s;
      }
    } else if (std::string v = r->GetString(m, f); !v.empty()) {
      if (Status s = validate_name(path, v); !s.is_ok()) return s;
    }
  }
  return Status::ok();
}

}  // namespace

Status validate_request_names(const pb::Message& request) { return walk(request, "", 0); }

}  // namespace drsim::net
