// Module entry: the classes of objects.cpp and the free functions (sampling, schedule tables, runtime info).
#include <napi.h>
#include <torch/torch.h>

#include "audio.h"
#include "classifier.h"
#include "convert.h"
#include "external_eps.h"
#include "handle.h"
#include "linalg.h"
#include "objects.h"
#include "process_group.h"
#include "rng.h"
#include "sampling.h"
#include "worker.h"

namespace mmdisco_binding {

namespace {

// sample({sources, shapes, n, sampler, steps, seed, critic?, lambdas?, condition?, cfg?}) → {x0, x1, …}; condition
// and cfg bind a Discriminator critic's conditioning as in its logit/residuals.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Options o(info[0], "sample");
  auto sources_value = o.value("sources");
  if (!sources_value.IsArray() || sources_value.As<Napi::Array>().Length() == 0)
    o.fail("sources", "must be a non-empty array of ε-sources");
  auto sources_array = sources_value.As<Napi::Array>();
  auto shapes_value = o.value("shapes");
  if (!shapes_value.IsArray() || shapes_value.As<Napi::Array>().Length() != sources_array.Length())
    o.fail("shapes", "must hold one per-sample shape per source");
  const int64_t n = o.integer("n");
  if (n < 1) o.fail("n", "must be at least 1");

  std::vector<Use> uses;  // sampling only reads its models
  std::vector<std::shared_ptr<mmdisco::EpsSource>> sources;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<Napi::Value> keep{info[0]};
  for (uint32_t i = 0; i < sources_array.Length(); ++i) {
    auto* h = unwrap_handle(sources_array.Get(i), "sources[" + std::to_string(i) + "]");
    if (!h->eps_source()) o.fail("sources", "must hold ε-sources (EpsModel or AnalyticEps)");
    uses.push_back({h, Access::Read});
    sources.push_back(h->eps_source());
    std::vector<int64_t> shape{n};
    Napi::Value shape_value = shapes_value.As<Napi::Array>().Get(i);
    if (!shape_value.IsArray()) o.fail("shapes", "must hold arrays of integers");
    auto s = shape_value.As<Napi::Array>();
    for (uint32_t j = 0; j < s.Length(); ++j) shape.push_back(s.Get(j).As<Napi::Number>().Int64Value());
    shapes.push_back(shape);
  }
  mmdisco::SamplerConfig config;
  std::shared_ptr<mmdisco::JointCritic> critic;
  double lambda_audio = 0, lambda_video = 0;
  mmdisco::TimestepRange interval;
  bool sources_are_critic_bases = false;
  uint64_t seed = 0;
  try {
    config.kind = mmdisco::parse_sampler(o.string("sampler", "ddpm"));
    config.steps = o.integer("steps", 100);
    seed = static_cast<uint64_t>(o.integer("seed", 0));
    if (o.has("critic")) {
      auto* h = unwrap_handle(o.value("critic"), "critic");
      if (!h->critic()) o.fail("critic", "must be a Discriminator or OracleCritic");
      if (sources.size() != 2) o.fail("critic", "needs exactly two sources (audio, video)");
      critic = h->critic();
      if (auto* disc = dynamic_cast<Discriminator*>(h)) {
        for (const auto& use : disc->reads()) uses.push_back(use);
        sources_are_critic_bases = disc->discriminator()->denoises_with(sources[0].get(), sources[1].get());
      } else {
        uses.push_back({h, Access::Read});
      }
      auto lambdas = o.numbers("lambdas");
      if (lambdas.size() != 2) o.fail("lambdas", "must be [lambdaAudio, lambdaVideo]");
      lambda_audio = lambdas[0];
      lambda_video = lambdas[1];
      if (o.has("guidanceInterval")) {
        const auto [lo, hi] = o.timestep_range("guidanceInterval", sources[0]->schedule().timesteps() - 1);
        interval = {lo, hi};
      }
    }
    if (o.has("guidanceInterval") && !o.has("critic")) o.fail("guidanceInterval", "needs a critic");
    if (o.has("condition") || o.has("cfg")) {
      const char* key = o.has("condition") ? "condition" : "cfg";
      auto* disc = o.has("critic") ? dynamic_cast<Discriminator*>(unwrap_handle(o.value("critic"), "critic")) : nullptr;
      if (!disc) o.fail(key, "needs a Discriminator as critic");
      critic = discriminator_critic(disc->discriminator(), o.has("condition") ? o.value("condition") : Napi::Value(),
                                    o.has("cfg") ? o.value("cfg") : Napi::Value(), disc->placement());
    }
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, "sample: " + error_message(e));
  }
  return run_async(env, *uses[0].handle, uses, keep, [=]() -> mmdisco::NamedTensors {
    mmdisco::Rng rng(seed);
    std::vector<mmdisco::EpsSource*> raw;
    for (const auto& s : sources) raw.push_back(s.get());
    mmdisco::EpsCorrection correction;
    if (critic)
      correction = mmdisco::joint_guidance(*critic, lambda_audio, lambda_video, interval, sources_are_critic_bases);
    auto xs = mmdisco::sample(raw, shapes, config, rng, correction);
    mmdisco::NamedTensors out;
    for (size_t i = 0; i < xs.size(); ++i) out.emplace_back("x" + std::to_string(i), xs[i]);
    return out;
  });
}

Napi::Value ScheduleAlphaBar(const Napi::CallbackInfo& info) {
  try {
    mmdisco::NoiseSchedule schedule(parse_schedule(Options(info[0], "scheduleAlphaBar")));
    return tensor_to_js(info.Env(), schedule.alpha_bar());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), "scheduleAlphaBar: " + error_message(e));
  }
}

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

}  // namespace

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  use_one_thread_here();  // a second OpenMP team on the JS thread would slow the workers' (worker.h)
  register_objects(env, exports);
  register_process_group(env, exports);
  register_classifier(env, exports);
  register_torchscript_eps(env, exports);
  register_audio(env, exports);
  register_linalg(env, exports);
  exports.Set("sample", Napi::Function::New(env, Sample, "sample"));
  exports.Set("scheduleAlphaBar", Napi::Function::New(env, ScheduleAlphaBar, "scheduleAlphaBar"));
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfo, "runtimeInfo"));
  return exports;
}

}  // namespace mmdisco_binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return mmdisco_binding::InitAddon(env, exports); }
NODE_API_MODULE(mmdisco_native, Init)
