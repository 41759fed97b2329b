// Tests of the C++ core on its own (no Node): network configs (parsing, validation, defaults and their JSON round
// trip), sampler determinism, the discriminator loss against a direct computation, the gradient check, and parity
// of the released discriminator checkpoints with the official code's outputs. A plain executable: it prints one
// line per check and exits non-zero on a failure (test/native/coreTests.test.ts runs it under mocha). Its argument
// is the directory of the official fixtures (test/fixtures/official-mmdisco); without it the parity checks fail.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autocast.h"
#include "config/networks.h"
#include "config/official.h"
#include "dpm_solver.h"
#include "eps_model.h"
#include "errors.h"
#include "guidance.h"
#include "json.h"
#include "kernels/group_norm_silu.h"
#include "model_factory.h"
#include "models/mmdisco_discriminator.h"
#include "module_state.h"
#include "official_checkpoint.h"
#include "op_profile.h"
#include "sampling.h"
#include "torchscript_eps.h"
#include "train.h"
#include "twice_differentiable.h"

using namespace mmdisco;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
  if (!ok) ++failures;
}

// 1.2e-05
std::string text(double value) {
  std::ostringstream out;
  out << std::setprecision(2) << std::scientific << value;
  return out.str();
}

// The field of the ConfigError `fn` throws ("" when it throws none).
std::string config_error_field(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const ConfigError& e) {
    if (message) *message = e.what();
    return e.field();
  }
  return "";
}

Json with(Json json, const std::string& key, Json value) {
  json.set(key, std::move(value));
  return json;
}

void json_tests() {
  const std::string text = R"({"a":[1,2.5,-3e-2,true,false,null],"b":{"c":"x\"\\y\u00e9"}})";
  const Json j = Json::parse(text);
  check(j.find("a")->items().size() == 6 && j.find("b")->find("c")->string() == "x\"\\y\xc3\xa9", "JSON parses");
  check(Json::parse(j.dump()) == j, "JSON dump round-trips");
  bool threw = false;
  try {
    Json::parse("{\"a\": }");
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "malformed JSON is rejected");
}

void config_tests() {
  // Defaults and presets: parse → JSON → parse is the identity, and the JSON is complete (no preset needed).
  for (const auto& preset : network_presets("mmdisco")) {
    Json json = Json::parse(R"({"kind":"mmdisco"})");
    json.set("preset", preset);
    if (preset == "guidance-config")
      json = Json::parse(R"({"kind":"mmdisco","preset":"guidance-config","width":32,"channelMult":[1,2],)"
                         R"("blocksPerLevel":1,"timeDim":64,"groups":8,"fusion":"B"})");
    const Json full = validate_network(json);
    check(full.find("preset") == nullptr && validate_network(full) == full, "preset " + preset + " round-trips");
  }
  const auto released = parse_discriminator_network(Json::parse(R"({"kind":"mmdisco"})"));
  check(released.video_text_dim == 768 && released.audio_text_dim == 512 && released.fusion == Fusion::A &&
            released.fusion_width == 256 && released.fusion_layers == 5,
        "no preset: audioldm-animatediff over the struct's defaults");
  const auto mmdiffusion =
      parse_discriminator_network(Json::parse(R"({"kind":"mmdisco","preset":"mmdiffusion","maxDilation":3})"));
  check(mmdiffusion.audio_conv == AudioConv::Conv1d && mmdiffusion.max_dilation == 3 && mmdiffusion.blocks_per_level == 2,
        "fields override the preset's");
  const auto small = parse_discriminator_network(
      Json::parse(R"({"kind":"mmdisco","preset":"guidance-config","width":32,"channelMult":[1,2],"blocksPerLevel":1,)"
                  R"("timeDim":64,"groups":8,"fusion":"B","fusionTokens":"frame","input":"denoised"})"));
  check(small.fusion_width == 64 && small.fusion_layers == 1 && small.fusion_heads == 2 && small.fusion_head_dim == 32 &&
            small.fusion_max_tokens == 256 && small.fusion_tokens == FusionTokens::Frame &&
            small.input == DiscriminatorInput::Denoised,
        "guidance-config preset: the small fusion transformer");
  const Json unet = Json::parse(R"({"kind":"audio-unet","inChannels":1,"baseChannels":8,"channelMult":[1,2],"resBlocks":1,)"
                                R"("timeDim":64,"groups":4,"midAttention":true})");
  check(validate_network(validate_network(unet)) == validate_network(unet) &&
            validate_network(unet).find("temporalKernel")->number() == 3,
        "U-Net config round-trips with its defaults");
  check(validate_network(Json::parse(R"({"kind":"toy-mlp","audioDim":2,"videoDim":3})")).find("fusion")->string() == "joint",
        "toy discriminator defaults");

  // Validation: each error names its field.
  const Json base = Json::parse(R"({"kind":"mmdisco","preset":"mmdiffusion","width":32,"blocksPerLevel":1,"fusion":"B"})");
  std::string message;
  check(config_error_field([&] { validate_network(with(base, "fusion", "C")); }, &message) == "fusion" &&
            message.find("fusion must be 'A' or 'B', got 'C'") != std::string::npos,
        "fusion must be A or B");
  check(config_error_field([&] { validate_network(with(base, "width", 20)); }, &message) == "groups" &&
            message.find("GroupNorm(32)") != std::string::npos,
        "groups must divide every level's width");
  check(config_error_field([&] { validate_network(with(base, "crossAttentionLevels", Json::array_of(std::vector<int64_t>{3}))); }) ==
            "crossAttentionLevels",
        "cross-attention levels must be levels");
  check(config_error_field([&] {
          validate_network(with(with(base, "crossAttentionLevels", Json::array_of(std::vector<int64_t>{0})),
                                "crossAttentionHeads", 5));
        }, &message) == "crossAttentionHeads" && message.find("5 heads must divide 32 channels") != std::string::npos,
        "cross-attention heads must divide the channels");
  check(config_error_field([&] { validate_network(with(base, "widht", 32)); }) == "widht", "unknown fields are rejected");
  check(config_error_field([&] { validate_network(with(base, "timeDim", 63)); }) == "timeDim", "timeDim must be even");
  check(config_error_field([&] { validate_network(with(base, "preset", "nope")); }) == "preset", "unknown preset");
  check(config_error_field([&] { validate_network(with(base, "width", 32.5)); }) == "width", "integers are integers");
  check(config_error_field([&] {
          validate_network(Json::parse(R"({"kind":"mmdisco","preset":"guidance-config","channelMult":[1],"blocksPerLevel":1,)"
                                       R"("timeDim":64,"groups":8,"fusion":"A"})"));
        }, &message) == "width" && message.find("is required") != std::string::npos,
        "a preset's required fields");
  check(config_error_field([&] { validate_network(with(unet, "groups", 3)); }) == "groups", "U-Net groups");
  check(config_error_field([&] { validate_network(with(unet, "kind", "mlp-x")); }) == "kind", "unknown kind");
  check(config_error_field([&] { parse_eps_network(Json::parse(R"({"kind":"toy-mlp","audioDim":2,"videoDim":2})")); }) ==
            "kind",
        "an ε-network cannot be a discriminator");
}

ScheduleConfig linear_schedule(int64_t timesteps) {
  ScheduleConfig s;
  s.kind = "linear";
  s.timesteps = timesteps;
  return s;
}

Placement float64(uint64_t seed) { return {torch::kCPU, torch::kFloat64, seed}; }

std::shared_ptr<NetworkEps> mlp(int64_t dim, uint64_t seed) {
  return make_eps_network(parse_eps_network(Json::parse(R"({"kind":"mlp","hidden":16,"blocks":1,"dim":)" +
                                                        std::to_string(dim) + "}")),
                          linear_schedule(100), float64(seed));
}

std::shared_ptr<DiscriminatorCritic> toy_discriminator(uint64_t seed) {
  return make_discriminator(parse_discriminator_network_of_any_kind(
                                Json::parse(R"({"kind":"toy-mlp","audioDim":2,"videoDim":3,"hidden":16,"blocks":1})")),
                            linear_schedule(100), linear_schedule(100), float64(seed));
}

// The largest |a − b| over two modules' parameters.
double max_parameter_difference(const torch::nn::Module& a, const torch::nn::Module& b) {
  return (flat_parameters(a) - flat_parameters(b)).abs().max().item<double>();
}

std::string scientific(double value) {
  std::ostringstream out;
  out << std::scientific << std::setprecision(1) << value;
  return out.str();
}

