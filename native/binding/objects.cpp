// The JS classes: EpsModel, AnalyticEps, OracleCritic, Discriminator, DiscriminatorTrainer.
#include "objects.h"

#include "clipped_eps.h"
#include "convert.h"
#include "gaussian_mixture.h"
#include "handle.h"
#include "model_factory.h"
#include "process_group.h"
#include "train.h"
#include "unet_options.h"

namespace mmdisco_binding {

using mmdisco::NamedTensors;

Placement parse_placement(const Options& o) {
  Placement p;
  p.device = parse_device(o.string("device", "cpu"));
  p.dtype = parse_dtype(o.string("dtype", "float32"));
  p.threads = static_cast<int>(o.integer("threads", 0));
  p.seed = static_cast<uint64_t>(o.integer("seed", 0));
  return p;
}

mmdisco::OptimizerConfig parse_optimizer(const Options& o) {
  mmdisco::OptimizerConfig c;
  c.lr = o.number("lr", c.lr);
  c.weight_decay = o.number("weightDecay", c.weight_decay);
  c.beta1 = o.number("beta1", c.beta1);
  c.beta2 = o.number("beta2", c.beta2);
  c.grad_clip = o.number("gradClip", c.grad_clip);
  return c;
}

namespace {

// {weights: number[K], audio: {means: number[K][da], std: number[K]}, video: {…}}: the TS CoupledGaussianMixture.
std::shared_ptr<const mmdisco::GaussianMixturePair> parse_mixture(const Options& o) {
  mmdisco::GaussianMixtureConfig c;
  c.weights = o.numbers("weights");
  auto components = [&](const char* key, std::vector<double>& means, std::vector<double>& std, int64_t& dim) {
    auto m = o.object(key);
    std = m.numbers("std");
    auto rows = m.value("means");
    if (!rows.IsArray()) m.fail("means", "must be an array of mean vectors");
    auto arr = rows.As<Napi::Array>();
    dim = -1;
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value row = arr.Get(k);
      if (!row.IsArray()) m.fail("means", "must be an array of mean vectors");
      auto r = row.As<Napi::Array>();
      if (dim >= 0 && dim != static_cast<int64_t>(r.Length())) m.fail("means", "rows must share one length");
      dim = r.Length();
      for (uint32_t j = 0; j < r.Length(); ++j) means.push_back(r.Get(j).As<Napi::Number>().DoubleValue());
    }
  };
  components("audio", c.audio_means, c.audio_std, c.audio_dim);
  components("video", c.video_means, c.video_std, c.video_dim);
  return std::make_shared<const mmdisco::GaussianMixturePair>(c);
}

// {kind: 'mmdisco', preset?, …overrides}: a released setting (default audioldm-animatediff) with overrides.
mmdisco::MmdiscoDiscriminatorConfig parse_mmdisco_network(const Options& o) {
  mmdisco::MmdiscoDiscriminatorConfig c;
  try {
    c = mmdisco::mmdisco_preset(o.string("preset", "audioldm-animatediff"));
  } catch (const std::invalid_argument& e) {
    o.fail("preset", e.what());
  }
  c.video_channels = o.integer("videoChannels", c.video_channels);
  c.audio_channels = o.integer("audioChannels", c.audio_channels);
  c.audio_conv = o.string("audioConv", c.audio_conv);
  c.max_dilation = o.integer("maxDilation", c.max_dilation);
  c.video_patch = o.integer("videoPatch", c.video_patch);
  c.video_pool = o.string("videoPool", c.video_pool);
  c.width = o.integer("width", c.width);
  if (o.has("channelMult")) c.channel_mult = o.integers("channelMult");
  c.blocks_per_level = o.integer("blocksPerLevel", c.blocks_per_level);
  c.time_dim = o.integer("timeDim", c.time_dim);
  c.video_text_dim = o.integer("videoTextDim", c.video_text_dim);
  c.audio_text_dim = o.integer("audioTextDim", c.audio_text_dim);
  c.text_projection = o.boolean("textProjection", c.text_projection);
  c.fusion = o.string("fusion", c.fusion);
  c.fusion_width = o.integer("fusionWidth", c.fusion_width);
  c.fusion_layers = o.integer("fusionLayers", c.fusion_layers);
  c.fusion_heads = o.integer("fusionHeads", c.fusion_heads);
  c.fusion_head_dim = o.integer("fusionHeadDim", c.fusion_head_dim);
  c.fusion_max_tokens = o.integer("fusionMaxTokens", c.fusion_max_tokens);
  c.fusion_tokens = o.string("fusionTokens", c.fusion_tokens);
  c.groups = o.integer("groups", c.groups);
  if (o.has("crossAttentionLevels")) c.cross_attention_levels = o.integers("crossAttentionLevels");
  c.cross_attention_window = o.integer("crossAttentionWindow", c.cross_attention_window);
  c.cross_attention_heads = o.integer("crossAttentionHeads", c.cross_attention_heads);
  for (const int64_t level : c.cross_attention_levels) {
    if (level < 0 || level >= static_cast<int64_t>(c.channel_mult.size())) {
      o.fail("crossAttentionLevels", "must be levels of channelMult, 0 to " + std::to_string(c.channel_mult.size() - 1));
    }
  }
  if (c.cross_attention_window < 0) o.fail("crossAttentionWindow", "must be ≥ 0 (0: the whole clip)");
  if (c.cross_attention_heads < 1) o.fail("crossAttentionHeads", "must be ≥ 1");
  if (c.audio_conv != "2d" && c.audio_conv != "1d") o.fail("audioConv", "must be '2d' or '1d'");
  if (c.fusion != "A" && c.fusion != "B") o.fail("fusion", "must be 'A' or 'B'");
  if (c.video_pool != "mean" && c.video_pool != "max") o.fail("videoPool", "must be 'mean' or 'max'");
  return c;
}

// Timesteps as a number (broadcast over the batch) or an Int32Array tensor of shape (B,).
torch::Tensor timesteps_from_js(Napi::Value value, int64_t batch) {
  if (value.IsNumber()) return torch::full({batch}, value.As<Napi::Number>().Int64Value(), torch::kInt64);
  return tensor_from_js(value, "t").to(torch::kInt64);
}

// ---- critics: logit and residuals, shared by Discriminator and OracleCritic ---------------------------

// Every object argument of the call stays referenced until it settles (inputs are wrapped without copying);
// primitives need no reference (and Node-API cannot make one to them).
std::vector<Napi::Value> call_arguments(const Napi::CallbackInfo& info) {
  std::vector<Napi::Value> values{info.This()};
  for (size_t i = 0; i < info.Length(); ++i) {
    if (info[i].IsObject()) values.push_back(info[i]);
  }
  return values;
}

Napi::Value critic_logit(const Napi::CallbackInfo& info, NativeHandle& self, const Placement& place,
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

Napi::Value critic_residuals(const Napi::CallbackInfo& info, NativeHandle& self, const Placement& place,
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

}  // namespace

mmdisco::Conditioning conditioning_from_js(Napi::Value value, const std::string& what, const Placement& place) {
  mmdisco::Conditioning c;
  if (value.IsUndefined() || value.IsNull()) return c;
  Options o(value, what);
  if (o.has("audio")) c.audio = tensor_from_js(o.value("audio"), what + ".audio").to(place.device, place.dtype);
  if (o.has("video")) c.video = tensor_from_js(o.value("video"), what + ".video").to(place.device, place.dtype);
  return c;
}

std::shared_ptr<mmdisco::JointCritic> discriminator_critic(const std::shared_ptr<mmdisco::Discriminator>& disc,
                                                           Napi::Value condition, Napi::Value cfg,
                                                           const Placement& place) {
  auto c = conditioning_from_js(condition, "condition", place);
  std::shared_ptr<mmdisco::JointCritic> critic = disc;
  if (c.audio.defined() || c.video.defined()) critic = std::make_shared<mmdisco::ConditionedCritic>(disc, c);
  if (cfg.IsUndefined() || cfg.IsNull()) return critic;
  Options o(cfg, "cfg");
  auto null_condition = conditioning_from_js(o.value("nullCondition"), "cfg.nullCondition", place);
  auto unconditional = std::make_shared<mmdisco::ConditionedCritic>(disc, null_condition);
  auto scales = o.object("scales");
  return std::make_shared<mmdisco::CfgCritic>(critic, unconditional,
                                              mmdisco::CfgScales{scales.number("audio"), scales.number("video")});
}

// ---- parameters: named (checkpoints) and flat (finite differences), for modules ---------------------

Napi::Value module_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module) {
  return run_async(info.Env(), self, {{&self, Access::Read}}, {info.This()},
                   [&module]() -> NamedTensors { return mmdisco::named_parameters(module); });
}

Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self,
                                   std::vector<torch::nn::Module*> modules) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "loadParameters expects {name: tensor}");
  auto obj = info[0].As<Napi::Object>();
  NamedTensors values;
  auto names = obj.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    values.emplace_back(name, tensor_from_js(obj.Get(name), "parameter '" + name + "'"));
  }
  return run_async(info.Env(), self, {{&self, Access::Write}}, {info.This(), info[0]}, [modules, values]() -> NamedTensors {
    for (auto* module : modules) mmdisco::load_named_parameters(*module, values);
    return {};
  });
}

