#include "module_calls.h"

#include <cstring>

#include "arguments.h"
#include "convert.h"
#include "errors.h"
#include "js_errors.h"
#include "op_profile.h"

namespace mmdisco_binding {

using mmdisco::NamedTensors;

Napi::Value module_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module) {
  return run_async(info.Env(), self, {{&self, Access::Read}}, {info.This()},
                   [&module]() -> NamedTensors { return mmdisco::named_parameters(module); });
}

NamedTensors named_parameters_from_js(Napi::Value value) {
  if (!value.IsObject()) throw mmdisco::Error(mmdisco::ErrorCode::Argument, "loadParameters expects {name: tensor}");
  auto obj = value.As<Napi::Object>();
  NamedTensors values;
  auto names = obj.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    values.emplace_back(name, tensor_from_js(obj.Get(name), "parameter '" + name + "'"));
  }
  return values;
}

Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self,
                                   std::vector<torch::nn::Module*> modules) {
  auto values = named_parameters_from_js(info[0]);
  return run_async(info.Env(), self, {{&self, Access::Write}}, {info.This(), info[0]}, [modules, values]() -> NamedTensors {
    for (auto* module : modules) mmdisco::load_named_parameters(*module, values);
    return {};
  });
}

Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module) {
  return module_load_parameters(info, self, std::vector<torch::nn::Module*>{&module});
}

Napi::Value module_flat_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module) {
  return run_async(info.Env(), self, {{&self, Access::Read}}, {info.This()},
                   [&module]() -> NamedTensors { return {{"values", mmdisco::flat_parameters(module)}}; });
}

Napi::Value module_set_flat_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module) {
  auto flat = tensor_from_js(info[0], "values");
  return run_async(info.Env(), self, {{&self, Access::Write}}, {info.This(), info[0]}, [&module, flat]() -> NamedTensors {
    mmdisco::assign_flat_parameters(module, flat);
    return {};
  });
}

torch::Tensor state_bytes_from_js(Napi::Value value) {
  auto state = tensor_from_js(value, "state");
  if (state.scalar_type() != torch::kUInt8 || state.dim() != 1)
    throw mmdisco::Error(mmdisco::ErrorCode::Argument, "loadTrainingState expects {data: Uint8Array, shape: [bytes]}");
  return state;
}

torch::Tensor bytes_tensor(const std::string& bytes) {
  auto state = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(state.data_ptr(), bytes.data(), bytes.size());
  return state;
}

torch::Tensor step_tensor(int64_t step) { return torch::tensor(static_cast<double>(step), torch::kFloat64); }

Napi::Value critic_logit(const Napi::CallbackInfo& info, NativeHandle& self, const mmdisco::Placement& place,
                         std::shared_ptr<mmdisco::JointCritic> critic, const std::vector<Use>& uses) {
  auto a = tensor_from_js(info[0], "a");
  auto v = tensor_from_js(info[1], "v");
  auto t = timesteps_from_js(info[2], a.size(0));
  return run_async(info.Env(), self, uses, call_arguments(info), [=]() -> NamedTensors {
    torch::AutoGradMode grad_off(false);
    auto ell = critic->log_ratio(a.to(place.device, place.dtype), v.to(place.device, place.dtype), t.to(place.device),
                                 /*base_eps=*/{});
    return {{"logit", ell}};
  });
}

Napi::Value critic_residuals(const Napi::CallbackInfo& info, NativeHandle& self, const mmdisco::Placement& place,
                             std::shared_ptr<mmdisco::JointCritic> critic, const std::vector<Use>& uses) {
  auto a = tensor_from_js(info[0], "a");
  auto v = tensor_from_js(info[1], "v");
  auto t = timesteps_from_js(info[2], a.size(0));
  return run_async(info.Env(), self, uses, call_arguments(info), [=]() -> NamedTensors {
    auto r = critic->residuals(a.to(place.device, place.dtype), v.to(place.device, place.dtype), t.to(place.device),
                               /*create_graph=*/false, /*base_eps=*/{});
    return {{"audio", r.audio}, {"video", r.video}};
  });
}

Napi::Value profile_call(Napi::Env env, NativeHandle& self, const std::vector<Use>& uses,
                         const std::vector<Napi::Value>& keep_alive, const c10::Device& device,
                         std::function<void()> work) {
  guarded(env, "profile", [] { mmdisco::start_op_profiler(); });  // on the thread that loaded LibTorch
  return run_async_json(env, self, uses, keep_alive, [work = std::move(work), device] {
    auto out = mmdisco::Json::array();
    for (const auto& op : mmdisco::profile_ops(work, device)) {
      auto row = mmdisco::Json::object();
      row.set("name", op.name);
      row.set("selfMs", op.self_ms);
      row.set("calls", op.calls);
      out.push(std::move(row));
    }
    return out;
  });
}

}  // namespace mmdisco_binding