void optimizer_tests() {
  // FusedAdamW against torch::optim::AdamW's per-parameter loop on the same gradients: 6 steps with weight decay
  // and clipping off, in float64 and float32, then the moments one saved continued by the other.
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const std::string name = dtype == torch::kFloat64 ? "float64" : "float32";
    torch::manual_seed(0);
    auto net = [&] {
      torch::nn::Sequential s(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3)), torch::nn::Linear(6, 5));
      s->to(dtype);
      return s;
    };
    auto fused_net = net(), plain_net = net();
    {
      torch::NoGradGuard no_grad;
      assign_flat_parameters(*plain_net, flat_parameters(*fused_net));
    }
    const auto options = torch::optim::AdamWOptions(1e-2).betas({0.8, 0.99}).weight_decay(0.05);
    FusedAdamW fused(fused_net->parameters(), options);
    torch::optim::AdamW plain(plain_net->parameters(), options);
    auto steps = [&](int n) {
      for (int i = 0; i < n; ++i) {
        const auto f = fused_net->parameters(), p = plain_net->parameters();
        for (size_t k = 0; k < f.size(); ++k) {
          auto g = torch::randn_like(f[k]);
          f[k].mutable_grad() = g.clone();
          p[k].mutable_grad() = g.clone();
        }
        fused.step();
        plain.step();
      }
    };
    steps(6);
    const double tolerance = dtype == torch::kFloat64 ? 1e-14 : 2e-7;  // lr = 1e-2: a few ulps of the update
    const double difference = max_parameter_difference(*fused_net, *plain_net);
    check(difference < tolerance && max_parameter_difference(*fused_net, *net()) > 1e-3,
          name + ": FusedAdamW's parameters after 6 steps equal AdamW's within " + scientific(tolerance) + " (" +
              scientific(difference) + ")");
    // Saved by FusedAdamW, loaded into a fresh AdamW (and the reverse): the same moments and step counts.
    std::stringstream saved;
    {
      torch::serialize::OutputArchive archive;
      fused.save(archive);
      archive.save_to(saved);
    }
    torch::optim::AdamW resumed(fused_net->parameters(), options);
    {
      torch::serialize::InputArchive archive;
      archive.load_from(saved);
      resumed.load(archive);
    }
    bool same_state = true;
    for (const auto& p : fused_net->parameters()) {
      const auto& a = static_cast<torch::optim::AdamWParamState&>(*fused.state().at(p.unsafeGetTensorImpl()));
      const auto& b = static_cast<torch::optim::AdamWParamState&>(*resumed.state().at(p.unsafeGetTensorImpl()));
      same_state = same_state && a.step() == 6 && b.step() == 6 && torch::equal(a.exp_avg(), b.exp_avg()) &&
                   torch::equal(a.exp_avg_sq(), b.exp_avg_sq());
    }
    check(same_state, name + ": FusedAdamW's saved state loads into AdamW with the same moments and step counts");
  }

  // The discriminator trainer (FusedAdamW) against the same loss stepped by AdamW: parameters after 4 steps.
  torch::manual_seed(0);
  auto disc = toy_discriminator(4), plain_disc = toy_discriminator(4);
  auto audio = mlp(2, 5), video = mlp(3, 6);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  DiscriminatorBatch batch{torch::randn({6, 2}, opts), torch::randn({6, 3}, opts), torch::randn({6, 2}, opts),
                           torch::randn({6, 3}, opts), {}, {}, {}};
  const OptimizerConfig config{1e-2, 0.01};
  auto bases = std::make_shared<IndependentEps>(std::vector<std::shared_ptr<EpsSource>>{audio, video});
  DiscriminatorTrainer trainer(disc, bases, {0.7, 0}, config, 9), draws(plain_disc, bases, {0.7, 0}, config, 9);
  torch::optim::AdamW plain(plain_disc->module().parameters(),
                            torch::optim::AdamWOptions(config.lr).betas({config.beta1, config.beta2}).weight_decay(config.weight_decay));
  for (int i = 0; i < 4; ++i) {
    trainer.step(batch);
    auto loss = discriminator_loss(*plain_disc, *bases, batch, draws.draw(batch), {0.7, 0});
    plain.zero_grad();
    loss.total.backward();
    plain.step();
  }
  const double difference = max_parameter_difference(disc->module(), plain_disc->module());
  check(difference < 1e-13, "DiscriminatorTrainer's parameters after 4 steps equal those of AdamW's loop within 1e-13 (" +
                                scientific(difference) + ")");
}

void sampling_tests() {
  const std::vector<std::shared_ptr<EpsSource>> sources{mlp(2, 1), mlp(3, 2)};
  const std::vector<std::vector<int64_t>> shapes{{4, 2}, {4, 3}};
  JointGuidanceConfig guidance;
  guidance.critic = discriminator_critic(toy_discriminator(3));
  guidance.lambda_audio = 1.5;
  guidance.lambda_video = 0.5;
  for (const std::string name : {"ddpm", "ddim", "dpm-solver++-3s", "dpm-solver++-2m"}) {
    SamplerConfig config;
    parse_sampler(name, config);
    config.steps = 10;
    const auto a = sample_sources(sources, shapes, config, 7, guidance);
    const auto b = sample_sources(sources, shapes, config, 7, guidance);
    const auto c = sample_sources(sources, shapes, config, 8, guidance);
    const auto unguided = sample_sources(sources, shapes, config, 7);
    check(torch::equal(a[0], b[0]) && torch::equal(a[1], b[1]), name + ": the same seed gives the same samples");
    check(!torch::equal(a[0], c[0]), name + ": another seed gives other samples");
    check(!torch::equal(a[0], unguided[0]), name + ": guidance changes the samples");
    if (config.kind == SamplerKind::DpmSolverPp) {
      config.guidance_repeats = 2;
      check(config_error_field([&] { sample_sources(sources, shapes, config, 7, guidance); }) == "guidanceRepeats",
            name + ": guidance repeats are refused");
      continue;
    }
    // Repeated guided steps: one repeat is the plain sampler; two re-noise and guide again, reproducibly.
    config.guidance_repeats = 2;
    const auto twice = sample_sources(sources, shapes, config, 7, guidance);
    check(!torch::equal(twice[0], a[0]) && torch::equal(twice[0], sample_sources(sources, shapes, config, 7, guidance)[0]),
          name + ": two guided repeats per step change the samples, reproducibly");
    check(torch::equal(sample_sources(sources, shapes, config, 7)[0], unguided[0]),
          name + ": repeats apply to guided sampling only");
  }
  check(config_error_field([] { SamplerConfig c; parse_sampler("dpm-solver++-4s", c); }) == "sampler",
        "an unknown sampler names its field");
  {
    // A sampling run keeps autocast's weight casts from one model call to the next: its samples are those of model
    // calls made one by one, and the next run casts the weights again after they change.
    auto network = make_eps_network(parse_eps_network(Json::parse(R"({"kind":"mlp","hidden":16,"blocks":1,"dim":3})")),
                                    linear_schedule(100), Placement{torch::kCPU, torch::kFloat32, 1});
    const std::vector<std::shared_ptr<EpsSource>> bf16{std::make_shared<Bf16AutocastEps>(network)};
    SamplerConfig config;
    parse_sampler("ddim", config);
    config.steps = 5;
    const auto call_by_call = [&] {
      Rng rng(7);
      auto x = rng.randn({4, 3}, torch::kFloat32);
      const auto ts = sampling_timesteps(100, config.steps);
      for (size_t i = 0; i < ts.size(); ++i) {
        const auto eps = bf16[0]->eps(x, torch::full({4}, ts[i], torch::kInt64));
        x = ddim_step(x, eps, ts[i], i + 1 < ts.size() ? ts[i + 1] : -1, bf16[0]->schedule());
      }
      return x;
    };
    const auto expected_before = call_by_call();
    const auto before = sample_sources(bf16, {{4, 3}}, config, 7)[0];
    {
      torch::NoGradGuard no_grad;
      for (auto& p : network->module().parameters()) p.add_(0.25);
    }
    const auto after = sample_sources(bf16, {{4, 3}}, config, 7)[0];  // right after the first run: no cast kept
    check(torch::equal(before, expected_before), "bf16 sampling run: the samples of model calls made one by one");
    check(!torch::equal(after, before) && torch::equal(after, call_by_call()),
          "bf16 sampling run after the weights change: samples of the new weights");
  }
  {
    // Re-noising is the forward process between two steps: x_t = sqrt(ᾱ_t/ᾱ_prev) x_prev + sqrt(1 − ᾱ_t/ᾱ_prev) ε.
    const NoiseSchedule schedule(ScheduleConfig{});
    const auto x = torch::randn({5}, torch::kFloat64), noise = torch::randn({5}, torch::kFloat64);
    const double a = schedule.alpha_bar_at(500) / schedule.alpha_bar_at(400);
    check(torch::allclose(renoise_step(x, 400, 500, schedule, noise), std::sqrt(a) * x + std::sqrt(1 - a) * noise),
          "re-noising follows the forward process between the two steps");
    check(torch::allclose(renoise_step(x, -1, 0, schedule, noise),
                          std::sqrt(schedule.alpha_bar_at(0)) * x + std::sqrt(1 - schedule.alpha_bar_at(0)) * noise),
          "re-noising from clean data uses ᾱ_0");
  }
  check(config_error_field([&] {
          sample_sources({sources[0]}, {shapes[0]}, SamplerConfig{}, 7, guidance);
        }) == "critic",
        "guidance needs two sources");
}

