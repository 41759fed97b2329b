#pragma once
// The JS class Classifier: an evaluator classifier with its supervised trainer, on its own worker thread.
#include <napi.h>

#include <memory>

#include "classifier_trainer.h"
#include "handle.h"
#include "js_errors.h"
#include "placement.h"

namespace mmdisco_binding {

class Classifier : public JsClass<Classifier>, public NativeHandle {
 public:
  explicit Classifier(const Napi::CallbackInfo& info);
  static Napi::Function define(Napi::Env env);
  // trainSteps(x, labels, batchSize) → {losses, accuracies}: one optimiser step per batchSize rows.
  Napi::Value TrainSteps(const Napi::CallbackInfo& info);
  // predict(x) → {logits, features} (eval mode, no gradients).
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value LoadParameters(const Napi::CallbackInfo& info);
  Napi::Value ParameterCount(const Napi::CallbackInfo& info);

 private:
  mmdisco::Placement place_;
  std::shared_ptr<mmdisco::ClassifierNet> net_;
  mmdisco::OptimizerConfig optimizer_;
  mmdisco::MelAugmentation augmentation_;
  std::shared_ptr<mmdisco::ClassifierTrainer> trainer_;
};

void register_classifier(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