Napi::Value module_load_parameters(const Napi::CallbackInfo& info, NativeHandle& self, torch::nn::Module& module) {
  return module_load_parameters(info, self, std::vector<torch::nn::Module*>{&module});
}

namespace {

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

// ---- training state: a trainer's bytes for an exact resume (EpsModel, DiscriminatorTrainer) -----------------

template <typename Trainer>
Napi::Value trainer_state(const Napi::CallbackInfo& info, NativeHandle& self, const std::vector<Use>& uses,
                          std::shared_ptr<Trainer> trainer) {
  return run_async(info.Env(), self, uses, {info.This()}, [trainer]() -> NamedTensors {
    auto bytes = trainer->save_state();
    auto state = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
    std::memcpy(state.data_ptr(), bytes.data(), bytes.size());
    return {{"state", state}, {"step", torch::tensor(static_cast<double>(trainer->steps()), torch::kFloat64)}};
  });
}

template <typename Trainer>
Napi::Value load_trainer_state(const Napi::CallbackInfo& info, NativeHandle& self, const std::vector<Use>& uses,
                               std::shared_ptr<Trainer> trainer) {
  auto state = tensor_from_js(info[0], "state");
  if (state.scalar_type() != torch::kUInt8 || state.dim() != 1)
    throw Napi::TypeError::New(info.Env(), "loadTrainingState expects {data: Uint8Array, shape: [bytes]}");
  return run_async(info.Env(), self, uses, {info.This(), info[0]}, [trainer, state]() -> NamedTensors {
    trainer->load_state(std::string(static_cast<const char*>(state.data_ptr()), state.numel()));
    return {{"step", torch::tensor(static_cast<double>(trainer->steps()), torch::kFloat64)}};
  });
}

}  // namespace