void loss_tests() {
  torch::manual_seed(0);
  auto disc = toy_discriminator(4);
  auto audio = mlp(2, 5), video = mlp(3, 6);
  const int64_t B = 6;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  DiscriminatorBatch batch{torch::randn({B, 2}, opts), torch::randn({B, 3}, opts), torch::randn({B, 2}, opts),
                           torch::randn({B, 3}, opts), {}, {}, {}};
  const double lambda = 0.7;
  DiscriminatorTrainer trainer(disc, std::make_shared<IndependentEps>(std::vector<std::shared_ptr<EpsSource>>{audio, video}),
                               {lambda, 0}, OptimizerConfig{}, 9);
  const auto draw = trainer.draw(batch);
  auto [loss, gradient] = trainer.loss_and_gradient(batch, draw);

  // Directly: BCE of h on the noised pairs, and the denoising loss with the residuals of JointCritic::residuals.
  const auto& sa = disc->audio_schedule();
  const auto& sv = disc->video_schedule();
  auto a_real = sa.q_sample(batch.real_audio, draw.t_real, draw.noise_real_audio);
  auto v_real = sv.q_sample(batch.real_video, draw.t_real, draw.noise_real_video);
  auto a_fake = sa.q_sample(batch.fake_audio, draw.t_fake, draw.noise_fake_audio);
  auto v_fake = sv.q_sample(batch.fake_video, draw.t_fake, draw.noise_fake_video);
  torch::NoGradGuard no_grad;
  auto h_real = disc->pre_sigmoid(a_real, v_real, draw.t_real);
  auto h_fake = disc->pre_sigmoid(a_fake, v_fake, draw.t_fake);
  const double bce = (-torch::log(torch::sigmoid(h_real))).mean().item<double>() +
                     (-torch::log(1 - torch::sigmoid(h_fake))).mean().item<double>();
  auto r = disc->residuals(a_real, v_real, draw.t_real, /*create_graph=*/false, {});
  const double denoising =
      torch::mse_loss(audio->eps(a_real, draw.t_real) + r.audio, draw.noise_real_audio).item<double>() +
      torch::mse_loss(video->eps(v_real, draw.t_real) + r.video, draw.noise_real_video).item<double>();
  check(std::abs(loss.bce.item<double>() - bce) < 1e-10, "BCE equals its direct computation");
  check(std::abs(loss.denoising.item<double>() - denoising) < 1e-10, "denoising loss equals its direct computation");
  check(std::abs(loss.total.item<double>() - (bce + lambda * denoising)) < 1e-10, "total = BCE + λ · denoising");
  check(gradient.numel() == parameter_count(disc->module()) && gradient.abs().sum().item<double>() > 0,
        "the loss has a gradient for every parameter");

  // train_steps: one step per batch_size rows, each logged; row counts are checked.
  const auto log = trainer.train_steps(batch, 3);
  check(log.total.size(0) == 2 && log.p_real.sizes() == torch::IntArrayRef({2, 3}) && trainer.steps() == 2,
        "train_steps logs one entry per step");
  bool shape_error = false;
  try {
    trainer.train_steps(batch, 4);
  } catch (const ShapeError&) {
    shape_error = true;
  }
  check(shape_error, "train_steps rejects rows that are not a multiple of the batch size");
}

void eps_model_tests() {
  EpsModelConfig c;
  c.network = parse_eps_network(Json::parse(R"({"kind":"mlp","dim":2,"hidden":8,"blocks":1})"));
  c.schedule = linear_schedule(100);
  c.placement = float64(3);
  c.ema_decay = 0.9;
  c.x0_range = std::make_pair(-1.0, 1.0);
  EpsModel a(c), b(c);
  auto x0 = torch::rand({8, 2}, torch::TensorOptions().dtype(torch::kFloat64)) * 2 - 1;
  const auto la = a.train_steps(x0, 4), lb = b.train_steps(x0, 4);
  check(la.step == 2 && torch::equal(la.losses, lb.losses), "EpsModel training is deterministic");
  auto x = torch::randn({5, 2}, torch::TensorOptions().dtype(torch::kFloat64)) * 10;
  auto t = torch::full({5}, 99, torch::kInt64);
  auto eps = a.sampling_source()->eps(x, t);
  const auto& s = a.sampling_source()->schedule();
  auto x0_hat = (x - s.sigma(t, x) * eps) / s.sqrt_alpha_bar(t, x);
  check(x0_hat.abs().max().item<double>() <= 1 + 1e-9, "x0 clipping keeps the implied clean sample in range");
  c.x0_range = std::make_pair(1.0, -1.0);
  check(config_error_field([&] { EpsModel bad(c); }) == "x0Range", "x0Range must be ordered");
}

// A non-finite gradient stops the step before the optimiser moves a weight, with or without clipping, naming the
// step and the parameter; a finite one steps, even when its float32 norm overflows.
void gradient_check_tests() {
  for (const double clip : {0.0, 1.0}) {
    torch::nn::Linear layer(2, 2);
    torch::optim::SGD optimizer(layer->parameters(), torch::optim::SGDOptions(0.1));
    const auto before = layer->weight.detach().clone();
    layer->weight.mutable_grad() = torch::ones_like(layer->weight);
    layer->bias.mutable_grad() = torch::tensor({1.0f, std::nanf("")});
    std::string message;
    try {
      clip_and_step(*layer, optimizer, clip, 7);
    } catch (const NonFiniteError& e) {
      message = e.what();
    }
    const std::string mode = clip > 0 ? " (clipped)" : " (unclipped)";
    check(message.find("step 7") != std::string::npos && message.find("'bias'") != std::string::npos,
          "a non-finite gradient names the step and the parameter" + mode + ": " + message);
    check(torch::equal(layer->weight, before), "a non-finite gradient leaves the weights as they were" + mode);
    layer->bias.mutable_grad() = torch::ones_like(layer->bias);
    clip_and_step(*layer, optimizer, clip, 8);
    check(!torch::equal(layer->weight, before), "a finite gradient steps" + mode);
    // Huge but finite gradients overflow the float32 norm without being non-finite themselves.
    layer->weight.mutable_grad() = torch::full_like(layer->weight, 1e30);
    layer->bias.mutable_grad() = torch::full_like(layer->bias, 1e30);
    bool stepped = true;
    try {
      clip_and_step(*layer, optimizer, clip, 9);
    } catch (const NonFiniteError&) {
      stepped = false;
    }
    check(stepped, "gradients whose norm overflows but whose values are finite step" + mode);
  }
}


// ---- the released discriminator checkpoints against the official code (test/fixtures/official-mmdisco) --------

// The tensors of a safetensors file (F32, F64, I32, I64), cloned so that they are aligned.
std::map<std::string, torch::Tensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  const Json header = Json::parse(bytes.substr(8, header_size));
  const std::map<std::string, torch::ScalarType> dtypes = {
      {"F32", torch::kFloat32}, {"F64", torch::kFloat64}, {"I32", torch::kInt32}, {"I64", torch::kInt64}, {"U8", torch::kUInt8}};
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < header.keys().size(); ++i) {
    const auto& name = header.keys()[i];
    const Json& entry = header.items()[i];
    if (name == "__metadata__") continue;
    std::vector<int64_t> shape;
    for (const auto& d : entry.find("shape")->items()) shape.push_back(static_cast<int64_t>(d.number()));
    const auto begin = static_cast<size_t>(entry.find("data_offsets")->items()[0].number());
    auto* data = const_cast<char*>(bytes.data() + 8 + header_size + begin);
    out[name] = torch::from_blob(data, shape, torch::TensorOptions().dtype(dtypes.at(entry.find("dtype")->string()))).clone();
  }
  return out;
}

Json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Json::parse(buffer.str());
}

// max |got − expected| / max |expected|
double relative_error(const torch::Tensor& got, const torch::Tensor& expected) {
  const auto e = expected.to(torch::kFloat64);
  return (got.to(torch::kFloat64) - e).abs().max().item<double>() / e.abs().max().item<double>();
}

// The largest `error` over pairs of tensors (results or gradients, in the same order on both sides).
double worst_error(const std::vector<torch::Tensor>& got, const std::vector<torch::Tensor>& expected,
                   const std::function<double(const torch::Tensor&, const torch::Tensor&)>& error) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, error(got[i], expected[i]));
  return worst;
}

void report(const std::string& arch, const std::string& what, double error, double tolerance) {
  std::ostringstream line;
  line << arch << ": " << what << " max relative error " << error << " (≤ " << tolerance << ")";
  check(error <= tolerance, line.str());
}

