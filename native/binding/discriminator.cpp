#include "discriminator.h"

#include "arguments.h"
#include "model_factory.h"
#include "module_calls.h"

namespace mmdisco_binding {

DiscriminatorHandle::DiscriminatorHandle(const Napi::CallbackInfo& info)
    : JsClass<DiscriminatorHandle>(info), NativeHandle("Discriminator", nullptr) {
  guarded(info.Env(), "", [&] {
    Options o(info[0], "Discriminator");
    const auto place = parse_placement(o);
    place_ = place.core;
    mmdisco::DiscriminatorNetworkVariant network;
    try {
      network = mmdisco::parse_discriminator_network_of_any_kind(json_from_js(o.value("network")));
    } catch (const mmdisco::ConfigError& e) {
      o.fail_within("network", e);
    }
    network_ = std::visit([](const auto& c) { return mmdisco::to_json(c); }, network);
    disc_ = mmdisco::make_discriminator(network, parse_schedule(o.object("audioSchedule")),
                                        parse_schedule(o.object("videoSchedule")), place_);
    if (o.has("denoisers")) {
      Options d(o.value("denoisers"), "Discriminator denoisers");
      std::shared_ptr<mmdisco::EpsSource> sources[2];
      for (int i = 0; i < 2; ++i) {
        const char* name = i == 0 ? "audio" : "video";
        const Napi::Value value = d.value(name);
        auto* base = unwrap_handle(value, std::string("denoisers.") + name);
        sources[i] = base->eps_source();
        if (!sources[i]) d.fail(name, "must be an ε-source (EpsModel or AnalyticEps)");
        denoisers_.push_back(base);
        denoiser_refs_.emplace_back(Napi::Persistent(value.As<Napi::Object>()));
      }
      disc_->set_denoisers(sources[0], sources[1]);
    }
    const auto precision = o.string("precision", "fp32");
    if (precision != "fp32" && precision != "bf16") o.fail("precision", "must be 'fp32' or 'bf16'");
    bf16_guidance_ = precision == "bf16";
    set_worker(Worker::for_threads(place.threads));
  });
}

std::vector<Use> DiscriminatorHandle::reads() {
  std::vector<Use> uses{{this, Access::Read}};
  for (auto* base : denoisers_) uses.push_back({base, Access::Read});
  return uses;
}

std::shared_ptr<mmdisco::JointCritic> DiscriminatorHandle::guidance_critic(
    const mmdisco::Conditioning& condition, const std::optional<mmdisco::ResidualCfg>& cfg) const {
  return mmdisco::discriminator_critic(disc_, condition, cfg, bf16_guidance_, place_.device);
}

std::shared_ptr<mmdisco::JointCritic> DiscriminatorHandle::call_critic(const Napi::CallbackInfo& info) {
  return guidance_critic(conditioning_from_js(info[3], "condition", place_), cfg_from_js(info[4], place_));
}

Napi::Value DiscriminatorHandle::Logit(const Napi::CallbackInfo& info) {
  return critic_logit(info, *this, place_, call_critic(info), reads());
}
Napi::Value DiscriminatorHandle::Residuals(const Napi::CallbackInfo& info) {
  return critic_residuals(info, *this, place_, call_critic(info), reads());
}
Napi::Value DiscriminatorHandle::Parameters(const Napi::CallbackInfo& info) {
  return module_parameters(info, *this, disc_->module());
}
Napi::Value DiscriminatorHandle::LoadParameters(const Napi::CallbackInfo& info) {
  return module_load_parameters(info, *this, disc_->module());
}
Napi::Value DiscriminatorHandle::FlatParameters(const Napi::CallbackInfo& info) {
  return module_flat_parameters(info, *this, disc_->module());
}
Napi::Value DiscriminatorHandle::SetFlatParameters(const Napi::CallbackInfo& info) {
  return module_set_flat_parameters(info, *this, disc_->module());
}
Napi::Value DiscriminatorHandle::ParameterCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(mmdisco::parameter_count(disc_->module())));
}
Napi::Value DiscriminatorHandle::Network(const Napi::CallbackInfo& info) { return json_to_js(info.Env(), network_); }

void DiscriminatorHandle::define(Napi::Env env, Napi::Object exports) {
  auto constructor = DefineClass(
      env, "Discriminator",
      {method<&DiscriminatorHandle::Logit>("logit"), method<&DiscriminatorHandle::Residuals>("residuals"),
       method<&DiscriminatorHandle::Parameters>("parameters"),
       method<&DiscriminatorHandle::LoadParameters>("loadParameters"),
       method<&DiscriminatorHandle::FlatParameters>("flatParameters"),
       method<&DiscriminatorHandle::SetFlatParameters>("setFlatParameters"),
       getter<&DiscriminatorHandle::ParameterCount>("parameterCount"), getter<&DiscriminatorHandle::Network>("network")});
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return Unwrap(o); });
  exports.Set("Discriminator", constructor);
}

}  // namespace mmdisco_binding