// ==== EpsModel: a built-in ε-network with its schedule and optimiser ==========================================

EpsModel::EpsModel(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<EpsModel>(info), NativeHandle("EpsModel", nullptr) {
  guarded(info.Env(), [&] {
    Options o(info[0], "EpsModel");
    place_ = parse_placement(o);
    auto net = o.object("network");
    auto kind = net.string("kind");
    const auto schedule = parse_schedule(o.object("schedule"));
    std::function<std::shared_ptr<mmdisco::NetworkEps>()> build;
    if (kind == "mlp") {
      mmdisco::MlpEpsConfig c;
      c.dim = net.integer("dim");
      c.hidden = net.integer("hidden", c.hidden);
      c.blocks = net.integer("blocks", c.blocks);
      c.time_dim = net.integer("timeDim", c.time_dim);
      build = [=] { return mmdisco::make_mlp_eps(c, schedule, place_.seed, place_.device, place_.dtype); };
    } else if (is_unet_kind(kind)) {
      const auto c = parse_unet_network(net);
      build = [=] { return mmdisco::make_unet_eps(c, schedule, place_.seed, place_.device, place_.dtype); };
    } else {
      net.fail("kind", "must be 'mlp', 'video-unet' or 'audio-unet', got '" + kind + "'");
    }
    model_ = build();
    optimizer_ = o.has("optimizer") ? parse_optimizer(o.object("optimizer")) : mmdisco::OptimizerConfig{};
    if (o.has("ema")) {
      training_.ema = build();
      training_.ema_decay = o.object("ema").number("decay");
    }
    const auto precision = o.string("cudaPrecision", "bf16");
    if (precision != "bf16" && precision != "fp32") o.fail("cudaPrecision", "must be 'bf16' or 'fp32'");
    training_.cuda_bf16_autocast = precision == "bf16";
    sampling_source_ = inference_model();
    if (o.has("x0Range")) {
      auto range = o.numbers("x0Range");
      if (range.size() != 2 || !(range[0] < range[1])) o.fail("x0Range", "must be [low, high] with low < high");
      sampling_source_ = std::make_shared<mmdisco::X0ClippedEps>(sampling_source_, range[0], range[1]);
    }
    set_worker(Worker::for_threads(place_.threads));
  });
}

// Created on first use, so that loadParameters() before training sets the starting weights (and the EMA's).
const std::shared_ptr<mmdisco::EpsTrainer>& EpsModel::trainer() {
  if (!trainer_) trainer_ = std::make_shared<mmdisco::EpsTrainer>(model_, optimizer_, place_.seed + 1, training_);
  return trainer_;
}

Napi::Value EpsModel::TrainSteps(const Napi::CallbackInfo& info) {
  auto x0 = tensor_from_js(info[0], "x0");
  const int64_t batch = info[1].As<Napi::Number>().Int64Value();
  if (batch < 1 || x0.dim() < 1 || x0.size(0) % batch != 0)
    throw Napi::RangeError::New(info.Env(), "trainSteps: x0.shape[0] must be a positive multiple of batchSize");
  auto trainer = this->trainer();
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This(), info[0]}, [trainer, x0, batch]() -> NamedTensors {
    const int64_t steps = x0.size(0) / batch;
    auto losses = torch::empty({steps}, torch::kFloat64);
    for (int64_t s = 0; s < steps; ++s) losses[s] = trainer->step(x0.slice(0, s * batch, (s + 1) * batch));
    return {{"losses", losses}, {"step", torch::tensor(static_cast<double>(trainer->steps()), torch::kFloat64)}};
  });
}

