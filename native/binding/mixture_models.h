#pragma once
// The JS classes of the closed-form Gaussian mixture (the toy's exact models): AnalyticEps, the exact marginal ε of
// one modality, and OracleCritic, the exact log density ratio.
#include <napi.h>

#include <memory>

#include "gaussian_mixture.h"
#include "handle.h"
#include "js_errors.h"
#include "placement.h"

namespace mmdisco_binding {

class AnalyticEpsHandle : public JsClass<AnalyticEpsHandle>, public NativeHandle {
 public:
  explicit AnalyticEpsHandle(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::EpsSource> eps_source() override { return source_; }
  static void define(Napi::Env env, Napi::Object exports);

 private:
  Napi::Value Eps(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::AnalyticMarginalEps> source_;
};

class OracleCriticHandle : public JsClass<OracleCriticHandle>, public NativeHandle {
 public:
  explicit OracleCriticHandle(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::JointCritic> critic() override { return critic_; }
  static void define(Napi::Env env, Napi::Object exports);

 private:
  Napi::Value Logit(const Napi::CallbackInfo& info);
  Napi::Value Residuals(const Napi::CallbackInfo& info);
  mmdisco::Placement place_;
  std::shared_ptr<mmdisco::OracleCritic> critic_;
};

}  // namespace mmdisco_binding