// For each fixture architecture: the network from its official config, the .pt through the importer, then h, the
// residuals score_factor·∇ℓ (ℓ the smoothed logit, as mm_block L1342-1373), the residual CFG of the official
// sampler (guidance.py L15-42, through CfgCritic), and the double-backward parameter gradients of
// Σ pred_video² + Σ pred_audio².
// A released discriminator (<stem>.pt with its official config <stem>.config.json) through the importer.
std::shared_ptr<DiscriminatorCritic> released_critic(const std::string& stem) {
  const auto network = parse_discriminator_network(official_network(read_json(stem + ".config.json")));
  auto critic = make_mmdisco_discriminator(network, {}, {}, 0, torch::kCPU, torch::kFloat32);
  load_named_parameters(critic->module(),
                        match_state_dict(read_official_state_dict(stem + ".pt"), critic->module(), stem + ".pt"));
  return critic;
}

void official_parity_tests(const std::string& dir) {
  struct Arch {
    const char* name;
    double cfg_audio, cfg_video;  // the released default_guidance_scale of the text pipelines (0: no text)
  };
  for (const Arch arch : {Arch{"mmdiffusion_landscape", 0, 0}, Arch{"audioldm_animediff_vggsound", 2.5, 7.5},
                          Arch{"auffusion_videocrafter2_vggsound", 8, 8}}) {
    const std::string stem = dir + "/disc_" + arch.name;
    auto critic = released_critic(stem);
    auto fx = read_safetensors(stem + ".fixture.safetensors");
    const bool text = arch.cfg_audio > 0;
    const std::string cond = text ? "out.cond." : "out.";
    const auto t = fx.at("in.timesteps").to(torch::kInt64);
    const auto sf_v = fx.at("in.score_factor_video"), sf_a = fx.at("in.score_factor_audio");
    const Conditioning c = text ? Conditioning{fx.at("in.audio_text_emb"), fx.at("in.video_text_emb")} : Conditioning{};
    const Conditioning null_c =
        text ? Conditioning{fx.at("in.audio_text_emb_neg"), fx.at("in.video_text_emb_neg")} : Conditioning{};

    // h and the residuals in the caller's layout, per branch.
    auto branch = [&](const Conditioning& condition, bool create_graph) {
      auto v = fx.at("in.video").clone().requires_grad_(true);
      auto a = fx.at("in.audio").clone().requires_grad_(true);
      auto h = critic->pre_sigmoid(a, v, t, condition);
      auto grads = torch::autograd::grad({smoothed_logit(h)}, {v, a}, {torch::ones_like(h)}, true, create_graph);
      return std::make_tuple(h, grads[0] * sf_v, grads[1] * sf_a);
    };
    auto [h, pred_v, pred_a] = branch(c, false);
    report(arch.name, "logit", relative_error(h, fx.at(cond + "logit")), 1e-5);
    report(arch.name, "video residual", relative_error(pred_v, fx.at(cond + "pred_video")), 1e-5);
    report(arch.name, "audio residual", relative_error(pred_a, fx.at(cond + "pred_audio")), 1e-5);
    if (text) {
      auto [h0, pred_v0, pred_a0] = branch(null_c, false);
      report(arch.name, "null-prompt logit", relative_error(h0, fx.at("out.uncond.logit")), 1e-5);
      // The project's residual CFG gives −σ_t·∇(ℓ∅ + s(ℓ^c − ℓ∅)) on its own schedule; the official sampler's
      // factor is the score factor −σ'_t of the base model's scheduler (an input here), hence the per-sample ratio.
      auto cfg = CfgCritic(std::make_shared<ConditionedCritic>(critic, c), std::make_shared<ConditionedCritic>(critic, null_c),
                           CfgScales{arch.cfg_audio, arch.cfg_video});
      auto v = fx.at("in.video").clone().requires_grad_(true);
      auto a = fx.at("in.audio").clone().requires_grad_(true);
      const auto r = cfg.residuals(a, v, t, false, {});
      const auto res_v = r.video * (-sf_v / critic->video_schedule().sigma(t, v));
      const auto res_a = r.audio * (-sf_a / critic->audio_schedule().sigma(t, a));
      report(arch.name, "CFG video residual", relative_error(res_v, fx.at("out.res_video")), 1e-5);
      report(arch.name, "CFG audio residual", relative_error(res_a, fx.at("out.res_audio")), 1e-5);
    } else {
      // MM-Diffusion: joint scales 1/1 (networks.py L443-444).
      report(arch.name, "guided video residual", relative_error(pred_v, fx.at("out.res_video")), 1e-5);
      report(arch.name, "guided audio residual", relative_error(pred_a, fx.at("out.res_audio")), 1e-5);
    }

    // Double backward (inference=False: create_graph, the conditional text).
    critic->module().zero_grad();
    auto [h2, gv, ga] = branch(c, true);
    auto loss = gv.pow(2).sum() + ga.pow(2).sum();
    report(arch.name, "double-backward loss", relative_error(loss.reshape({1}), fx.at("grad.loss")), 1e-5);
    loss.backward();
    const auto params = critic->module().named_parameters();
    const Json config = read_json(stem + ".config.json");
    const auto& first5 = config.find("first5_param_names")->items();
    double worst = 0;
    for (size_t i = 0; i < first5.size(); ++i)
      worst = std::max(worst, relative_error(params[first5[i].string()].grad(), fx.at("grad.param" + std::to_string(i))));
    report(arch.name, "double-backward gradients of the first 5 parameters", worst, 1e-4);
    const auto& names = config.find("all_param_names_for_grad.all_norms")->items();
    std::vector<double> norms;
    for (const auto& n : names) norms.push_back(params[n.string()].grad().to(torch::kFloat64).norm().item<double>());
    report(arch.name, "double-backward gradient norms of all " + std::to_string(names.size()) + " parameters",
           relative_error(torch::tensor(norms, torch::kFloat64), fx.at("grad.all_norms")), 1e-4);
  }
}