Napi::Value EpsModel::TrainingState(const Napi::CallbackInfo& info) {
  return trainer_state(info, *this, {{this, Access::Read}}, trainer());
}

Napi::Value EpsModel::LoadTrainingState(const Napi::CallbackInfo& info) {
  return load_trainer_state(info, *this, {{this, Access::Write}}, trainer());
}

Napi::Value EpsModel::SetDataParallel(const Napi::CallbackInfo& info) {
  auto trainer = this->trainer();
  return set_data_parallel(info, *this, {{this, Access::Write}}, model_->module(),
                           [trainer](auto sync) { trainer->set_gradient_sync(sync); });
}

Napi::Value EpsModel::Eps(const Napi::CallbackInfo& info) {
  auto x = tensor_from_js(info[0], "x");
  auto t = timesteps_from_js(info[1], x.size(0));
  auto source = sampling_source_;
  return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0], info[1]}, [source, x, t]() -> NamedTensors {
    return {{"eps", source->eps(x, t)}};
  });
}

Napi::Value EpsModel::Parameters(const Napi::CallbackInfo& info) {
  return module_parameters(info, *this, inference_model()->module());
}
Napi::Value EpsModel::LoadParameters(const Napi::CallbackInfo& info) {
  if (!training_.ema) return module_load_parameters(info, *this, model_->module());
  // Both copies: a model loaded from a checkpoint samples with, and continues training from, the same weights.
  return module_load_parameters(info, *this, {&model_->module(), &training_.ema->module()});
}
Napi::Value EpsModel::ParameterCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(mmdisco::parameter_count(model_->module())));
}

