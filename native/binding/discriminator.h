#pragma once
// The JS class Discriminator: a trainable discriminator network as a critic (mmdisco::DiscriminatorCritic), built by
// the core from its network config, on its worker thread; with denoisers, it leases their handles as it reads them.
#include <napi.h>

#include <memory>
#include <vector>

#include "guidance.h"
#include "handle.h"
#include "js_errors.h"
#include "json.h"
#include "placement.h"

namespace mmdisco_binding {

class DiscriminatorHandle : public JsClass<DiscriminatorHandle>, public NativeHandle {
 public:
  explicit DiscriminatorHandle(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::JointCritic> critic() override { return guidance_critic({}, std::nullopt); }
  // The network as a critic at its guidance precision, with a condition and a residual CFG bound.
  std::shared_ptr<mmdisco::JointCritic> guidance_critic(const mmdisco::Conditioning& condition,
                                                        const std::optional<mmdisco::ResidualCfg>& cfg) const;
  const std::shared_ptr<mmdisco::DiscriminatorCritic>& discriminator() const { return disc_; }
  const mmdisco::Placement& placement() const { return place_; }
  // What reading this discriminator leases: itself and, for a denoising one, its base models.
  std::vector<Use> reads();
  static void define(Napi::Env env, Napi::Object exports);

 private:
  Napi::Value Logit(const Napi::CallbackInfo& info);
  Napi::Value Residuals(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value LoadParameters(const Napi::CallbackInfo& info);
  Napi::Value FlatParameters(const Napi::CallbackInfo& info);
  Napi::Value SetFlatParameters(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);
  Napi::Value Network(const Napi::CallbackInfo& info);
  // The critic of a logit/residuals call: its condition (info[3]) and residual CFG (info[4]) bound.
  std::shared_ptr<mmdisco::JointCritic> call_critic(const Napi::CallbackInfo& info);
  mmdisco::Placement place_;
  mmdisco::Json network_;  // the complete config, as the core wrote it back
  std::shared_ptr<mmdisco::DiscriminatorCritic> disc_;
  bool bf16_guidance_ = false;  // the `precision` option: its logit and residuals (sampling too) in bf16 autocast
  std::vector<NativeHandle*> denoisers_;              // the base models a denoising discriminator reads
  std::vector<Napi::ObjectReference> denoiser_refs_;  // keep them alive as long as this discriminator
};

}  // namespace mmdisco_binding
