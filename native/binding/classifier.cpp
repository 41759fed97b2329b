// The JS class Classifier: an evaluator classifier (mel-cnn or video-cnn) with its trainer.
#include "classifier.h"

#include "classifier_trainer.h"
#include "convert.h"
#include "model_factory.h"
#include "arguments.h"
#include "module_calls.h"

namespace mmdisco_binding {

using mmdisco::NamedTensors;

namespace {

mmdisco::ClassifierConfig parse_classifier(const Options& net) {
  mmdisco::ClassifierConfig c;
  c.kind = net.string("kind");
  c.input_shape = net.integers("inputShape");
  c.classes = net.integer("classes");
  c.width = net.integer("width", c.width);
  c.feature_dim = net.integer("featureDim", c.feature_dim);
  c.input_mean = net.number("inputMean", c.input_mean);
  c.input_std = net.number("inputStd", c.input_std);
  return c;
}

}  // namespace

Classifier::Classifier(const Napi::CallbackInfo& info)
    : JsClass<Classifier>(info), NativeHandle("Classifier", nullptr) {
  guarded(info.Env(), "", [&] {
    Options o(info[0], "Classifier");
    const auto place = parse_placement(o);
    place_ = place.core;
    auto config = parse_classifier(o.object("network"));
    try {
      net_ = mmdisco::make_classifier(config, place_.seed, place_.device, place_.dtype);
    } catch (const std::invalid_argument& e) {
      throw mmdisco::ConfigError("network", e.what(), "Classifier");
    }
    optimizer_ = o.has("optimizer") ? parse_optimizer(o.object("optimizer")) : mmdisco::OptimizerConfig{};
    if (o.has("augmentation")) {
      auto a = o.object("augmentation");
      augmentation_.gain_log = a.number("gainLog", 0);
      augmentation_.mel_shift = a.integer("melShift", 0);
    }
    set_worker(Worker::for_threads(place.threads));
  });
}

Napi::Value Classifier::TrainSteps(const Napi::CallbackInfo& info) {
  auto x = tensor_from_js(info[0], "x");
  auto labels = tensor_from_js(info[1], "labels");
  if (!info[2].IsNumber()) throw mmdisco::Error(mmdisco::ErrorCode::Argument, "trainSteps: batchSize must be a number");
  const int64_t batch = info[2].As<Napi::Number>().Int64Value();
  if (batch < 1 || x.dim() < 1 || x.size(0) % batch != 0 || labels.dim() != 1 || labels.size(0) != x.size(0))
    throw mmdisco::ShapeError("trainSteps: x.shape[0] must be a positive multiple of batchSize and equal labels.length");
  if (!trainer_) {
    try {
      trainer_ = std::make_shared<mmdisco::ClassifierTrainer>(net_, optimizer_, augmentation_, place_.seed + 1);
    } catch (const std::invalid_argument& e) {
      throw mmdisco::Error(mmdisco::ErrorCode::Config, "Classifier: " + std::string(e.what()));
    }
  }
  auto trainer = trainer_;
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This(), info[0], info[1]},
                   [trainer, x, labels, batch]() -> NamedTensors {
                     const int64_t steps = x.size(0) / batch;
                     auto losses = torch::empty({steps}, torch::kFloat64);
                     auto accuracies = torch::empty({steps}, torch::kFloat64);
                     for (int64_t s = 0; s < steps; ++s) {
                       auto result = trainer->step(x.slice(0, s * batch, (s + 1) * batch),
                                                   labels.slice(0, s * batch, (s + 1) * batch));
                       losses[s] = result.loss;
                       accuracies[s] = result.accuracy;
                     }
                     return {{"losses", losses}, {"accuracies", accuracies}};
                   });
}

Napi::Value Classifier::Predict(const Napi::CallbackInfo& info) {
  auto x = tensor_from_js(info[0], "x");
  auto net = net_;
  return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0]}, [net, x]() -> NamedTensors {
    torch::NoGradGuard no_grad;
    net->eval();
    auto out = net->classify(x);
    return {{"logits", out.logits.to(torch::kFloat32)}, {"features", out.features.to(torch::kFloat32)}};
  });
}

Napi::Value Classifier::Parameters(const Napi::CallbackInfo& info) { return module_parameters(info, *this, *net_); }
Napi::Value Classifier::LoadParameters(const Napi::CallbackInfo& info) {
  return module_load_parameters(info, *this, *net_);
}
Napi::Value Classifier::ParameterCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(mmdisco::parameter_count(*net_)));
}

Napi::Function Classifier::define(Napi::Env env) {
  return DefineClass(env, "Classifier",
                     {method<&Classifier::TrainSteps>("trainSteps"), method<&Classifier::Predict>("predict"),
                      method<&Classifier::Parameters>("parameters"), method<&Classifier::LoadParameters>("loadParameters"),
                      getter<&Classifier::ParameterCount>("parameterCount")});
}

void register_classifier(Napi::Env env, Napi::Object exports) {
  auto cls = Classifier::define(env);
  register_handle_class(env, cls, [](Napi::Object o) -> NativeHandle* { return Classifier::Unwrap(o); });
  exports.Set("Classifier", cls);
}

}  // namespace mmdisco_binding
