#include "js_json.h"

#include "errors.h"

namespace mmdisco_binding {

mmdisco::Json json_from_js(Napi::Value value) {
  if (value.IsBoolean()) return mmdisco::Json(value.As<Napi::Boolean>().Value());
  if (value.IsNumber()) return mmdisco::Json(value.As<Napi::Number>().DoubleValue());
  if (value.IsString()) return mmdisco::Json(value.As<Napi::String>().Utf8Value());
  if (value.IsArray()) {
    auto array = value.As<Napi::Array>();
    auto out = mmdisco::Json::array();
    for (uint32_t i = 0; i < array.Length(); ++i) out.push(json_from_js(array.Get(i)));
    return out;
  }
  if (value.IsObject() && !value.IsFunction() && !value.IsTypedArray()) {
    auto object = value.As<Napi::Object>();
    auto out = mmdisco::Json::object();
    auto names = object.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const auto key = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value member = object.Get(key);
      if (!member.IsUndefined()) out.set(key, json_from_js(member));  // as JSON.stringify drops it
    }
    return out;
  }
  if (value.IsNull() || value.IsUndefined()) return mmdisco::Json();
  throw mmdisco::Error(mmdisco::ErrorCode::Argument, "expected plain data (objects, arrays, strings, numbers, booleans)");
}

Napi::Value json_to_js(Napi::Env env, const mmdisco::Json& json) {
  switch (json.type()) {
    case mmdisco::Json::Type::Null: return env.Null();
    case mmdisco::Json::Type::Bool: return Napi::Boolean::New(env, json.boolean());
    case mmdisco::Json::Type::Number: return Napi::Number::New(env, json.number());
    case mmdisco::Json::Type::String: return Napi::String::New(env, json.string());
    case mmdisco::Json::Type::Array: {
      auto out = Napi::Array::New(env, json.items().size());
      for (size_t i = 0; i < json.items().size(); ++i) out.Set(static_cast<uint32_t>(i), json_to_js(env, json.items()[i]));
      return out;
    }
    case mmdisco::Json::Type::Object: break;
  }
  auto out = Napi::Object::New(env);
  for (size_t i = 0; i < json.keys().size(); ++i) out.Set(json.keys()[i], json_to_js(env, json.items()[i]));
  return out;
}

}  // namespace mmdisco_binding
