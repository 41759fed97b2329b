// The JS class TorchScriptEps: an ε-source backed by a module loaded with torch::jit::load.
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

}  // namespace

void register_torchscript_eps(Napi::Env env, Napi::Object exports) {
  auto constructor = TorchScriptEpsObject::define(env);
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return TorchScriptEpsObject::Unwrap(o); });
  exports.Set("TorchScriptEps", constructor);
}

}  // namespace mmdisco_binding
