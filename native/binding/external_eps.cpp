// The JS class TorchScriptEps: an ε-source backed by a module loaded with torch::jit::load.
#include "external_eps.h"

#include "convert.h"
#include "handle.h"
#include "torchscript_eps.h"

namespace mmdisco_binding {

namespace {

class TorchScriptEpsObject : public Napi::ObjectWrap<TorchScriptEpsObject>, public NativeHandle {
 public:
  explicit TorchScriptEpsObject(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<TorchScriptEpsObject>(info), NativeHandle("TorchScriptEps", nullptr) {
    try {
      Options o(info[0], "TorchScriptEps");
      source_ = std::make_shared<mmdisco::TorchScriptEps>(
          o.string("path"), mmdisco::NoiseSchedule(parse_schedule(o.object("schedule"))),
          parse_device(o.string("device", "cpu")), parse_dtype(o.string("dtype", "float32")));
      set_worker(Worker::for_threads(static_cast<int>(o.integer("threads", 0))));
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), error_message(e));
    }
  }

  std::shared_ptr<mmdisco::EpsSource> eps_source() override { return source_; }

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
  auto constructor = TorchScriptEpsObject::DefineClass(env, "TorchScriptEps",
                                                       {TorchScriptEpsObject::InstanceMethod("eps", &TorchScriptEpsObject::Eps)});
  register_handle_class(env, constructor, [](Napi::Object o) -> NativeHandle* { return TorchScriptEpsObject::Unwrap(o); });
  exports.Set("TorchScriptEps", constructor);
}

}  // namespace mmdisco_binding
