#include "discriminator_trainer.h"

#include "arguments.h"
#include "module_calls.h"
#include "process_group.h"

namespace mmdisco_binding {

using mmdisco::NamedTensors;

DiscriminatorTrainerHandle::DiscriminatorTrainerHandle(const Napi::CallbackInfo& info)
    : JsClass<DiscriminatorTrainerHandle>(info), NativeHandle("DiscriminatorTrainer", nullptr) {
  guarded(info.Env(), "", [&] {
    auto* disc = dynamic_cast<DiscriminatorHandle*>(unwrap_handle(info[0], "discriminator"));
    if (!disc) throw mmdisco::Error(mmdisco::ErrorCode::Argument, "discriminator must be a Discriminator");
    // (discriminator, jointBase, options) or (discriminator, audioBase, videoBase, options).
    auto* first = unwrap_handle(info[1], "base");
    std::shared_ptr<mmdisco::JointEpsSource> base = first->joint_eps_source();
    const bool joint = base != nullptr;
    if (joint) {
      bases_ = {first};
    } else {
      bases_ = {first, unwrap_handle(info[2], "videoBase")};
      if (!bases_[0]->eps_source() || !bases_[1]->eps_source())
        throw mmdisco::Error(mmdisco::ErrorCode::Argument,
                             "the base must be a joint ε-source (TorchScriptJointEps), or audioBase and videoBase "
                             "ε-sources (EpsModel, AnalyticEps or TorchScriptEps)");
      base = std::make_shared<mmdisco::IndependentEps>(
          std::vector<std::shared_ptr<mmdisco::EpsSource>>{bases_[0]->eps_source(), bases_[1]->eps_source()});
    }
    const size_t options_at = joint ? 2 : 3;
    Options o(info[options_at], "DiscriminatorTrainer");
    disc_handle_ = disc;
    place_ = disc->placement();
    for (size_t i = 0; i < options_at; ++i) refs_.emplace_back(Napi::Persistent(info[i].As<Napi::Object>()));
    mmdisco::TimestepRange timesteps;
    if (o.has("timestepRange")) {
      const auto [lo, hi] = o.timestep_range("timestepRange", disc->discriminator()->audio_schedule().timesteps() - 1);
      timesteps = {lo, hi};
    }
    trainer_ = std::make_shared<mmdisco::DiscriminatorTrainer>(
        disc->discriminator(), base, mmdisco::DiscriminatorLossWeights{o.number("lambdaDenoising"), o.number("lambdaClass", 0)},
        o.has("optimizer") ? parse_optimizer(o.object("optimizer")) : mmdisco::OptimizerConfig{},
        static_cast<uint64_t>(o.integer("seed", 0)), timesteps);
    trainer_->set_phase_timing(o.boolean("timePhases", false));
    const auto precision = o.string("precision", "fp32");
    if (precision != "fp32" && precision != "bf16") o.fail("precision", "must be 'fp32' or 'bf16'");
    trainer_->set_bf16_autocast(precision == "bf16");
    set_worker(disc->worker());
  });
}

std::vector<Use> DiscriminatorTrainerHandle::trainer_uses() {
  std::vector<Use> uses{{this, Access::Write}};
  for (auto* base : bases_) uses.push_back({base, Access::Read});
  for (const auto& use : disc_handle_->reads()) {
    uses.push_back({use.handle, use.handle == disc_handle_ ? Access::Write : Access::Read});
  }
  return uses;
}

mmdisco::DiscriminatorBatch DiscriminatorTrainerHandle::batch_from_js(Napi::Value value) const {
  Options o(value, "DiscriminatorTrainer batch");
  auto conv = [&](const char* key) { return tensor_from_js(o.value(key), key).to(place_.device, place_.dtype); };
  auto condition = [&](const char* key) {
    return conditioning_from_js(o.has(key) ? o.value(key) : Napi::Value(), key, place_);
  };
  auto classes = o.has("realClasses") ? tensor_from_js(o.value("realClasses"), "realClasses").to(place_.device, torch::kInt64)
                                      : torch::Tensor();
  return {conv("realAudio"),  conv("realVideo"),           conv("fakeAudio"),
          conv("fakeVideo"),  condition("realCondition"), condition("fakeCondition"), classes};
}

DiscriminatorTrainerHandle::TrainingRows DiscriminatorTrainerHandle::training_rows(const Napi::CallbackInfo& info,
                                                                                   const char* method) const {
  TrainingRows rows{batch_from_js(info[0]), info[1].As<Napi::Number>().Int64Value()};
  guarded(info.Env(), method, [&] { mmdisco::DiscriminatorTrainer::check_train_rows(rows.data, rows.batch_size); });
  return rows;
}

Napi::Value DiscriminatorTrainerHandle::TrainSteps(const Napi::CallbackInfo& info) {
  const auto rows = training_rows(info, "trainSteps");
  auto trainer = trainer_;
  return run_async(info.Env(), *this, trainer_uses(), {info.This(), info[0]}, [trainer, rows]() -> NamedTensors {
    auto log = trainer->train_steps(rows.data, rows.batch_size);
    // Per-sample outputs, (steps, batchSize), for per-timestep summaries.
    NamedTensors out{{"total", log.total},   {"bce", log.bce},       {"denoising", log.denoising}, {"dReal", log.d_real},
                     {"dFake", log.d_fake},  {"classLoss", log.classes}, {"pReal", log.p_real},  {"pFake", log.p_fake},
                     {"tReal", log.t_real},  {"tFake", log.t_fake}};
    if (log.phases_ms.defined()) out.emplace_back("phasesMs", log.phases_ms);
    return out;
  });
}

Napi::Value DiscriminatorTrainerHandle::ProfileSteps(const Napi::CallbackInfo& info) {
  const auto rows = training_rows(info, "profileSteps");
  auto trainer = trainer_;
  return profile_call(info.Env(), *this, trainer_uses(), {info.This(), info[0]}, place_.device,
                      [trainer, rows] { trainer->train_steps(rows.data, rows.batch_size); });
}

Napi::Value DiscriminatorTrainerHandle::LossAndGradient(const Napi::CallbackInfo& info) {
  auto data = batch_from_js(info[0]);
  Options d(info[1], "DiscriminatorTrainer draw");
  auto conv = [&](const char* key) { return tensor_from_js(d.value(key), key).to(place_.device, place_.dtype); };
  mmdisco::DiscriminatorDraw draw{tensor_from_js(d.value("tReal"), "tReal").to(place_.device, torch::kInt64),
                                  tensor_from_js(d.value("tFake"), "tFake").to(place_.device, torch::kInt64),
                                  conv("noiseRealAudio"), conv("noiseRealVideo"), conv("noiseFakeAudio"),
                                  conv("noiseFakeVideo")};
  auto trainer = trainer_;
  return run_async(info.Env(), *this, trainer_uses(), {info.This(), info[0], info[1]},
                   [trainer, data, draw]() -> NamedTensors {
                     auto [loss, grad] = trainer->loss_and_gradient(data, draw);
                     return {{"total", loss.total.detach()},
                             {"bce", loss.bce.detach()},
                             {"denoising", loss.denoising.detach()},
                             {"classLoss", loss.classes.detach()},
                             {"gradient", grad}};
                   });
}

Napi::Value DiscriminatorTrainerHandle::TrainingState(const Napi::CallbackInfo& info) {
  return trainer_state(info, *this, {{this, Access::Read}, {disc_handle_, Access::Read}}, trainer_);
}

Napi::Value DiscriminatorTrainerHandle::LoadTrainingState(const Napi::CallbackInfo& info) {
  return load_trainer_state(info, *this, {{this, Access::Write}, {disc_handle_, Access::Write}}, trainer_);
}

Napi::Value DiscriminatorTrainerHandle::SetDataParallel(const Napi::CallbackInfo& info) {
  auto trainer = trainer_;
  return set_data_parallel(info, *this, {{this, Access::Write}, {disc_handle_, Access::Write}},
                           disc_handle_->discriminator()->module(),
                           [trainer](auto sync) { trainer->set_gradient_sync(sync); });
}

void DiscriminatorTrainerHandle::define(Napi::Env env, Napi::Object exports) {
  auto constructor = DefineClass(env, "DiscriminatorTrainer",
                                 {method<&DiscriminatorTrainerHandle::TrainSteps>("trainSteps"),
                                  method<&DiscriminatorTrainerHandle::ProfileSteps>("profileSteps"),
                                  method<&DiscriminatorTrainerHandle::LossAndGradient>("lossAndGradient"),
                                  method<&DiscriminatorTrainerHandle::SetDataParallel>("setDataParallel"),
                                  method<&DiscriminatorTrainerHandle::TrainingState>("trainingState"),
                                  method<&DiscriminatorTrainerHandle::LoadTrainingState>("loadTrainingState")});
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return Unwrap(o); });
  exports.Set("DiscriminatorTrainer", constructor);
}

}  // namespace mmdisco_binding
