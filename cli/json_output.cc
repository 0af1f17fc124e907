#include "cli/json_output.h"

#include <cstdio>
#include <string>

#include <google/protobuf/descriptor.h>

namespace drsim::cli {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// One value of `f`: element `index` of a repeated field, or the singular value (index < 0).
JsonObject value(const Message& m, const Reflection& r, const FieldDescriptor* f, int index) {
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r.GetRepeatedInt32(m, f, index) : r.GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r.GetRepeatedInt64(m, f, index) : r.GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r.GetRepeatedUInt32(m, f, index) : r.GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r.GetRepeatedUInt64(m, f, index) : r.GetUInt64(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r.GetRepeatedDouble(m, f, index) : r.GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r.GetRepeatedFloat(m, f, index) : r.GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r.GetRepeatedBool(m, f, index) : r.GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = rep ? r.GetRepeatedEnum(m, f, index) : r.GetEnum(m, f);
      return e ? JsonObject(e->name()) : JsonObject(rep ? r.GetRepeatedEnumValue(m, f, index)
                                                        : r.GetEnumValue(m, f));
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r.GetRepeatedString(m, f, index) : r.GetString(m, f);
      return f->type() == FieldDescriptor::TYPE_BYTES ? JsonObject(base64(s)) : JsonObject(s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return proto_to_json(rep ? r.GetRepeatedMessage(m, f, index) : r.GetMessage(m, f));
  }
  return nullptr;
}

std::string map_key(const JsonObject& key) {
  return key.is_string() ? key.get<std::string>() : key.dump();
}

}  // namespace

JsonObject proto_to_json(const Message& m) {
  JsonObject out = JsonObject::object();
  const auto* d = m.GetDescriptor();
  const Reflection& r = *m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map()) {
      JsonObject map = JsonObject::object();
      for (int k = 0; k < r.FieldSize(m, f); ++k) {
        const Message& entry = r.GetRepeatedMessage(m, f, k);
        const Reflection& er = *entry.GetReflection();
        const auto* ed = entry.GetDescriptor();
        map[map_key(value(entry, er, ed->map_key(), -1))] = value(entry, er, ed->map_value(), -1);
      }
      out[f->name()] = std::move(map);
    } else if (f->is_repeated()) {
      JsonObject list = JsonObject::array();
      for (int k = 0; k < r.FieldSize(m, f); ++k) list.push_back(value(m, r, f, k));
      out[f->name()] = std::move(list);
    } else if (f->containing_oneof() && !r.HasField(m, f)) {
      continue;  // only the member of a oneof that is set
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !r.HasField(m, f)) {
      out[f->name()] = nullptr;
    } else {
      out[f->name()] = value(m, r, f, -1);
    }
  }
  return out;
}

JsonObject json_document(const JsonObject& body) {
  JsonObject out = {{"schema_version", kJsonSchemaVersion}};
  if (body.is_object()) {
    for (const auto& [key, v] : body.items()) {
      if (key != "schema_version") out[key] = v;
    }
  } else {
    out["value"] = body;
  }
  return out;
}

JsonObject json_ok(const JsonObject& body) {
  JsonObject out = {{"ok", true}};
  for (const auto& [key, v] : body.items()) out[key] = v;
  return out;
}

int print_error(const Status& s) {
  std::fprintf(stderr, "drsim: %s\n", s.message().c_str());
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int print_failure(const Status& s, bool as_json) {
  return as_json ? print_json_error(s) : print_error(s);
}

int print_json_error(const Status& s) {
  print_json_document(JsonObject{
      {"ok", false},
      {"error", {{"code", status_code_name(s.code())}, {"message", s.message()}}}});
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

void print_json_document(const JsonObject& body) {
  std::printf("%s\n", json_document(body).dump(2).c_str());
}

}  // namespace drsim::cli