// The wrapped and prefixed form of a checkpoint (written by libtorch's pickler, the zip format of torch.save), and
// the importer's refusals on edited copies of a real state dict.
void official_checkpoint_error_tests(const std::string& dir) {
  const std::string path = dir + "/disc_mmdiffusion_landscape.pt";
  const auto network = parse_discriminator_network(official_network(read_json(dir + "/disc_mmdiffusion_landscape.config.json")));
  DiscriminatorNetwork net(network);
  const auto state = read_official_state_dict(path);
  check(state.size() == net->named_parameters().size(), "the state dict holds one tensor per parameter");

  c10::Dict<std::string, at::Tensor> prefixed;
  for (const auto& [name, value] : state) prefixed.insert("residual_predictor." + name, value);
  c10::impl::GenericDict wrapper(c10::StringType::get(), c10::AnyType::get());
  wrapper.insert(std::string("epoch"), c10::IValue(int64_t{3}));
  wrapper.insert(std::string("state_dict"), c10::IValue(prefixed));
  const auto wrapped_path = (std::filesystem::temp_directory_path() / "mmdisco_core_tests_wrapped.pt").string();
  {
    const auto bytes = torch::pickle_save(c10::IValue(wrapper));
    std::ofstream(wrapped_path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const auto unwrapped = read_official_state_dict(wrapped_path);
  std::filesystem::remove(wrapped_path);
  bool same = unwrapped.size() == state.size();
  for (size_t i = 0; same && i < state.size(); ++i)
    same = unwrapped[i].first == state[i].first && torch::equal(unwrapped[i].second, state[i].second);
  check(same, "a state dict under 'state_dict' with the residual_predictor. prefix reads as the bare one");
  auto message_of = [&](NamedTensors edited) -> std::pair<std::string, std::string> {
    try {
      match_state_dict(edited, *net, "ckpt.pt");
    } catch (const Error& e) {
      return {error_code_name(e.code()), e.what()};
    }
    return {"", ""};
  };
  auto renamed = state;
  renamed[3].first = "not.a.parameter";
  auto [code, message] = message_of(renamed);
  check(code == std::string("MMDISCO_CONFIG") && message.find("missing keys '" + state[3].first + "'") != std::string::npos &&
            message.find("unexpected keys 'not.a.parameter'") != std::string::npos,
        "a renamed key is named as missing and as unexpected: " + message);
  auto reshaped = state;
  reshaped[0].second = reshaped[0].second.reshape({-1});
  std::tie(code, message) = message_of(reshaped);
  check(code == std::string("MMDISCO_SHAPE") && message.find("'" + state[0].first + "'") != std::string::npos,
        "a wrong shape names the key: " + message);
  auto poisoned = state;
  poisoned[5].second = poisoned[5].second.clone();
  poisoned[5].second.view({-1})[0] = std::nanf("");
  std::tie(code, message) = message_of(poisoned);
  check(code == std::string("MMDISCO_NON_FINITE") && message.find("'" + state[5].first + "'") != std::string::npos,
        "a NaN names the tensor: " + message);
  std::string field;
  try {
    official_preset("mmdiffusion-unknown");
  } catch (const ConfigError& e) {
    field = e.field();
  }
  check(field == "preset", "an unknown released preset is a ConfigError on 'preset'");
  for (const auto& name : official_presets()) {
    const auto config = parse_discriminator_network(official_network(official_preset(name)));
    check(config.time_dim == 128 && config.width == 128, "released preset " + name + " maps onto the network");
  }
}

// Singlestep DPM-Solver++ on data x0 ~ N(0, s²), whose exact ε(x, t) = σ x / (α² s² + σ²) makes the probability-flow
// ODE linear: x_t = x_T · sqrt(α_t² s² + σ_t²) / sqrt(α_T² s² + σ_T²). The error must fall with steps and with order.
double dpm_gaussian_error(const ContinuousVpSchedule& schedule, const torch::Tensor& x_T, int64_t order, int64_t steps,
                          DpmMethod method) {
  const double s = 0.5;
  const DpmDataModel exact = [&](const DpmTensors& x, double t) {
    const double alpha = schedule.alpha(t), sigma = schedule.sigma(t);
    return DpmTensors{dpm_data_prediction(x[0], sigma * x[0] / (alpha * alpha * s * s + sigma * sigma), alpha, sigma, {})};
  };
  const auto x = dpm_solver_sample(schedule, exact, {x_T}, DpmSkipType::LogSnr, steps, order, method)[0];
  const auto times = dpm_time_steps(schedule, DpmSkipType::LogSnr, steps);
  const auto scale = [&](double t) {
    const double alpha = schedule.alpha(t), sigma = schedule.sigma(t);
    return std::sqrt(alpha * alpha * s * s + sigma * sigma);
  };
  return (x - x_T * (scale(times[steps]) / scale(times[0]))).abs().max().item<double>();
}

void dpm_solver_tests() {
  torch::manual_seed(0);
  const ContinuousVpSchedule schedule{NoiseSchedule(ScheduleConfig{})};
  const auto x_T = torch::randn({4096}, torch::kFloat64);
  for (const auto method : {DpmMethod::Singlestep, DpmMethod::Multistep}) {
    const std::string name = method == DpmMethod::Singlestep ? "singlestep" : "multistep";
    for (int64_t order = 1; order <= 3; ++order) {
      const double e5 = dpm_gaussian_error(schedule, x_T, order, 5, method),
                   e10 = dpm_gaussian_error(schedule, x_T, order, 10, method),
                   e20 = dpm_gaussian_error(schedule, x_T, order, 20, method);
      check(e20 < e10 && e10 < e5, "dpm-solver++ " + name + " order " + std::to_string(order) + " error falls with steps (" +
                                       std::to_string(e5) + ", " + std::to_string(e10) + ", " + std::to_string(e20) + ")");
    }
    const double e1 = dpm_gaussian_error(schedule, x_T, 1, 20, method), e2 = dpm_gaussian_error(schedule, x_T, 2, 20, method),
                 e3 = dpm_gaussian_error(schedule, x_T, 3, 20, method);
    check(e3 < e2 && e2 < e1 && e3 < 0.05, "dpm-solver++ " + name + " 20-step error falls with order (" + std::to_string(e1) +
                                               ", " + std::to_string(e2) + ", " + std::to_string(e3) + ")");
  }
  check(dpm_singlestep_orders(7, 3) == std::vector<int64_t>{3, 3, 1} && dpm_singlestep_orders(8, 3) == std::vector<int64_t>{3, 3, 2} &&
            dpm_singlestep_orders(5, 2) == std::vector<int64_t>{2, 2, 1},
        "singlestep orders spend exactly the given model calls");
  const auto thresholded = dpm_data_prediction(torch::full({2, 3}, 4.0, torch::kFloat64),
                                               torch::zeros({2, 3}, torch::kFloat64), 1.0, 0.0, {true, 0.995, 1.0});
  check(std::abs(thresholded.max().item<double>() - 1.0) < 1e-12, "dynamic thresholding rescales by the quantile");
  check(config_error_field([] { parse_dpm_skip_type("cosine", "skip"); }) == "skip", "bad skip type names its field");
}

// The official guided DPM-Solver++ runs of the MM-Diffusion case (singlestep, order 3, logSNR grid, dynamic
// thresholding; traj_guided at joint scales 1/1, traj_scale0 at 0/0), replayed: each model call of this solver
// returns the official U-Net ε of that call plus the residual that the released discriminator gives on this
// solver's own input, so the grid, the orders, the integer model times, the residuals, the thresholded data
// predictions and the updates are all this code's, compared call by call.
void official_trajectory_tests(const std::string& dir) {
  auto critic = released_critic(dir + "/disc_mmdiffusion_landscape");
  const auto official20 = read_safetensors(dir + "/traj_guided20.safetensors");
  const auto orders20 = dpm_singlestep_orders(20, 3);
  check(torch::equal(torch::tensor(orders20).to(torch::kInt32), official20.at("orders")), "20 steps at order 3: orders {3,3,3,3,3,3,2}");
  for (const std::string run : {"traj_guided", "traj_scale0"}) {
    const auto fx = read_safetensors(dir + "/" + run + ".safetensors");
    const double scale = run == "traj_guided" ? 1.0 : 0.0;
    const ContinuousVpSchedule schedule(fx.at("alphas_cumprod_f32"));
    report(run, "time grid", relative_error(torch::tensor(dpm_time_steps(schedule, DpmSkipType::LogSnr, 6)),
                                            fx.at("timesteps_continuous")), 1e-6);
    check(torch::equal(torch::tensor(dpm_singlestep_orders(6, 3)).to(torch::kInt32), fx.at("orders")),
          run + ": 6 steps at order 3: orders {3, 2, 1}");
    int64_t call = 0;
    bool same_steps = true;
    double x_error = 0, x0_error = 0, logit_error = 0, residual_error = 0;
    const DpmDataModel model = [&](const DpmTensors& x, double t) {
      const std::string key = "nfe" + std::to_string(call++) + ".";
      const int64_t step = schedule.model_step(t);
      same_steps = same_steps && step == fx.at(key + "t_int")[0].item<int64_t>();
      if (fx.count(key + "x.video"))
        x_error = std::max({x_error, relative_error(x[0], fx.at(key + "x.video")), relative_error(x[1], fx.at(key + "x.audio"))});
      DpmTensors eps = {fx.at(key + "eps.video"), fx.at(key + "eps.audio")};
      if (scale > 0) {
        auto v = x[0].detach().requires_grad_(true), a = x[1].detach().requires_grad_(true);
        const auto t_int = torch::full({v.size(0)}, step, torch::kInt64);
        const auto h = critic->pre_sigmoid(a, v, t_int, {});
        const auto grads = torch::autograd::grad({smoothed_logit(h)}, {v, a}, {torch::ones_like(h)});
        // The official score factor: −sqrt(1 − ᾱ) of the float64 table at the integer step.
        const auto res_v = -grads[0] * critic->video_schedule().sigma(t_int, v);
        const auto res_a = -grads[1] * critic->audio_schedule().sigma(t_int, a);
        logit_error = std::max(logit_error, relative_error(h.detach(), fx.at(key + "disc.logit")));
        residual_error = std::max({residual_error, relative_error(res_v, fx.at(key + "res.video")),
                                   relative_error(res_a, fx.at(key + "res.audio"))});
        eps = {eps[0] + scale * res_v.detach(), eps[1] + scale * res_a.detach()};
      }
      const DpmThresholding thresholding{true, 0.995, 1.0};
      DpmTensors x0;
      for (size_t i = 0; i < x.size(); ++i) x0.push_back(dpm_data_prediction(x[i], eps[i], schedule.alpha(t), schedule.sigma(t), thresholding));
      if (fx.count(key + "x0.video"))
        x0_error = std::max({x0_error, relative_error(x0[0], fx.at(key + "x0.video")), relative_error(x0[1], fx.at(key + "x0.audio"))});
      return x0;
    };
    const auto final = dpm_solver_sample(schedule, model, {fx.at("x_T.video"), fx.at("x_T.audio")}, DpmSkipType::LogSnr, 6, 3,
                                         DpmMethod::Singlestep);
    check(call == 6 && same_steps, run + ": six model calls at the official integer steps 999, 824, 602, 302, 72, 10");
    if (scale > 0) {
      report(run, "model inputs of every call", x_error, 1e-4);
      report(run, "discriminator logits of every call", logit_error, 1e-4);
      report(run, "residuals of every call", residual_error, 1e-4);
      report(run, "thresholded data predictions of every call", x0_error, 1e-4);
    }
    report(run, "final video", relative_error(final[0], fx.at("final.video")), 1e-4);
    report(run, "final audio", relative_error(final[1], fx.at("final.audio")), 1e-4);
  }
}

// The official MM-Diffusion joint U-Net as TorchScript (forward(video, audio, t) → (ε_video, ε_audio), window
// shifts baked in by the trace) as a joint base: its outputs exactly; the first call of the official guided run
// (whose window shifts are the trace's) exactly; and a guided DPM-Solver++ run with the released discriminator.
void official_joint_model_tests(const std::string& dir) {
  TorchScriptJointEps unet(dir + "/mmdiff_unet.torchscript.pt", {1, 0}, NoiseSchedule(ScheduleConfig{}), torch::kCPU,
                           torch::kFloat32);
  const auto fx = read_safetensors(dir + "/mmdiff_unet.fixture.safetensors");
  const auto eps = unet.eps({fx.at("in2.audio"), fx.at("in2.video")}, fx.at("in2.timesteps"));
  check(torch::equal(eps[0], fx.at("out2.eps_audio")) && torch::equal(eps[1], fx.at("out2.eps_video")),
        "the joint TorchScript U-Net gives the official ε exactly, in the sampler's order (audio, video)");
  const auto trajectory = read_safetensors(dir + "/traj_guided.safetensors");
  check(torch::equal(trajectory.at("nfe0.window_shifts"), fx.at("in.window_shifts")), "the first guided call used the trace's window shifts");
  const auto first = unet.eps({trajectory.at("x_T.audio"), trajectory.at("x_T.video")}, trajectory.at("nfe0.t_int"));
  check(torch::equal(first[0], trajectory.at("nfe0.eps.audio")) && torch::equal(first[1], trajectory.at("nfe0.eps.video")),
        "the joint base reproduces the first model call of the official guided run exactly");
  check(config_error_field([&] { TorchScriptJointEps(dir + "/mmdiff_unet.torchscript.pt", {0, 0}, NoiseSchedule(ScheduleConfig{}),
                                                     torch::kCPU, torch::kFloat32); }) == "arguments",
        "a joint base whose modalities share an argument names 'arguments'");

  SamplerConfig config;
  parse_sampler("dpm-solver++-3s", config);
  config.steps = 6;
  config.dpm_thresholding = {true, 0.995, 1.0};
  JointGuidanceConfig guidance;
  guidance.critic = released_critic(dir + "/disc_mmdiffusion_landscape");
  guidance.lambda_audio = guidance.lambda_video = 1;
  const std::vector<std::vector<int64_t>> shapes{{2, 1, 1600}, {2, 8, 3, 8, 8}};
  const auto guided = sample_joint(unet, shapes, config, 803, guidance);
  const auto unguided = sample_joint(unet, shapes, config, 803);
  const double change = (guided[1] - unguided[1]).abs().max().item<double>();
  // The official runs move the final video by at most 1.8e-3 with the same discriminator (fixture README).
  check(torch::isfinite(guided[0]).all().item<bool>() && torch::isfinite(guided[1]).all().item<bool>() && change > 0 &&
            change < 1e-2,
        "guided joint DPM-Solver++ with thresholding: finite, moved a little by the guidance (max |Δ video| " +
            std::to_string(change) + ")");
}

// The fused GroupNorm + scale-shift + SiLU against its ATen composition: float32 within rounding (odd sizes for the
// vector tails, 3-D to 5-D, a large mean for the variance), bf16 within bf16's precision, NaN carried through; its
// gradients against autograd through the composition, and its double backward.
void group_norm_silu_tests() {
  torch::manual_seed(11);
  const auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kFloat32) - b.to(torch::kFloat32)).norm() / b.to(torch::kFloat32).norm()).item<double>();
  };
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);  // the kernel's parallel loop over (batch, group) with more than one thread
  struct Case { std::vector<int64_t> shape; int64_t groups; double mean; bool modulated; };
  for (const Case& c : {Case{{3, 32, 7, 9}, 8, 0, true}, Case{{2, 16, 4, 5, 6}, 4, 0, true}, Case{{2, 8, 37}, 2, 0, false},
                        Case{{2, 16, 40, 33}, 8, 100, true}}) {
    torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(c.groups, c.shape[1]));
    {
      torch::NoGradGuard no_grad;
      norm->weight.normal_();
      norm->bias.normal_();
    }
    const auto x = torch::randn(c.shape) + c.mean;
    std::optional<torch::Tensor> scale, shift;
    if (c.modulated) {
      scale = 0.5 * torch::randn({c.shape[0], c.shape[1]});
      shift = torch::randn({c.shape[0], c.shape[1]});
    }
    std::ostringstream name;
    name << "fused GroupNorm+SiLU on " << torch::IntArrayRef(c.shape) << (c.modulated ? " with scale-shift" : "")
         << (c.mean != 0 ? " at mean 100" : "");
    torch::NoGradGuard no_grad;
    if (!group_norm_silu_is_fused(x, norm, scale, shift)) {
      std::cout << "skip " << name.str() << ": this CPU has no AVX2/FMA, ATen's path is used\n";
      continue;
    }
    const auto reference = group_norm_silu_reference(x, norm, scale, shift);
    const double error = relative(group_norm_silu(x, norm, scale, shift), reference);
    check(error < 1e-5, name.str() + ": within 1e-5 of ATen's composition (relative L2 " + text(error) + ")");
    const auto half = x.to(torch::kBFloat16);
    const auto half_out = group_norm_silu(half, norm, scale, shift);
    const double half_error = relative(half_out, group_norm_silu_reference(half, norm, scale, shift));
    check(half_out.scalar_type() == torch::kBFloat16 && half_error < 2e-2,
          name.str() + " in bf16: bf16 out, within 2e-2 (" + text(half_error) + ")");
    // bf16 in and out directly: the float32 kernel on the same values, rounded once to nearest even.
    check(torch::equal(half_out, group_norm_silu(half.to(torch::kFloat32), norm, scale, shift).to(torch::kBFloat16)),
          name.str() + " in bf16: the float32 result rounded to bf16, bit for bit");
  }

  torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(4, 8));
  const auto x = torch::randn({2, 8, 5, 5});
  {
    torch::NoGradGuard no_grad;
    x[1][3][2][2] = std::nan("");
    const auto y = group_norm_silu(x, norm);
    check(y[1].narrow(0, 2, 2).isnan().all().item<bool>() && y[1].narrow(0, 0, 2).isfinite().all().item<bool>() &&
              y[0].isfinite().all().item<bool>(),
          "fused GroupNorm+SiLU: a NaN makes its group NaN and leaves the other groups finite");
  }

  // With gradients: the fused backward against autograd through ATen's composition (first order), and the double
  // backward of a gradient penalty, which differentiates the composition.
  struct GradCase { std::vector<int64_t> shape; bool modulated; torch::Dtype dtype; double tolerance; };
  for (const GradCase& c : {GradCase{{3, 16, 7, 9}, true, torch::kFloat32, 1e-5},
                            GradCase{{2, 8, 3, 5, 6}, false, torch::kFloat32, 1e-5},
                            GradCase{{2, 16, 40, 33}, true, torch::kBFloat16, 2e-2}}) {
    torch::nn::GroupNorm grad_norm(torch::nn::GroupNormOptions(4, c.shape[1]));
    {
      torch::NoGradGuard no_grad;
      grad_norm->weight.normal_();
      grad_norm->bias.normal_();
    }
    const auto x0 = torch::randn(c.shape).to(c.dtype);
    const auto scale0 = 0.5 * torch::randn({c.shape[0], c.shape[1]}), shift0 = torch::randn({c.shape[0], c.shape[1]});
    const auto dy = torch::randn(c.shape).to(c.dtype);
    const auto gradients = [&](bool fused) {
      auto xs = x0.clone().requires_grad_();
      auto scale = scale0.clone().requires_grad_(), shift = shift0.clone().requires_grad_();
      std::optional<torch::Tensor> s, t;
      if (c.modulated) s = scale, t = shift;
      for (auto* p : {&grad_norm->weight, &grad_norm->bias}) p->mutable_grad() = torch::Tensor();
      const auto y = fused ? group_norm_silu(xs, grad_norm, s, t) : group_norm_silu_reference(xs, grad_norm, s, t);
      y.backward(dy);
      std::vector<torch::Tensor> out{xs.grad(), grad_norm->weight.grad().clone(), grad_norm->bias.grad().clone()};
      if (c.modulated) out.insert(out.end(), {scale.grad(), shift.grad()});
      return out;
    };
    std::ostringstream name;
    name << "fused GroupNorm+SiLU gradients on " << torch::IntArrayRef(c.shape) << (c.modulated ? " with scale-shift" : "")
         << (c.dtype == torch::kBFloat16 ? " in bf16" : "");
    if (!group_norm_silu_is_fused(x0, grad_norm)) {
      std::cout << "skip " << name.str() << ": this CPU has no AVX2/FMA, ATen's path is used\n";
      continue;
    }
    const auto fused = gradients(true), reference = gradients(false);
    const double worst = worst_error(fused, reference, relative);
    check(fused[0].scalar_type() == c.dtype && worst < c.tolerance,
          name.str() + ": x, γ, β" + (c.modulated ? ", scale, shift" : "") + " within " + text(c.tolerance) +
              " of autograd through ATen's composition (worst relative L2 " + text(worst) + ")");
  }
  // Channels-last activations (what channels-last convolution weights give): the same results in the same layout,
  // forward and backward, odd channel counts for the vector tails.
  struct LayoutCase { std::vector<int64_t> shape; int64_t groups; torch::MemoryFormat format; };
  for (const LayoutCase& c : {LayoutCase{{3, 32, 7, 9}, 8, torch::MemoryFormat::ChannelsLast},
                              LayoutCase{{2, 12, 3, 5, 6}, 4, torch::MemoryFormat::ChannelsLast3d},
                              LayoutCase{{2, 20, 4, 6, 5}, 5, torch::MemoryFormat::ChannelsLast3d}}) {
    torch::nn::GroupNorm layout_norm(torch::nn::GroupNormOptions(c.groups, c.shape[1]));
    {
      torch::NoGradGuard no_grad;
      layout_norm->weight.normal_();
      layout_norm->bias.normal_();
    }
    const auto x0 = (torch::randn(c.shape) + 3).contiguous(c.format);
    const auto scale0 = 0.5 * torch::randn({c.shape[0], c.shape[1]}), shift0 = torch::randn({c.shape[0], c.shape[1]});
    const auto dy = torch::randn(c.shape).contiguous(c.format);
    std::ostringstream name;
    name << "fused GroupNorm+SiLU on channels-last " << torch::IntArrayRef(c.shape);
    if (!group_norm_silu_is_fused(x0, layout_norm)) {
      std::cout << "skip " << name.str() << ": this CPU has no AVX2/FMA, ATen's path is used\n";
      continue;
    }
    const auto pass = [&](bool fused) {
      auto xs = x0.clone().requires_grad_();
      auto scale = scale0.clone().requires_grad_(), shift = shift0.clone().requires_grad_();
      for (auto* p : {&layout_norm->weight, &layout_norm->bias}) p->mutable_grad() = torch::Tensor();
      const auto y = fused ? group_norm_silu(xs, layout_norm, scale, shift)
                           : group_norm_silu_reference(xs, layout_norm, scale, shift);
      y.backward(dy);
      return std::vector<torch::Tensor>{y.detach(), xs.grad(), layout_norm->weight.grad().clone(),
                                        layout_norm->bias.grad().clone(), scale.grad(), shift.grad()};
    };
    const auto fused = pass(true), reference = pass(false);
    const double worst = worst_error(fused, reference, relative);
    check(fused[0].is_contiguous(c.format) && fused[1].is_contiguous(c.format) && worst < 1e-5,
          name.str() + ": channels-last out and in its gradient, y and every gradient within 1e-5 of ATen's (worst " +
              text(worst) + ")");
    torch::NoGradGuard no_grad;
    const auto half = x0.to(torch::kBFloat16);
    check(torch::equal(group_norm_silu(half, layout_norm, scale0, shift0),
                       group_norm_silu(half.to(torch::kFloat32), layout_norm, scale0, shift0).to(torch::kBFloat16)),
          name.str() + " in bf16: the float32 result rounded to bf16, bit for bit");
  }
  // A GroupNorm without affine parameters (the discriminator's scale-shift norm) is one with γ = 1 and β = 0: y and
  // the gradients of x, scale and shift against ATen's composition, on a (B, C, F, H, W) and a (B, C, N) activation.
  for (const auto& shape : {std::vector<int64_t>{2, 16, 3, 5, 6}, std::vector<int64_t>{3, 8, 50}}) {
    torch::nn::GroupNorm plain(torch::nn::GroupNormOptions(4, shape[1]).affine(false));
    const auto x0 = torch::randn(shape) + 2;
    const auto scale0 = 0.5 * torch::randn({shape[0], shape[1]}), shift0 = torch::randn({shape[0], shape[1]});
    const auto dy = torch::randn(shape);
    std::ostringstream name;
    name << "fused GroupNorm+SiLU without affine parameters on " << torch::IntArrayRef(shape);
    if (!group_norm_silu_is_fused(x0, plain, scale0, shift0)) {
      std::cout << "skip " << name.str() << ": this CPU has no AVX2/FMA, ATen's path is used\n";
      continue;
    }
    const auto pass = [&](bool fused) {
      auto xs = x0.clone().requires_grad_();
      auto scale = scale0.clone().requires_grad_(), shift = shift0.clone().requires_grad_();
      const auto y = fused ? group_norm_silu(xs, plain, scale, shift) : group_norm_silu_reference(xs, plain, scale, shift);
      y.backward(dy);
      return std::vector<torch::Tensor>{y.detach(), xs.grad(), scale.grad(), shift.grad()};
    };
    const auto fused = pass(true), reference = pass(false);
    const double worst = worst_error(fused, reference, relative);
    check(worst < 1e-5, name.str() + ": y and the x, scale, shift gradients within 1e-5 of ATen's (worst " +
                            text(worst) + ")");
  }
  {
    // float64 stays float64 (the discriminator's finite-difference checks run in it): GroupNorm in float64, not
    // rounded through float32.
    torch::nn::GroupNorm norm64(torch::nn::GroupNormOptions(4, 8));
    norm64->to(torch::kFloat64);
    const auto x64 = torch::randn({2, 8, 5, 5}, torch::kFloat64);
    const auto y = group_norm_silu(x64, norm64);
    const auto expected = torch::silu(torch::nn::functional::group_norm(
        x64, torch::nn::functional::GroupNormFuncOptions(4).weight(norm64->weight).bias(norm64->bias)));
    const double error = (y - expected).abs().max().item<double>();
    check(y.scalar_type() == torch::kFloat64 && error < 1e-12,
          "GroupNorm+SiLU of float64 input: float64 out, within 1e-12 of float64 GroupNorm (" + text(error) + ")");
  }
  const auto x_penalty = torch::randn({2, 8, 5, 5});
  const auto penalty = [&](bool fused) {
    auto xs = x_penalty.clone().requires_grad_();
    for (auto* p : {&norm->weight, &norm->bias}) p->mutable_grad() = torch::Tensor();
    const auto y = fused ? group_norm_silu(xs, norm) : group_norm_silu_reference(xs, norm);
    const auto dx = torch::autograd::grad({(y * y).sum()}, {xs}, {}, true, true)[0];
    dx.pow(2).sum().backward();
    return std::vector<torch::Tensor>{xs.grad(), norm->weight.grad().clone()};
  };
  if (group_norm_silu_is_fused(x_penalty, norm)) {
    {
      // A forward whose backward is differentiated again records the composition; the scope ends where it was opened.
      TwiceDifferentiableScope differentiable;
      const bool fused_within = group_norm_silu_is_fused(x_penalty, norm);
      bool fused_nested;
      {
        TwiceDifferentiableScope not_asked(false);
        fused_nested = group_norm_silu_is_fused(x_penalty, norm);
      }
      torch::NoGradGuard no_grad;
      check(!fused_within && !fused_nested && group_norm_silu_is_fused(x_penalty, norm),
            "within a TwiceDifferentiableScope, with gradients on, GroupNorm+SiLU is ATen's composition");
    }
    check(group_norm_silu_is_fused(x_penalty, norm), "after a TwiceDifferentiableScope, GroupNorm+SiLU is fused again");
    const auto fused = penalty(true), reference = penalty(false);
    const double error = std::max(relative(fused[0], reference[0]), relative(fused[1], reference[1]));
    check(error < 1e-5, "fused GroupNorm+SiLU double backward (a gradient penalty): x and γ within 1e-5 of ATen's (" +
                            text(error) + ")");
  }
  torch::set_num_threads(threads);
}

