#include "sampling_calls.h"

#include "arguments.h"
#include "discriminator.h"
#include "js_errors.h"
#include "sampling.h"

namespace mmdisco_binding {

namespace {

// sample({sources | joint, shapes, n, sampler, steps, seed, guidanceRepeats?, dpmThresholding?, critic?, lambdas?,
// guidanceInterval?, condition?, cfg?}) →
// {x0, x1, …}; condition and cfg bind a Discriminator critic's conditioning as in its logit/residuals.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  Options o(info[0], "sample");
  const bool joint = o.has("joint");
  if (joint == o.has("sources")) o.fail("sources", "give either sources (one ε-source per modality) or joint (a joint base model)");
  std::vector<Use> uses;  // sampling only reads its models
  std::vector<std::shared_ptr<mmdisco::EpsSource>> sources;
  std::shared_ptr<mmdisco::JointEpsSource> joint_source;
  if (joint) {
    auto* h = unwrap_handle(o.value("joint"), "joint");
    joint_source = h->joint_eps_source();
    if (!joint_source) o.fail("joint", "must be a joint ε-source (TorchScriptJointEps)");
    uses.push_back({h, Access::Read});
  } else {
    auto sources_value = o.value("sources");
    if (!sources_value.IsArray() || sources_value.As<Napi::Array>().Length() == 0)
      o.fail("sources", "must be a non-empty array of ε-sources");
    auto sources_array = sources_value.As<Napi::Array>();
    for (uint32_t i = 0; i < sources_array.Length(); ++i) {
      auto* h = unwrap_handle(sources_array.Get(i), "sources[" + std::to_string(i) + "]");
      if (!h->eps_source()) o.fail("sources", "must hold ε-sources (EpsModel or AnalyticEps)");
      uses.push_back({h, Access::Read});
      sources.push_back(h->eps_source());
    }
  }
  const size_t modalities = joint ? joint_source->modalities() : sources.size();
  auto shapes_value = o.value("shapes");
  if (!shapes_value.IsArray() || shapes_value.As<Napi::Array>().Length() != modalities)
    o.fail("shapes", "must hold one per-sample shape per modality");
  const int64_t n = o.integer("n");
  if (n < 1) o.fail("n", "must be at least 1");
  std::vector<std::vector<int64_t>> shapes;
  for (uint32_t i = 0; i < modalities; ++i) {
    Napi::Value shape_value = shapes_value.As<Napi::Array>().Get(i);
    if (!shape_value.IsArray()) o.fail("shapes", "must hold arrays of integers");
    std::vector<int64_t> shape{n};
    auto s = shape_value.As<Napi::Array>();
    for (uint32_t j = 0; j < s.Length(); ++j) shape.push_back(s.Get(j).As<Napi::Number>().Int64Value());
    shapes.push_back(shape);
  }
  mmdisco::SamplerConfig config;
  mmdisco::parse_sampler(o.string("sampler", "ddpm"), config);
  config.steps = o.integer("steps", 100);
  config.guidance_repeats = o.integer("guidanceRepeats", 1);
  config.dpm_thresholding.enabled = o.boolean("dpmThresholding", false);
  const auto seed = static_cast<uint64_t>(o.integer("seed", 0));
  mmdisco::JointGuidanceConfig guidance;
  if (o.has("critic")) {
    auto* h = unwrap_handle(o.value("critic"), "critic");
    if (!h->critic()) o.fail("critic", "must be a Discriminator or OracleCritic");
    if (modalities != 2) o.fail("critic", "needs exactly two modalities (audio, video)");
    guidance.critic = h->critic();
    auto* disc = dynamic_cast<DiscriminatorHandle*>(h);
    for (const auto& use : disc ? disc->reads() : std::vector<Use>{{h, Access::Read}}) uses.push_back(use);
    const auto lambdas = o.numbers("lambdas");
    if (lambdas.size() != 2) o.fail("lambdas", "must be [lambdaAudio, lambdaVideo]");
    guidance.lambda_audio = lambdas[0];
    guidance.lambda_video = lambdas[1];
    if (o.has("guidanceInterval")) {
      const auto T = joint ? joint_source->schedule(0).timesteps() : sources[0]->schedule().timesteps();
      const auto [lo, hi] = o.timestep_range("guidanceInterval", T - 1);
      guidance.interval = {lo, hi};
    }
    if (o.has("condition") || o.has("cfg")) {
      if (!disc) o.fail(o.has("condition") ? "condition" : "cfg", "needs a Discriminator as critic");
      guidance.critic = disc->guidance_critic(
          conditioning_from_js(o.has("condition") ? o.value("condition") : Napi::Value(), "condition", disc->placement()),
          cfg_from_js(o.has("cfg") ? o.value("cfg") : Napi::Value(), disc->placement()));
    }
  } else if (o.has("guidanceInterval")) {
    o.fail("guidanceInterval", "needs a critic");
  } else if (o.has("condition") || o.has("cfg")) {
    o.fail(o.has("condition") ? "condition" : "cfg", "needs a Discriminator as critic");
  }
  return run_async(info.Env(), *uses[0].handle, uses, {info[0]}, [=]() -> mmdisco::NamedTensors {
    auto xs = joint_source ? mmdisco::sample_joint(*joint_source, shapes, config, seed, guidance)
                           : mmdisco::sample_sources(sources, shapes, config, seed, guidance);
    mmdisco::NamedTensors out;
    for (size_t i = 0; i < xs.size(); ++i) out.emplace_back("x" + std::to_string(i), xs[i]);
    return out;
  });
}

Napi::Value ScheduleAlphaBar(const Napi::CallbackInfo& info) {
  mmdisco::NoiseSchedule schedule(parse_schedule(Options(info[0], "scheduleAlphaBar")));
  return tensor_to_js(info.Env(), schedule.alpha_bar());
}

}  // namespace

void register_sampling(Napi::Env env, Napi::Object exports) {
  exports.Set("sample", Napi::Function::New(
                            env, [](const Napi::CallbackInfo& info) { return guarded(info.Env(), "sample", [&] { return Sample(info); }); },
                            "sample"));
  exports.Set("scheduleAlphaBar",
              Napi::Function::New(
                  env,
                  [](const Napi::CallbackInfo& info) {
                    return guarded(info.Env(), "scheduleAlphaBar", [&] { return ScheduleAlphaBar(info); });
                  },
                  "scheduleAlphaBar"));
}

}  // namespace mmdisco_binding
