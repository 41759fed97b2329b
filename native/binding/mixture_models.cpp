#include "mixture_models.h"

#include "arguments.h"
#include "module_calls.h"

namespace mmdisco_binding {

AnalyticEpsHandle::AnalyticEpsHandle(const Napi::CallbackInfo& info)
    : JsClass<AnalyticEpsHandle>(info), NativeHandle("AnalyticEps", Worker::for_threads(1)) {
  guarded(info.Env(), "", [&] {
    Options o(info[0], "AnalyticEps");
    const auto place = parse_placement(o).core;
    source_ = std::make_shared<mmdisco::AnalyticMarginalEps>(
        parse_mixture(o.object("mixture")), mmdisco::parse_modality(o.string("modality")),
        mmdisco::NoiseSchedule(parse_schedule(o.object("schedule"))), place.device, place.dtype);
  });
}

Napi::Value AnalyticEpsHandle::Eps(const Napi::CallbackInfo& info) {
  auto x = tensor_from_js(info[0], "x");
  auto t = timesteps_from_js(info[1], x.size(0));
  auto source = source_;
  return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0], info[1]},
                   [source, x, t]() -> mmdisco::NamedTensors {
                     return {{"eps", source->eps(x.to(source->device(), source->dtype()), t.to(source->device()))}};
                   });
}

void AnalyticEpsHandle::define(Napi::Env env, Napi::Object exports) {
  auto constructor = DefineClass(env, "AnalyticEps", {method<&AnalyticEpsHandle::Eps>("eps")});
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return Unwrap(o); });
  exports.Set("AnalyticEps", constructor);
}

OracleCriticHandle::OracleCriticHandle(const Napi::CallbackInfo& info)
    : JsClass<OracleCriticHandle>(info), NativeHandle("OracleCritic", Worker::for_threads(1)) {
  guarded(info.Env(), "", [&] {
    Options o(info[0], "OracleCritic");
    place_ = parse_placement(o).core;
    critic_ = std::make_shared<mmdisco::OracleCritic>(
        parse_mixture(o.object("mixture")), mmdisco::NoiseSchedule(parse_schedule(o.object("audioSchedule"))),
        mmdisco::NoiseSchedule(parse_schedule(o.object("videoSchedule"))));
  });
}

Napi::Value OracleCriticHandle::Logit(const Napi::CallbackInfo& info) {
  return critic_logit(info, *this, place_, critic_, {{this, Access::Read}});
}

Napi::Value OracleCriticHandle::Residuals(const Napi::CallbackInfo& info) {
  return critic_residuals(info, *this, place_, critic_, {{this, Access::Read}});
}

void OracleCriticHandle::define(Napi::Env env, Napi::Object exports) {
  auto constructor = DefineClass(env, "OracleCritic", {method<&OracleCriticHandle::Logit>("logit"),
                                                       method<&OracleCriticHandle::Residuals>("residuals")});
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return Unwrap(o); });
  exports.Set("OracleCritic", constructor);
}

}  // namespace mmdisco_binding
