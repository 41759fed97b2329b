#include "networks_js.h"

#include "config/networks.h"
#include "convert.h"
#include "js_errors.h"

namespace mmdisco_binding {

void register_networks(Napi::Env env, Napi::Object exports) {
  auto validate = [](const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "validateNetwork", [&] {
      return json_to_js(info.Env(), mmdisco::validate_network(json_from_js(info[0])));
    });
  };
  exports.Set("validateNetwork", Napi::Function::New(env, validate, "validateNetwork"));
}

}  // namespace mmdisco_binding
