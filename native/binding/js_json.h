#pragma once
// A JS value (plain data: objects, arrays, strings, numbers, booleans, null) as a core JSON value, and back: how
// network configs cross the boundary without the binding reading any of their fields.
#include <napi.h>

#include "json.h"

namespace mmdisco_binding {

mmdisco::Json json_from_js(Napi::Value value);
Napi::Value json_to_js(Napi::Env env, const mmdisco::Json& json);

}  // namespace mmdisco_binding
