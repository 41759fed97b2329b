#include "networks_js.h"

#include "config/networks.h"
#include "config/official.h"
#include "convert.h"
#include "js_errors.h"
#include "models/mmdisco_discriminator.h"
#include "official_checkpoint.h"

namespace mmdisco_binding {

void register_networks(Napi::Env env, Napi::Object exports) {
  auto validate = [](const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "validateNetwork", [&] {
      return json_to_js(info.Env(), mmdisco::validate_network(json_from_js(info[0])));
    });
  };
  exports.Set("validateNetwork", Napi::Function::New(env, validate, "validateNetwork"));
  auto official_network = [](const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "officialNetwork", [&] {
      return json_to_js(info.Env(), mmdisco::official_network(json_from_js(info[0])));
    });
  };
  exports.Set("officialNetwork", Napi::Function::New(env, official_network, "officialNetwork"));
  auto official_preset = [](const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "officialPreset", [&] {
      return json_to_js(info.Env(), mmdisco::official_preset(info[0].As<Napi::String>().Utf8Value()));
    });
  };
  exports.Set("officialPreset", Napi::Function::New(env, official_preset, "officialPreset"));
  auto official_presets = [](const Napi::CallbackInfo& info) {
    const auto names = mmdisco::official_presets();
    auto out = Napi::Array::New(info.Env(), names.size());
    for (size_t i = 0; i < names.size(); ++i) out.Set(static_cast<uint32_t>(i), names[i]);
    return out;
  };
  exports.Set("officialPresets", Napi::Function::New(env, official_presets, "officialPresets"));
  auto read_checkpoint = [](const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "readOfficialCheckpoint", [&] {
      const auto path = info[0].As<Napi::String>().Utf8Value();
      mmdisco::DiscriminatorNetwork network(mmdisco::parse_discriminator_network(json_from_js(info[1])));
      return named_tensors_to_js(
          info.Env(), mmdisco::match_state_dict(mmdisco::read_official_state_dict(path), *network, path));
    });
  };
  exports.Set("readOfficialCheckpoint", Napi::Function::New(env, read_checkpoint, "readOfficialCheckpoint"));
}

}  // namespace mmdisco_binding
