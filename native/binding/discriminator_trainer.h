#pragma once
// The JS class DiscriminatorTrainer: a discriminator's trainer (mmdisco::DiscriminatorTrainer) on the
// discriminator's worker thread; it keeps the discriminator and the base model(s) alive and leased while it works.
#include <napi.h>

#include <memory>
#include <vector>

#include "discriminator.h"
#include "train.h"

namespace mmdisco_binding {

class DiscriminatorTrainerHandle : public JsClass<DiscriminatorTrainerHandle>, public NativeHandle {
 public:
  explicit DiscriminatorTrainerHandle(const Napi::CallbackInfo& info);
  static void define(Napi::Env env, Napi::Object exports);

 private:
  Napi::Value TrainSteps(const Napi::CallbackInfo& info);
  Napi::Value ProfileSteps(const Napi::CallbackInfo& info);
  Napi::Value LossAndGradient(const Napi::CallbackInfo& info);
  Napi::Value SetDataParallel(const Napi::CallbackInfo& info);
  Napi::Value TrainingState(const Napi::CallbackInfo& info);
  Napi::Value LoadTrainingState(const Napi::CallbackInfo& info);
  mmdisco::DiscriminatorBatch batch_from_js(Napi::Value value) const;
  // The (batch, batchSize) arguments of trainSteps and profileSteps, checked.
  struct TrainingRows {
    mmdisco::DiscriminatorBatch data;
    int64_t batch_size;
  };
  TrainingRows training_rows(const Napi::CallbackInfo& info, const char* method) const;
  // Training writes the discriminator; the frozen base models are only read, so they can serve others meanwhile.
  std::vector<Use> trainer_uses();
  mmdisco::Placement place_;
  DiscriminatorHandle* disc_handle_ = nullptr;
  std::vector<NativeHandle*> bases_;  // the joint base model, or the audio and the video one
  std::vector<Napi::ObjectReference> refs_;  // keeps the handles above alive as long as this trainer
  std::shared_ptr<mmdisco::DiscriminatorTrainer> trainer_;
};

}  // namespace mmdisco_binding
