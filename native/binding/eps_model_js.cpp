#include "eps_model_js.h"

#include "arguments.h"
#include "module_calls.h"
#include "process_group.h"

namespace mmdisco_binding {

using mmdisco::NamedTensors;

EpsModelHandle::EpsModelHandle(const Napi::CallbackInfo& info)
    : JsClass<EpsModelHandle>(info), NativeHandle("EpsModel", nullptr) {
  guarded(info.Env(), "", [&] {
    Options o(info[0], "EpsModel");
    const auto place = parse_placement(o);
    mmdisco::EpsModelConfig c;
    try {
      c.network = mmdisco::parse_eps_network(json_from_js(o.value("network")));
    } catch (const mmdisco::ConfigError& e) {
      o.fail_within("network", e);
    }
    c.schedule = parse_schedule(o.object("schedule"));
    c.placement = place.core;
    if (o.has("optimizer")) c.optimizer = parse_optimizer(o.object("optimizer"));
    if (o.has("ema")) c.ema_decay = o.object("ema").number("decay");
    // The training forward's precision is chosen per device kind (bf16 is the usual choice on CUDA; on a CPU it
    // pays only with native bf16 instructions).
    const bool cuda = place.core.device.is_cuda();
    const char* precision_key = cuda ? "cudaPrecision" : "cpuPrecision";
    const auto precision = o.string(precision_key, cuda ? "bf16" : "fp32");
    if (precision != "bf16" && precision != "fp32") o.fail(precision_key, "must be 'bf16' or 'fp32'");
    c.bf16_autocast = precision == "bf16";
    const auto sampling = o.string("samplingPrecision", "fp32");
    if (sampling != "bf16" && sampling != "fp32") o.fail("samplingPrecision", "must be 'bf16' or 'fp32'");
    c.sampling_bf16_autocast = sampling == "bf16";
    if (o.has("x0Range")) {
      const auto range = o.numbers("x0Range");
      if (range.size() != 2) o.fail("x0Range", "must be [low, high] with low < high");
      c.x0_range = std::make_pair(range[0], range[1]);
    }
    try {
      model_ = std::make_shared<mmdisco::EpsModel>(c);
    } catch (const mmdisco::ConfigError& e) {
      throw e.in(o.context());
    }
    set_worker(Worker::for_threads(place.threads));
  });
}

EpsModelHandle::TrainingRows EpsModelHandle::training_rows(const Napi::CallbackInfo& info, const char* method) {
  TrainingRows rows{tensor_from_js(info[0], "x0"), info[1].As<Napi::Number>().Int64Value()};
  guarded(info.Env(), method, [&] { mmdisco::EpsModel::check_train_rows(rows.x0, rows.batch_size); });
  model_->trainer();  // created here, on the JS thread, before the work is queued
  return rows;
}

Napi::Value EpsModelHandle::TrainSteps(const Napi::CallbackInfo& info) {
  const auto rows = training_rows(info, "trainSteps");
  auto model = model_;
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This(), info[0]}, [model, rows]() -> NamedTensors {
    auto log = model->train_steps(rows.x0, rows.batch_size);
    return {{"losses", log.losses}, {"step", step_tensor(log.step)}};
  });
}

Napi::Value EpsModelHandle::ProfileSteps(const Napi::CallbackInfo& info) {
  const auto rows = training_rows(info, "profileSteps");
  auto model = model_;
  return profile_call(info.Env(), *this, {{this, Access::Write}}, {info.This(), info[0]}, model->placement().device,
                      [model, rows] { model->train_steps(rows.x0, rows.batch_size); });
}

Napi::Value EpsModelHandle::TrainingState(const Napi::CallbackInfo& info) {
  return trainer_state(info, *this, {{this, Access::Read}}, model_->trainer());
}

Napi::Value EpsModelHandle::LoadTrainingState(const Napi::CallbackInfo& info) {
  return load_trainer_state(info, *this, {{this, Access::Write}}, model_->trainer());
}

Napi::Value EpsModelHandle::SetDataParallel(const Napi::CallbackInfo& info) {
  auto trainer = model_->trainer();
  return set_data_parallel(info, *this, {{this, Access::Write}}, model_->trained_model().module(),
                           [trainer](auto sync) { trainer->set_gradient_sync(sync); });
}

Napi::Value EpsModelHandle::Eps(const Napi::CallbackInfo& info) {
  auto x = tensor_from_js(info[0], "x");
  auto t = timesteps_from_js(info[1], x.size(0));
  auto source = model_->sampling_source();
  return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0], info[1]},
                   [source, x, t]() -> NamedTensors { return {{"eps", source->eps(x, t)}}; });
}

Napi::Value EpsModelHandle::Parameters(const Napi::CallbackInfo& info) {
  auto model = model_;
  return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This()},
                   [model]() -> NamedTensors { return model->parameters(); });
}

Napi::Value EpsModelHandle::LoadParameters(const Napi::CallbackInfo& info) {
  auto values = named_parameters_from_js(info[0]);
  auto model = model_;
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This(), info[0]}, [model, values]() -> NamedTensors {
    model->load_parameters(values);
    return {};
  });
}

Napi::Value EpsModelHandle::ParameterCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(model_->parameter_count()));
}

void EpsModelHandle::define(Napi::Env env, Napi::Object exports) {
  auto constructor = DefineClass(env, "EpsModel",
                                 {method<&EpsModelHandle::TrainSteps>("trainSteps"),
                                  method<&EpsModelHandle::ProfileSteps>("profileSteps"), method<&EpsModelHandle::Eps>("eps"),
                                  method<&EpsModelHandle::Parameters>("parameters"),
                                  method<&EpsModelHandle::LoadParameters>("loadParameters"),
                                  method<&EpsModelHandle::SetDataParallel>("setDataParallel"),
                                  method<&EpsModelHandle::TrainingState>("trainingState"),
                                  method<&EpsModelHandle::LoadTrainingState>("loadTrainingState"),
                                  getter<&EpsModelHandle::ParameterCount>("parameterCount")});
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return Unwrap(o); });
  exports.Set("EpsModel", constructor);
}

}  // namespace mmdisco_binding