// ==== AnalyticEps: the exact marginal ε of a Gaussian mixture ================================================

AnalyticEps::AnalyticEps(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<AnalyticEps>(info), NativeHandle("AnalyticEps", Worker::for_threads(1)) {
  guarded(info.Env(), [&] {
    Options o(info[0], "AnalyticEps");
    auto place = parse_placement(o);
    source_ = std::make_shared<mmdisco::AnalyticMarginalEps>(
        parse_mixture(o.object("mixture")), mmdisco::parse_modality(o.string("modality")),
        mmdisco::NoiseSchedule(parse_schedule(o.object("schedule"))), place.device, place.dtype);
  });
}

Napi::Value AnalyticEps::Eps(const Napi::CallbackInfo& info) {
  auto x = tensor_from_js(info[0], "x");
  auto t = timesteps_from_js(info[1], x.size(0));
  auto source = source_;
  return run_async(info.Env(), *this, {{this, Access::Read}}, {info.This(), info[0], info[1]}, [source, x, t]() -> NamedTensors {
    return {{"eps", source->eps(x.to(source->device(), source->dtype()), t.to(source->device()))}};
  });
}

// ==== OracleCritic: the exact log density ratio of a Gaussian mixture ========================================

OracleCritic::OracleCritic(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<OracleCritic>(info), NativeHandle("OracleCritic", Worker::for_threads(1)) {
  guarded(info.Env(), [&] {
    Options o(info[0], "OracleCritic");
    place_ = parse_placement(o);
    critic_ = std::make_shared<mmdisco::OracleCritic>(
        parse_mixture(o.object("mixture")), mmdisco::NoiseSchedule(parse_schedule(o.object("audioSchedule"))),
        mmdisco::NoiseSchedule(parse_schedule(o.object("videoSchedule"))));
  });
}

Napi::Value OracleCritic::Logit(const Napi::CallbackInfo& info) {
  return critic_logit(info, *this, place_, critic_, {{this, Access::Read}});
}
Napi::Value OracleCritic::Residuals(const Napi::CallbackInfo& info) {
  return critic_residuals(info, *this, place_, critic_, {{this, Access::Read}});
}

// ==== Discriminator ===========================================================================================

Discriminator::Discriminator(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Discriminator>(info), NativeHandle("Discriminator", nullptr) {
  guarded(info.Env(), [&] {
    Options o(info[0], "Discriminator");
    place_ = parse_placement(o);
    auto net = o.object("network");
    auto kind = net.string("kind");
    auto audio_schedule = parse_schedule(o.object("audioSchedule"));
    auto video_schedule = parse_schedule(o.object("videoSchedule"));
    if (kind == "toy-mlp") {
      mmdisco::ToyDiscriminatorConfig c;
      c.audio_dim = net.integer("audioDim");
      c.video_dim = net.integer("videoDim");
      c.hidden = net.integer("hidden", c.hidden);
      c.blocks = net.integer("blocks", c.blocks);
      c.time_dim = net.integer("timeDim", c.time_dim);
      c.fusion = net.string("fusion", c.fusion);
      disc_ = mmdisco::make_toy_discriminator(c, audio_schedule, video_schedule, place_.seed, place_.device,
                                              place_.dtype);
    } else if (kind == "mmdisco") {
      disc_ = mmdisco::make_mmdisco_discriminator(parse_mmdisco_network(net), audio_schedule, video_schedule,
                                                 place_.seed, place_.device, place_.dtype);
    } else {
      net.fail("kind", "must be 'toy-mlp' or 'mmdisco', got '" + kind + "'");
    }
    if (o.has("denoisers")) {
      Options d(o.value("denoisers"), "Discriminator denoisers");
      std::shared_ptr<mmdisco::EpsSource> sources[2];
      for (int i = 0; i < 2; ++i) {
        const char* name = i == 0 ? "audio" : "video";
        const Napi::Value value = d.value(name);
        auto* base = unwrap_handle(value, std::string("denoisers.") + name);
        sources[i] = base->eps_source();
        if (!sources[i]) d.fail(name, "must be an ε-source (EpsModel or AnalyticEps)");
        denoisers_.push_back(base);
        denoiser_refs_.emplace_back(Napi::Persistent(value.As<Napi::Object>()));
      }
      disc_->set_denoisers(sources[0], sources[1]);
    }
    set_worker(Worker::for_threads(place_.threads));
  });
}

std::vector<Use> Discriminator::reads() {
  std::vector<Use> uses{{this, Access::Read}};
  for (auto* base : denoisers_) uses.push_back({base, Access::Read});
  return uses;
}

Napi::Value Discriminator::Logit(const Napi::CallbackInfo& info) {
  return critic_logit(info, *this, place_, discriminator_critic(disc_, info[3], info[4], place_), reads());
}
Napi::Value Discriminator::Residuals(const Napi::CallbackInfo& info) {
  return critic_residuals(info, *this, place_, discriminator_critic(disc_, info[3], info[4], place_), reads());
}
Napi::Value Discriminator::Parameters(const Napi::CallbackInfo& info) {
  return module_parameters(info, *this, disc_->module());
}
Napi::Value Discriminator::LoadParameters(const Napi::CallbackInfo& info) {
  return module_load_parameters(info, *this, disc_->module());
}
Napi::Value Discriminator::FlatParameters(const Napi::CallbackInfo& info) {
  return module_flat_parameters(info, *this, disc_->module());
}
Napi::Value Discriminator::SetFlatParameters(const Napi::CallbackInfo& info) {
  return module_set_flat_parameters(info, *this, disc_->module());
}
Napi::Value Discriminator::ParameterCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(mmdisco::parameter_count(disc_->module())));
}

// ==== DiscriminatorTrainer ====================================================================================

DiscriminatorTrainer::DiscriminatorTrainer(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<DiscriminatorTrainer>(info), NativeHandle("DiscriminatorTrainer", nullptr) {
  guarded(info.Env(), [&] {
    auto* disc = dynamic_cast<Discriminator*>(unwrap_handle(info[0], "discriminator"));
    if (!disc) throw Napi::TypeError::New(info.Env(), "discriminator must be a Discriminator");
    audio_base_ = unwrap_handle(info[1], "audioBase");
    video_base_ = unwrap_handle(info[2], "videoBase");
    if (!audio_base_->eps_source() || !video_base_->eps_source())
      throw Napi::TypeError::New(info.Env(), "audioBase and videoBase must be ε-sources (EpsModel or AnalyticEps)");
    Options o(info[3], "DiscriminatorTrainer");
    disc_handle_ = disc;
    place_ = disc->placement();
    for (int i = 0; i < 3; ++i) refs_.emplace_back(Napi::Persistent(info[i].As<Napi::Object>()));
    mmdisco::TimestepRange timesteps;
    if (o.has("timestepRange")) {
      const auto [lo, hi] = o.timestep_range("timestepRange", disc->discriminator()->audio_schedule().timesteps() - 1);
      timesteps = {lo, hi};
    }
    trainer_ = std::make_shared<mmdisco::DiscriminatorTrainer>(
        disc->discriminator(), audio_base_->eps_source(), video_base_->eps_source(),
        mmdisco::DiscriminatorLossWeights{o.number("lambdaDenoising"), o.number("lambdaClass", 0)},
        o.has("optimizer") ? parse_optimizer(o.object("optimizer")) : mmdisco::OptimizerConfig{},
        static_cast<uint64_t>(o.integer("seed", 0)), timesteps);
    set_worker(disc->worker());
  });
}

// Training writes the discriminator; the frozen base models are only read, so they can serve others meanwhile.
std::vector<Use> DiscriminatorTrainer::trainer_uses() {
  std::vector<Use> uses{{this, Access::Write}, {audio_base_, Access::Read}, {video_base_, Access::Read}};
  for (const auto& use : disc_handle_->reads()) {
    uses.push_back({use.handle, use.handle == disc_handle_ ? Access::Write : Access::Read});
  }
  return uses;
}

mmdisco::DiscriminatorBatch DiscriminatorTrainer::batch_from_js(Napi::Value value) const {
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

Napi::Value DiscriminatorTrainer::TrainSteps(const Napi::CallbackInfo& info) {
  auto data = batch_from_js(info[0]);
  const int64_t batch = info[1].As<Napi::Number>().Int64Value();
  const int64_t rows = data.real_audio.size(0);
  if (batch < 1 || rows % batch != 0 || data.real_video.size(0) != rows || data.fake_audio.size(0) != rows ||
      data.fake_video.size(0) != rows)
    throw Napi::RangeError::New(info.Env(),
                                "trainSteps: all four arrays need the same number of rows, a multiple of batchSize");
  if (data.real_classes.defined() && (data.real_classes.dim() != 1 || data.real_classes.size(0) != rows))
    throw Napi::RangeError::New(info.Env(), "trainSteps: realClasses needs one class per real row");
  auto trainer = trainer_;
  return run_async(
      info.Env(), *this, trainer_uses(), {info.This(), info[0]},
      [trainer, data, batch, rows]() -> NamedTensors {
        const int64_t steps = rows / batch;
        auto log = torch::empty({6, steps}, torch::kFloat64);
        std::vector<torch::Tensor> p_real, p_fake, t_real, t_fake;
        for (int64_t s = 0; s < steps; ++s) {
          auto slice = [&](const torch::Tensor& x) { return x.defined() ? x.slice(0, s * batch, (s + 1) * batch) : x; };
          auto slice_condition = [&](const mmdisco::Conditioning& c) {
            return mmdisco::Conditioning{slice(c.audio), slice(c.video)};
          };
          auto loss = trainer->step({slice(data.real_audio), slice(data.real_video), slice(data.fake_audio),
                                     slice(data.fake_video), slice_condition(data.real_condition),
                                     slice_condition(data.fake_condition), slice(data.real_classes)});
          log[0][s] = loss.total.item<double>();
          log[1][s] = loss.bce.item<double>();
          log[2][s] = loss.denoising.item<double>();
          log[3][s] = loss.d_real;
          log[4][s] = loss.d_fake;
          log[5][s] = loss.classes.item<double>();
          p_real.push_back(loss.p_real.to(torch::kCPU, torch::kFloat64));
          p_fake.push_back(loss.p_fake.to(torch::kCPU, torch::kFloat64));
          t_real.push_back(loss.t_real.to(torch::kCPU));
          t_fake.push_back(loss.t_fake.to(torch::kCPU));
        }
        // Per-sample outputs, (steps, batchSize), for per-timestep summaries.
        return {{"total", log[0]},
                {"bce", log[1]},
                {"denoising", log[2]},
                {"dReal", log[3]},
                {"dFake", log[4]},
                {"classLoss", log[5]},
                {"pReal", torch::stack(p_real)},
                {"pFake", torch::stack(p_fake)},
                {"tReal", torch::stack(t_real)},
                {"tFake", torch::stack(t_fake)}};
      });
}

Napi::Value DiscriminatorTrainer::LossAndGradient(const Napi::CallbackInfo& info) {
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

Napi::Value DiscriminatorTrainer::TrainingState(const Napi::CallbackInfo& info) {
  return trainer_state(info, *this, {{this, Access::Read}, {disc_handle_, Access::Read}}, trainer_);
}

Napi::Value DiscriminatorTrainer::LoadTrainingState(const Napi::CallbackInfo& info) {
  return load_trainer_state(info, *this, {{this, Access::Write}, {disc_handle_, Access::Write}}, trainer_);
}

Napi::Value DiscriminatorTrainer::SetDataParallel(const Napi::CallbackInfo& info) {
  auto trainer = trainer_;
  auto& module = dynamic_cast<Discriminator&>(*disc_handle_).discriminator()->module();
  return set_data_parallel(info, *this, {{this, Access::Write}, {disc_handle_, Access::Write}}, module,
                           [trainer](auto sync) { trainer->set_gradient_sync(sync); });
}

// ==== registration ============================================================================================

void register_objects(Napi::Env env, Napi::Object exports) {
  auto eps_model = EpsModel::DefineClass(env, "EpsModel",
                                         {EpsModel::InstanceMethod("trainSteps", &EpsModel::TrainSteps),
                                          EpsModel::InstanceMethod("eps", &EpsModel::Eps),
                                          EpsModel::InstanceMethod("parameters", &EpsModel::Parameters),
                                          EpsModel::InstanceMethod("loadParameters", &EpsModel::LoadParameters),
                                          EpsModel::InstanceMethod("setDataParallel", &EpsModel::SetDataParallel),
                                          EpsModel::InstanceMethod("trainingState", &EpsModel::TrainingState),
                                          EpsModel::InstanceMethod("loadTrainingState", &EpsModel::LoadTrainingState),
                                          EpsModel::InstanceAccessor("parameterCount", &EpsModel::ParameterCount,
                                                                     nullptr)});
  auto analytic = AnalyticEps::DefineClass(env, "AnalyticEps", {AnalyticEps::InstanceMethod("eps", &AnalyticEps::Eps)});
  auto oracle = OracleCritic::DefineClass(env, "OracleCritic",
                                          {OracleCritic::InstanceMethod("logit", &OracleCritic::Logit),
                                           OracleCritic::InstanceMethod("residuals", &OracleCritic::Residuals)});
  auto disc = Discriminator::DefineClass(
      env, "Discriminator",
      {Discriminator::InstanceMethod("logit", &Discriminator::Logit),
       Discriminator::InstanceMethod("residuals", &Discriminator::Residuals),
       Discriminator::InstanceMethod("parameters", &Discriminator::Parameters),
       Discriminator::InstanceMethod("loadParameters", &Discriminator::LoadParameters),
       Discriminator::InstanceMethod("flatParameters", &Discriminator::FlatParameters),
       Discriminator::InstanceMethod("setFlatParameters", &Discriminator::SetFlatParameters),
       Discriminator::InstanceAccessor("parameterCount", &Discriminator::ParameterCount, nullptr)});
  auto trainer = DiscriminatorTrainer::DefineClass(
      env, "DiscriminatorTrainer",
      {DiscriminatorTrainer::InstanceMethod("trainSteps", &DiscriminatorTrainer::TrainSteps),
       DiscriminatorTrainer::InstanceMethod("lossAndGradient", &DiscriminatorTrainer::LossAndGradient),
       DiscriminatorTrainer::InstanceMethod("setDataParallel", &DiscriminatorTrainer::SetDataParallel),
       DiscriminatorTrainer::InstanceMethod("trainingState", &DiscriminatorTrainer::TrainingState),
       DiscriminatorTrainer::InstanceMethod("loadTrainingState", &DiscriminatorTrainer::LoadTrainingState)});

  register_handle_class(env, eps_model, [](Napi::Object o) -> NativeHandle* { return EpsModel::Unwrap(o); });
  register_handle_class(env, analytic, [](Napi::Object o) -> NativeHandle* { return AnalyticEps::Unwrap(o); });
  register_handle_class(env, oracle, [](Napi::Object o) -> NativeHandle* { return OracleCritic::Unwrap(o); });
  register_handle_class(env, disc, [](Napi::Object o) -> NativeHandle* { return Discriminator::Unwrap(o); });
  register_handle_class(env, trainer, [](Napi::Object o) -> NativeHandle* { return DiscriminatorTrainer::Unwrap(o); });

  exports.Set("EpsModel", eps_model);
  exports.Set("AnalyticEps", analytic);
  exports.Set("OracleCritic", oracle);
  exports.Set("Discriminator", disc);
  exports.Set("DiscriminatorTrainer", trainer);
}

}  // namespace mmdisco_binding
