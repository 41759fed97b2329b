#pragma once
#include <napi.h>

#include <memory>

#include "convert.h"
#include "gaussian_mixture.h"
#include "guidance.h"
#include "handle.h"
#include "train.h"

namespace mmdisco_binding {

// Where a model lives and how it starts: device, dtype, worker thread count, initialisation seed.
struct Placement {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  int threads = 0;
  uint64_t seed = 0;
};

// A built-in ε-network (MLP or U-Net) with its optimiser and, optionally, an EMA copy of its weights. With an EMA,
// the EMA is the model's face: eps(), sampling and parameters() use it; loadParameters() sets both copies.
// With x0Range, eps() and sampling keep the implied clean sample in that range (native/src/clipped_eps.h).
class EpsModel : public Napi::ObjectWrap<EpsModel>, public NativeHandle {
 public:
  explicit EpsModel(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::EpsSource> eps_source() override { return sampling_source_; }
  Napi::Value TrainSteps(const Napi::CallbackInfo& info);
  Napi::Value Eps(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value LoadParameters(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);
  Napi::Value SetDataParallel(const Napi::CallbackInfo& info);
  Napi::Value TrainingState(const Napi::CallbackInfo& info);
  Napi::Value LoadTrainingState(const Napi::CallbackInfo& info);

 private:
  const std::shared_ptr<mmdisco::NetworkEps>& inference_model() const { return training_.ema ? training_.ema : model_; }
  // Created on first use (on the JS thread), with the optimiser state that then persists across calls.
  const std::shared_ptr<mmdisco::EpsTrainer>& trainer();
  Placement place_;
  std::shared_ptr<mmdisco::NetworkEps> model_;
  mmdisco::OptimizerConfig optimizer_;
  mmdisco::EpsTrainingConfig training_;
  std::shared_ptr<mmdisco::EpsTrainer> trainer_;
  // What sampling and eps() use: the inference model, with x̂0 clipped when the options give an x0Range.
  std::shared_ptr<mmdisco::EpsSource> sampling_source_;
};

class AnalyticEps : public Napi::ObjectWrap<AnalyticEps>, public NativeHandle {
 public:
  explicit AnalyticEps(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::EpsSource> eps_source() override { return source_; }
  Napi::Value Eps(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<mmdisco::AnalyticMarginalEps> source_;
};

class OracleCritic : public Napi::ObjectWrap<OracleCritic>, public NativeHandle {
 public:
  explicit OracleCritic(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::JointCritic> critic() override { return critic_; }
  Napi::Value Logit(const Napi::CallbackInfo& info);
  Napi::Value Residuals(const Napi::CallbackInfo& info);

 private:
  Placement place_;
  std::shared_ptr<mmdisco::OracleCritic> critic_;
};

class Discriminator : public Napi::ObjectWrap<Discriminator>, public NativeHandle {
 public:
  explicit Discriminator(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::JointCritic> critic() override { return disc_; }
  const std::shared_ptr<mmdisco::Discriminator>& discriminator() const { return disc_; }
  const Placement& placement() const { return place_; }
  Napi::Value Logit(const Napi::CallbackInfo& info);
  Napi::Value Residuals(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value LoadParameters(const Napi::CallbackInfo& info);
  Napi::Value FlatParameters(const Napi::CallbackInfo& info);
  Napi::Value SetFlatParameters(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);
  // What reading this discriminator leases: itself and, for a denoising one, its base models.
  std::vector<Use> reads();

 private:
  Placement place_;
  std::shared_ptr<mmdisco::Discriminator> disc_;
  std::vector<NativeHandle*> denoisers_;           // the base models a denoising discriminator reads
  std::vector<Napi::ObjectReference> denoiser_refs_;  // keep them alive as long as this discriminator
};

// Runs on its discriminator's worker thread; keeps the discriminator and both bases alive and leased.
class DiscriminatorTrainer : public Napi::ObjectWrap<DiscriminatorTrainer>, public NativeHandle {
 public:
  explicit DiscriminatorTrainer(const Napi::CallbackInfo& info);
  Napi::Value TrainSteps(const Napi::CallbackInfo& info);
  Napi::Value LossAndGradient(const Napi::CallbackInfo& info);
  Napi::Value SetDataParallel(const Napi::CallbackInfo& info);
  Napi::Value TrainingState(const Napi::CallbackInfo& info);
  Napi::Value LoadTrainingState(const Napi::CallbackInfo& info);

 private:
  mmdisco::DiscriminatorBatch batch_from_js(Napi::Value value) const;
  std::vector<Use> trainer_uses();
  Placement place_;
  Discriminator* disc_handle_ = nullptr;
  NativeHandle* audio_base_ = nullptr;
  NativeHandle* video_base_ = nullptr;
  std::vector<Napi::ObjectReference> refs_;  // keeps the handles above alive as long as this trainer
  std::shared_ptr<mmdisco::DiscriminatorTrainer> trainer_;
};

void register_objects(Napi::Env env, Napi::Object exports);

// Shared by the classes of other binding files.
Placement parse_placement(const Options& o);
mmdisco::OptimizerConfig parse_optimizer(const Options& o);
Napi::Value module_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module);
Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module);
// {audio?: tensor, video?: tensor} → conditioning vectors on the model's device; absent or undefined → none.
mmdisco::Conditioning conditioning_from_js(Napi::Value value, const std::string& what, const Placement& place);
// A discriminator as a critic: bound to `condition` when given and, with `cfg` = {nullCondition, scales: {audio,
// video}}, the residual CFG of that branch against the null-condition one (mmdisco::CfgCritic).
std::shared_ptr<mmdisco::JointCritic> discriminator_critic(const std::shared_ptr<mmdisco::Discriminator>& disc,
                                                           Napi::Value condition, Napi::Value cfg,
                                                           const Placement& place);

// Runs fn, turning C++ exceptions into JS errors with the message only.
template <typename Fn>
auto guarded(Napi::Env env, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, error_message(e));
  }
}

}  // namespace mmdisco_binding
