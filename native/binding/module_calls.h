#pragma once
// Asynchronous calls the JS classes share: a module's parameters (named, for checkpoints; flat, for finite
// differences), a trainer's state (bytes, for an exact resume), a critic's logit and residuals, and a profile.
#include <napi.h>

#include <memory>
#include <vector>

#include "guidance.h"
#include "handle.h"
#include "module_state.h"
#include "placement.h"

namespace mmdisco_binding {

// {name: tensor} from JS, for loadParameters.
mmdisco::NamedTensors named_parameters_from_js(Napi::Value value);
Napi::Value module_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module);
// loadParameters({name: tensor}) into each module (strict names and shapes).
Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self,
                                   std::vector<torch::nn::Module*> modules);
Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module);
Napi::Value module_flat_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module);
Napi::Value module_set_flat_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module);

// Any trainer with save_state() → bytes, load_state(bytes) and steps().
template <typename Trainer>
Napi::Value trainer_state(const Napi::CallbackInfo& info, NativeHandle& self, const std::vector<Use>& uses,
                          std::shared_ptr<Trainer> trainer);
template <typename Trainer>
Napi::Value load_trainer_state(const Napi::CallbackInfo& info, NativeHandle& self, const std::vector<Use>& uses,
                               std::shared_ptr<Trainer> trainer);

// logit(a, v, t) and residuals(a, v, t) of a critic on `place`'s device and dtype.
Napi::Value critic_logit(const Napi::CallbackInfo& info, NativeHandle& self, const mmdisco::Placement& place,
                         std::shared_ptr<mmdisco::JointCritic> critic, const std::vector<Use>& uses);
Napi::Value critic_residuals(const Napi::CallbackInfo& info, NativeHandle& self, const mmdisco::Placement& place,
                             std::shared_ptr<mmdisco::JointCritic> critic, const std::vector<Use>& uses);

// Runs `work` on self's worker under the op profiler (op_profile.h) and resolves with [{name, selfMs, calls}], the
// largest first; `device` is where the work computes (CUDA: kernel times).
Napi::Value profile_call(Napi::Env env, NativeHandle& self, const std::vector<Use>& uses,
                         const std::vector<Napi::Value>& keep_alive, const c10::Device& device,
                         std::function<void()> work);

// ---- template definitions ----

torch::Tensor state_bytes_from_js(Napi::Value value);
torch::Tensor bytes_tensor(const std::string& bytes);
torch::Tensor step_tensor(int64_t step);

template <typename Trainer>
Napi::Value trainer_state(const Napi::CallbackInfo& info, NativeHandle& self, const std::vector<Use>& uses,
                          std::shared_ptr<Trainer> trainer) {
  return run_async(info.Env(), self, uses, {info.This()}, [trainer]() -> mmdisco::NamedTensors {
    return {{"state", bytes_tensor(trainer->save_state())}, {"step", step_tensor(trainer->steps())}};
  });
}

template <typename Trainer>
Napi::Value load_trainer_state(const Napi::CallbackInfo& info, NativeHandle& self, const std::vector<Use>& uses,
                               std::shared_ptr<Trainer> trainer) {
  auto state = state_bytes_from_js(info[0]);
  return run_async(info.Env(), self, uses, {info.This(), info[0]}, [trainer, state]() -> mmdisco::NamedTensors {
    trainer->load_state(std::string(static_cast<const char*>(state.data_ptr()), state.numel()));
    return {{"step", step_tensor(trainer->steps())}};
  });
}

}  // namespace mmdisco_binding
