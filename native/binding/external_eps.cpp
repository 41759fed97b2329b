// The JS classes TorchScriptEps and TorchScriptJointEps: ε-sources backed by modules loaded with torch::jit::load.
#include "external_eps.h"

#include "convert.h"
#include "handle.h"
#include "js_errors.h"
#include "torchscript_eps.h"

namespace mmdisco_binding {

namespace {

class TorchScriptEpsObject : public JsClass<TorchScriptEpsObject>, public NativeHandle {
 public:
  explicit TorchScriptEpsObject(const Napi::CallbackInfo& info)
      : JsClass<TorchScriptEpsObject>(info), NativeHandle("TorchScriptEps", nullptr) {
    guarded(info.Env(), "", [&] {
      Options o(info[0], "TorchScriptEps");
      source_ = std::make_shared<mmdisco::TorchScriptEps>(
          o.string("path"), mmdisco::NoiseSchedule(parse_schedule(o.object("schedule"))),
          parse_device(o.string("device", "cpu")), parse_dtype(o.string("dtype", "float32")));
      set_worker(Worker::for_threads(static_cast<int>(o.integer("threads", 0))));
    });
  }

  std::shared_ptr<mmdisco::EpsSource> eps_source() override { return source_; }
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "TorchScriptEps", {method<&TorchScriptEpsObject::Eps>("eps")});
  }

  Napi::Value Eps(const Napi::CallbackInfo& info) {
    auto x = tensor_from_js(info[0], "x");
    torch::Tensor t = info[1].IsNumber() ? torch::full({x.size(0)}, info[1].As<Napi::Number>().Int64Value(), torch::kInt64)
                                         : tensor_from_js(info[1], "t").to(torch::kInt64);
    auto source = source_;
    return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0], info[1]},
                     [source, x, t]() -> mmdisco::NamedTensors { return {{"eps", source->eps(x, t)}}; });
  }

 private:
  std::shared_ptr<mmdisco::TorchScriptEps> source_;
};

class TorchScriptJointEpsObject : public JsClass<TorchScriptJointEpsObject>, public NativeHandle {
 public:
  explicit TorchScriptJointEpsObject(const Napi::CallbackInfo& info)
      : JsClass<TorchScriptJointEpsObject>(info), NativeHandle("TorchScriptJointEps", nullptr) {
    guarded(info.Env(), "", [&] {
      Options o(info[0], "TorchScriptJointEps");
      std::vector<int64_t> arguments;
      for (const double a : o.numbers("arguments")) arguments.push_back(static_cast<int64_t>(a));
      source_ = std::make_shared<mmdisco::TorchScriptJointEps>(
          o.string("path"), arguments, mmdisco::NoiseSchedule(parse_schedule(o.object("schedule"))),
          parse_device(o.string("device", "cpu")), parse_dtype(o.string("dtype", "float32")));
      set_worker(Worker::for_threads(static_cast<int>(o.integer("threads", 0))));
    });
  }

  std::shared_ptr<mmdisco::JointEpsSource> joint_eps_source() override { return source_; }
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "TorchScriptJointEps", {method<&TorchScriptJointEpsObject::Eps>("eps")});
  }

  // eps([x_0, x_1, …], t) → {eps0, eps1, …} in the modalities' order.
  Napi::Value Eps(const Napi::CallbackInfo& info) {
    if (!info[0].IsArray()) throw mmdisco::Error(mmdisco::ErrorCode::Argument, "eps: x must be an array of tensors, one per modality");
    std::vector<torch::Tensor> x;
    auto array = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) x.push_back(tensor_from_js(array.Get(i), "x[" + std::to_string(i) + "]"));
    if (x.empty()) throw mmdisco::Error(mmdisco::ErrorCode::Argument, "eps: x must hold one tensor per modality");
    torch::Tensor t = info[1].IsNumber() ? torch::full({x[0].size(0)}, info[1].As<Napi::Number>().Int64Value(), torch::kInt64)
                                         : tensor_from_js(info[1], "t").to(torch::kInt64);
    auto source = source_;
    return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0], info[1]},
                     [source, x, t]() -> mmdisco::NamedTensors {
                       mmdisco::NamedTensors out;
                       const auto eps = source->eps(x, t);
                       for (size_t i = 0; i < eps.size(); ++i) out.emplace_back("eps" + std::to_string(i), eps[i]);
                       return out;
                     });
  }

 private:
  std::shared_ptr<mmdisco::TorchScriptJointEps> source_;
};

}  // namespace

void register_torchscript_eps(Napi::Env env, Napi::Object exports) {
  auto constructor = TorchScriptEpsObject::define(env);
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return TorchScriptEpsObject::Unwrap(o); });
  exports.Set("TorchScriptEps", constructor);
  auto joint = TorchScriptJointEpsObject::define(env);
  register_handle_class(env, joint, [](Napi::Object o) -> NativeHandle* { return TorchScriptJointEpsObject::Unwrap(o); });
  exports.Set("TorchScriptJointEps", joint);
}

}  // namespace mmdisco_binding