// The MMDisCo discriminator trained with its norms through the fused kernel (float32; the real pair's forward, whose
// backward is differentiated again, records ATen's composition) against the same training in float64, where every
// norm is ATen's composition: the parameter gradients of BCE + the denoising loss (its double backward included),
// then the losses of 6 SGD steps on the same batches and draws.
void fused_norm_training_tests() {
  torch::nn::GroupNorm probe(torch::nn::GroupNormOptions(4, 16));
  if (!group_norm_silu_is_fused(torch::zeros({1, 16, 4}), probe)) {
    std::cout << "skip the discriminator's fused-norm training: this CPU has no AVX2/FMA, ATen's path is used\n";
    return;
  }
  const auto network = parse_discriminator_network(Json::parse(
      R"({"kind":"mmdisco","preset":"mmdiffusion","width":16,"channelMult":[1,2],"blocksPerLevel":1,"timeDim":16,"groups":4,"maxDilation":4})"));
  const auto mlp_network = [](int64_t dim) {
    return parse_eps_network(Json::parse(R"({"kind":"mlp","hidden":16,"blocks":1,"dim":)" + std::to_string(dim) + "}"));
  };
  const std::vector<int64_t> audio_shape{2, 1, 64}, video_shape{2, 2, 3, 8, 8};
  struct Run {
    std::shared_ptr<DiscriminatorCritic> disc;
    std::shared_ptr<IndependentEps> bases;
  };
  const auto run_in = [&](torch::ScalarType dtype) {
    const Placement placement{torch::kCPU, dtype, 3};
    return Run{make_mmdisco_discriminator(network, linear_schedule(100), linear_schedule(100), 3, torch::kCPU, dtype),
               std::make_shared<IndependentEps>(std::vector<std::shared_ptr<EpsSource>>{
                   make_eps_network(mlp_network(64), linear_schedule(100), placement),
                   make_eps_network(mlp_network(2 * 3 * 8 * 8), linear_schedule(100), placement)})};
  };
  Run fused = run_in(torch::kFloat32), plain = run_in(torch::kFloat64);
  assign_flat_parameters(plain.disc->module(), flat_parameters(fused.disc->module()));
  for (size_t m = 0; m < 2; ++m) {
    auto& from = dynamic_cast<NetworkEps&>(*fused.bases->source(m)).module();
    auto& to = dynamic_cast<NetworkEps&>(*plain.bases->source(m)).module();
    assign_flat_parameters(to, flat_parameters(from));
  }
  torch::manual_seed(5);
  const auto draw_batch = [&] {
    return DiscriminatorBatch{torch::randn(audio_shape), torch::randn(video_shape), torch::randn(audio_shape),
                              torch::randn(video_shape), {}, {}, {}};
  };
  const auto in_float64 = [](const torch::Tensor& t) {
    return t.defined() && t.is_floating_point() ? t.to(torch::kFloat64) : t;
  };
  const OptimizerConfig config{1e-3, 0};
  DiscriminatorTrainer draws(fused.disc, fused.bases, {1, 0}, config, 9);
  const DiscriminatorLossWeights weights{1, 0};
  torch::optim::SGD sgd_fused(fused.disc->module().parameters(), torch::optim::SGDOptions(0.05));
  torch::optim::SGD sgd_plain(plain.disc->module().parameters(), torch::optim::SGDOptions(0.05));
  double worst_loss = 0, worst_gradient = 0, first = 0, last = 0;
  for (int step = 0; step < 6; ++step) {
    const auto batch = draw_batch();
    const auto draw = draws.draw(batch);
    const DiscriminatorBatch batch64{in_float64(batch.real_audio), in_float64(batch.real_video),
                                     in_float64(batch.fake_audio), in_float64(batch.fake_video), {}, {}, {}};
    const DiscriminatorDraw draw64{draw.t_real, draw.t_fake, in_float64(draw.noise_real_audio),
                                   in_float64(draw.noise_real_video), in_float64(draw.noise_fake_audio),
                                   in_float64(draw.noise_fake_video)};
    sgd_fused.zero_grad();
    sgd_plain.zero_grad();
    const auto loss = discriminator_loss(*fused.disc, *fused.bases, batch, draw, weights);
    const auto loss64 = discriminator_loss(*plain.disc, *plain.bases, batch64, draw64, weights);
    loss.total.backward();
    loss64.total.backward();
    const double a = loss.total.item<double>(), b = loss64.total.item<double>();
    worst_loss = std::max(worst_loss, std::abs(a - b) / std::abs(b));
    if (step == 0) {
      const auto g = flat_gradient(fused.disc->module()).to(torch::kFloat64), g64 = flat_gradient(plain.disc->module());
      worst_gradient = ((g - g64).norm() / g64.norm()).item<double>();
      first = b;
    }
    last = b;
    sgd_fused.step();
    sgd_plain.step();
  }
  check(worst_gradient < 1e-4, "the discriminator's parameter gradients (BCE + denoising loss) with fused norms in "
                               "float32 within 1e-4 of float64's ATen norms (relative L2 " + scientific(worst_gradient) + ")");
  check(worst_loss < 1e-5 && std::abs(last - first) > 1e-3 * std::abs(first),
        "6 SGD steps of the discriminator with fused norms track float64's ATen norms: losses within 1e-5 relative "
        "(worst " + scientific(worst_loss) + "; the loss moved from " + std::to_string(first) + " to " +
            std::to_string(last) + ")");
}

