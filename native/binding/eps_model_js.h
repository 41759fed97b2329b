#pragma once
// The JS class EpsModel: a built-in ε-network (mmdisco::EpsModel) on its worker thread.
#include <napi.h>

#include <memory>

#include "eps_model.h"  // the core's (native/src)
#include "handle.h"
#include "js_errors.h"

namespace mmdisco_binding {

class EpsModelHandle : public JsClass<EpsModelHandle>, public NativeHandle {
 public:
  explicit EpsModelHandle(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::EpsSource> eps_source() override { return model_->sampling_source(); }
  static void define(Napi::Env env, Napi::Object exports);

 private:
  Napi::Value TrainSteps(const Napi::CallbackInfo& info);
  Napi::Value ProfileSteps(const Napi::CallbackInfo& info);
  // The (x0, batchSize) arguments of trainSteps and profileSteps, checked, with the trainer created on the JS thread.
  struct TrainingRows {
    torch::Tensor x0;
    int64_t batch_size;
  };
  TrainingRows training_rows(const Napi::CallbackInfo& info, const char* method);
  Napi::Value Eps(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value LoadParameters(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);
  Napi::Value SetDataParallel(const Napi::CallbackInfo& info);
  Napi::Value TrainingState(const Napi::CallbackInfo& info);
  Napi::Value LoadTrainingState(const Napi::CallbackInfo& info);
  std::shared_ptr<mmdisco::EpsModel> model_;
};

}  // namespace mmdisco_binding
