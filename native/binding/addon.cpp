// Module entry: the one place where every JS class and free function of the addon is registered.
#include <napi.h>
#include <torch/torch.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "audio.h"
#include "classifier.h"
#include "device_memory.h"
#include "discriminator.h"
#include "discriminator_trainer.h"
#include "eps_model_js.h"
#include "external_eps.h"
#include "linalg.h"
#include "mixture_models.h"
#include "networks_js.h"
#include "process_group.h"
#include "sampling_calls.h"
#include "worker.h"

namespace mmdisco_binding {

namespace {

Napi::Value RuntimeInfo(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("cudaAvailable", torch::cuda::is_available());
  out.Set("cudaDevices", static_cast<double>(torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  out.Set("interopThreads", static_cast<double>(at::get_num_interop_threads()));
  out.Set("parallelInfo", at::get_parallel_info());
#ifdef USE_C10D_GLOO
  out.Set("gloo", true);
#else
  out.Set("gloo", false);
#endif
  return out;
}

// peakAllocatedBytes(device, {reset}?): the device allocator's high-water mark in bytes since the last reset (null on
// a CPU, whose peak is the process's resident set); with reset: true the mark restarts after it is read.
Napi::Value PeakAllocatedBytes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "peakAllocatedBytes", [&]() -> Napi::Value {
    if (!info[0].IsString())
      throw mmdisco::Error(mmdisco::ErrorCode::Argument, "peakAllocatedBytes: device must be a string such as 'cuda:0'");
    const torch::Device device(info[0].As<Napi::String>().Utf8Value());
    const bool reset = info[1].IsObject() && info[1].As<Napi::Object>().Get("reset").ToBoolean().Value();
    const auto peak = mmdisco::peak_allocated_bytes(device);
    if (reset) mmdisco::reset_peak_allocated(device);
    if (!peak) return info.Env().Null();
    return Napi::Number::New(info.Env(), static_cast<double>(*peak));
  });
}

// glibc serves allocations above its mmap threshold (128 KiB until a large free raises it) with mmap and returns
// them at free, so every CPU tensor of that size costs a page fault per page each time it is made again: a U-Net
// forward pass in a process that has not trained ran ~3× slower than one after training (bench/baseStep.ts). Fix the
// threshold at glibc's maximum and keep up to 256 MiB of freed memory for reuse, as a process warmed by training
// would. (Setting one without the other turns off glibc's dynamic threshold and is slower still.)
void keep_freed_tensor_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  use_one_thread_here();  // a second OpenMP team on the JS thread would slow the workers' (worker.h)
  // NNPACK refuses to initialise on some CPUs ("Unsupported hardware") and then warns once per process; the
  // convolutions it would take run on oneDNN or ATen's own kernels either way.
  at::globalContext().setUserEnabledNNPACK(false);
  keep_freed_tensor_memory();
  EpsModelHandle::define(env, exports);
  AnalyticEpsHandle::define(env, exports);
  OracleCriticHandle::define(env, exports);
  DiscriminatorHandle::define(env, exports);
  DiscriminatorTrainerHandle::define(env, exports);
  register_process_group(env, exports);
  register_classifier(env, exports);
  register_torchscript_eps(env, exports);
  register_audio(env, exports);
  register_linalg(env, exports);
  register_sampling(env, exports);
  register_networks(env, exports);
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfo, "runtimeInfo"));
  exports.Set("peakAllocatedBytes", Napi::Function::New(env, PeakAllocatedBytes, "peakAllocatedBytes"));
  return exports;
}

}  // namespace mmdisco_binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return mmdisco_binding::InitAddon(env, exports); }
NODE_API_MODULE(mmdisco_native, Init)