// The video convolution's temporal half records its input gradient as a forward convolution within a
// TwiceDifferentiableScope: a denoising-style second-order loss, ½‖∂s/∂x‖² + s, has the same gradients with respect
// to the input and every parameter as through ATen's own convolution backward (float64), and in bf16 autocast it
// runs (the backward casts to the forward's dtype) and stays within bf16's precision of float32.
void video_conv_double_backward_tests() {
  torch::manual_seed(11);
  const auto gradients = [](VideoConv2d1d& conv, const torch::Tensor& input, bool within_scope, bool bf16) {
    auto x = input.clone().requires_grad_();
    torch::Tensor s;
    {
      Bf16Autocast autocast(torch::kCPU, bf16);
      TwiceDifferentiableScope scope(within_scope);
      const auto y = conv->forward(x);
      s = (torch::tanh(y) * torch::linspace(-1, 1, y.numel(), y.options()).view(y.sizes())).sum().to(input.scalar_type());
    }
    const auto dx = torch::autograd::grad({s}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    std::vector<torch::Tensor> inputs{x};
    for (const auto& p : conv->parameters()) inputs.push_back(p);
    return torch::autograd::grad({0.5 * dx.pow(2).sum() + s}, inputs);
  };
  VideoConv2d1d conv(4, 6, 3);
  conv->to(torch::kFloat64);
  const auto x = torch::randn({2, 4, 5, 3, 3}, torch::kFloat64);
  const double exact = worst_error(gradients(conv, x, true, false), gradients(conv, x, false, false), relative_error);
  check(exact < 1e-12, "video conv: within a TwiceDifferentiableScope the second-order gradients (input, spatial and "
                       "temporal weights and biases) equal ATen's to " + text(exact));
  conv->to(torch::kFloat32);
  const auto x32 = x.to(torch::kFloat32);
  const double bf16 =
      worst_error(gradients(conv, x32, true, true), gradients(conv, x32, false, false), relative_error);
  check(bf16 < 5e-2, "video conv: the same in bf16 autocast, within " + text(bf16) + " of float32");
}

// Self times of nested spans against the closed form, then the profiler on real ops: each call counted once, and
// the self times of a single thread's work summing to no more than its wall time (no span counted twice).
void op_profile_tests() {
  const uint64_t ms = 1000000;
  const auto ops = self_times({{"A", 1, 0, 100 * ms},
                               {"B", 1, 10 * ms, 40 * ms},
                               {"D", 1, 20 * ms, 30 * ms},
                               {"C", 1, 50 * ms, 60 * ms},
                               {"A", 2, 0, 50 * ms},
                               {"E", 1, 200 * ms, 210 * ms},
                               {"F", 1, 300 * ms, 350 * ms},
                               {"G", 1, 300 * ms, 400 * ms}});
  std::map<std::string, OpTime> by_name;
  for (const auto& op : ops) by_name[op.name] = op;
  check(ops.front().name == "A" && std::abs(by_name["A"].self_ms - 110) < 1e-9 && by_name["A"].calls == 2,
        "self time: a span loses its children's spans, summed over threads and calls");
  check(std::abs(by_name["B"].self_ms - 20) < 1e-9 && std::abs(by_name["D"].self_ms - 10) < 1e-9 &&
            std::abs(by_name["C"].self_ms - 10) < 1e-9 && std::abs(by_name["E"].self_ms - 10) < 1e-9,
        "self time: nested and disjoint spans");
  check(std::abs(by_name["G"].self_ms - 50) < 1e-9 && std::abs(by_name["F"].self_ms - 50) < 1e-9,
        "self time: of two spans starting together the longer encloses the shorter");

  const auto a = torch::randn({256, 256}, torch::requires_grad());
  const auto start = std::chrono::steady_clock::now();
  const auto profile = profile_ops(
      [&] {
        auto x = a;
        for (int i = 0; i < 3; ++i) x = torch::mm(x, a).tanh();
        x.sum().backward();
      },
      torch::kCPU);
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  double total_ms = 0;
  int64_t mm_calls = -1, tanh_calls = -1;
  for (const auto& op : profile) {
    total_ms += op.self_ms;
    if (op.name == "aten::mm") mm_calls = op.calls;
    if (op.name == "aten::tanh") tanh_calls = op.calls;
  }
  // Forward 3 products; backward 2 each, as both factors of every product need a gradient.
  check(mm_calls == 9 && tanh_calls == 3, "profile: aten::mm 9 calls (3 forward, 6 backward), aten::tanh 3, got " +
                                              std::to_string(mm_calls) + " and " + std::to_string(tanh_calls));
  check(total_ms > 0 && total_ms <= wall_ms, "profile: self times sum to " + std::to_string(total_ms) +
                                                 " ms, within the work's wall time " + std::to_string(wall_ms) + " ms");
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  json_tests();
  config_tests();
  sampling_tests();
  loss_tests();
  optimizer_tests();
  eps_model_tests();
  gradient_check_tests();
  dpm_solver_tests();
  group_norm_silu_tests();
  fused_norm_training_tests();
  video_conv_double_backward_tests();
  op_profile_tests();
  if (argc < 2) {
    check(false, "the official fixture directory (test/fixtures/official-mmdisco) is given as the argument");
  } else {
    official_parity_tests(argv[1]);
    official_checkpoint_error_tests(argv[1]);
    official_trajectory_tests(argv[1]);
    official_joint_model_tests(argv[1]);
  }
  std::cout << (failures == 0 ? "all core tests passed" : std::to_string(failures) + " core test(s) failed") << "\n";
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
