#include "train.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "autocast.h"
#include "errors.h"
#include "kernels/group_norm_silu.h"
#include "module_state.h"

namespace mmdisco {

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode grad_on(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!options.amsgrad(), "FusedAdamW: amsgrad is not supported");
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
    std::vector<float> steps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "AdamW does not support sparse gradients");
      // The state torch::optim::AdamW keeps (and saves), created and counted the same way.
      auto& slot = state()[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      s.step(s.step() + 1);
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(s.exp_avg());
      exp_avg_sqs.push_back(s.exp_avg_sq());
      steps.push_back(static_cast<float>(s.step()));
    }
    if (params.empty()) continue;
    // The kernel reads each parameter's step count from a float tensor on the parameter's device.
    auto state_steps = torch::tensor(steps).to(params.front().device()).unbind(0);
    const auto [beta1, beta2] = options.betas();
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, state_steps, options.lr(), beta1,
                      beta2, options.weight_decay(), options.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
  return loss;
}

FusedAdamW make_optimizer(torch::nn::Module& module, const OptimizerConfig& c) {
  return FusedAdamW(module.parameters(), torch::optim::AdamWOptions(c.lr)
                                             .betas({c.beta1, c.beta2})
                                             .weight_decay(c.weight_decay));
}

PhaseTimer::PhaseTimer(StepPhases& phases, torch::Device device)
    : phases_(phases), device_(device), last_(std::chrono::steady_clock::now()) {}

void PhaseTimer::cut(double StepPhases::*phase) {
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  const auto now = std::chrono::steady_clock::now();
  phases_.*phase += std::chrono::duration<double, std::milli>(now - last_).count();
  last_ = now;
}

namespace {

// The L2 norm over every parameter's gradient, as clipping computes it.
double global_gradient_norm(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0;
  return torch::stack(torch::_foreach_norm(grads)).norm().item<double>();
}

std::string step_prefix(int64_t step) { return step > 0 ? "step " + std::to_string(step) + ": " : std::string(); }

// A value as JavaScript prints it (NaN, Infinity, -Infinity), so that messages read the same on both sides.
std::string js_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return std::to_string(value);
}

std::string first_non_finite_gradient(torch::nn::Module& module) {
  for (const auto& item : module.named_parameters()) {
    const auto& grad = item.value().grad();
    if (grad.defined() && !torch::isfinite(grad).all().item<bool>()) return item.key();
  }
  return "";
}

}  // namespace

void clip_and_step(torch::nn::Module& module, torch::optim::Optimizer& optimizer, double grad_clip, int64_t step,
                   const NamedLosses& losses, PhaseTimer* timer) {
  for (const auto& [name, loss] : losses) {
    if (!loss.defined()) continue;
    const double value = loss.item<double>();
    if (!std::isfinite(value))
      throw NonFiniteError(step_prefix(step) + name + " is " + js_number(value) +
                           "; stopped before the optimiser step, the weights are as they were");
  }
  const auto parameters = module.parameters();
  // Checked before clipping: clipping a non-finite norm scales every gradient by NaN, which would hide the
  // parameter it came from. The float32 norm of huge but finite gradients overflows too, so a non-finite norm is
  // only the cue for the exact search.
  if (!std::isfinite(global_gradient_norm(parameters))) {
    const std::string name = first_non_finite_gradient(module);
    if (!name.empty())
      throw NonFiniteError(step_prefix(step) + "the gradient of '" + name +
                           "' is not finite; stopped before the optimiser step, the weights are as they were");
  }
  if (timer) timer->cut(&StepPhases::finite_check);
  if (grad_clip > 0) torch::nn::utils::clip_grad_norm_(parameters, grad_clip);
  optimizer.step();
}

namespace {

void backward(const torch::Tensor& loss, GradientSync* sync) {
  if (sync) {
    sync->backward(loss);
  } else {
    loss.backward();
  }
}

void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.parameters();
  auto target = to.parameters();
  TORCH_CHECK(source.size() == target.size(), "EMA: the averaged network differs from the trained one");
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

// n timesteps drawn uniformly from the steps of `range` within the schedule's 0 … T − 1.
torch::Tensor uniform_timesteps(Rng& rng, const NoiseSchedule& schedule, int64_t n, const torch::Device& device,
                                TimestepRange range = {}) {
  return rng.randint(range.min, std::min(range.max, schedule.timesteps() - 1) + 1, {n}, device);
}

// A trainer's state for an exact resume (weights, EMA when kept, optimiser moments, random stream, step count) as
// one torch serialize archive; both trainers save and load through these two functions.
std::string save_trainer_state(torch::nn::Module& model, torch::nn::Module* ema, torch::optim::Optimizer& optimizer,
                               Rng& rng, int64_t steps) {
  torch::serialize::OutputArchive archive, model_archive, ema_archive, optimizer_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (ema) {
    ema->save(ema_archive);
    archive.write("ema", ema_archive);
  }
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("rng", rng.state());
  archive.write("steps", torch::tensor(steps, torch::kInt64));
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t size) -> size_t {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return bytes;
}

// torch::nn::Module::load, but copying into the existing tensors instead of rebinding them with set_(): a
// data-parallel Reducer attached before the load keeps averaging the gradients of the tensors it registered.
void load_module_in_place(torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  torch::NoGradGuard no_grad;
  auto restore = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    torch::Tensor stored;
    archive.read(name, stored, is_buffer);
    TORCH_CHECK(stored.sizes() == target.sizes(), "training state: '", name, "' has shape ", stored.sizes(),
                ", the network's is ", target.sizes());
    target.copy_(stored);
  };
  for (auto& parameter : module.named_parameters(/*recurse=*/false)) restore(parameter.key(), parameter.value(), false);
  for (auto& buffer : module.named_buffers(/*recurse=*/false)) restore(buffer.key(), buffer.value(), true);
  for (const auto& child : module.named_children()) {
    if (!child.value()->is_serializable()) continue;
    torch::serialize::InputArchive child_archive;
    archive.read(child.key(), child_archive);
    load_module_in_place(*child.value(), child_archive);
  }
}

// Restores what save_trainer_state wrote into the same parts; returns the step count. The optimiser keeps its
// moments and step counts but takes its settings (lr, betas, weight decay) from `config`, the run's configuration
// as resumed: the archive's copy of them would silently override a changed `training.lr`.
int64_t load_trainer_state(const std::string& bytes, torch::nn::Module& model, torch::nn::Module* ema,
                           torch::optim::AdamW& optimizer, const OptimizerConfig& config, Rng& rng) {
  const auto parameters = model.parameters();
  const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
  torch::serialize::InputArchive archive, model_archive, ema_archive, optimizer_archive;
  archive.load_from(bytes.data(), bytes.size(), device);
  archive.read("model", model_archive);
  load_module_in_place(model, model_archive);
  const bool has_ema = archive.try_read("ema", ema_archive);
  TORCH_CHECK(has_ema == (ema != nullptr), "training state ", has_ema ? "has" : "lacks",
              " EMA weights but this trainer ", ema ? "keeps" : "keeps no", " an EMA");
  if (has_ema) load_module_in_place(*ema, ema_archive);
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options())
        .lr(config.lr)
        .betas({config.beta1, config.beta2})
        .weight_decay(config.weight_decay);
  }
  torch::Tensor rng_state, steps;
  archive.read("rng", rng_state);
  rng.set_state(rng_state.cpu());  // the archive was loaded onto the model's device; the generator is on the CPU
  archive.read("steps", steps);
  return steps.item<int64_t>();
}

}  // namespace

EpsTrainer::EpsTrainer(std::shared_ptr<NetworkEps> model, const OptimizerConfig& optimizer, uint64_t seed,
                       EpsTrainingConfig training)
    : model_(std::move(model)), config_(optimizer), training_(std::move(training)),
      optimizer_(make_optimizer(model_->module(), optimizer)), rng_(seed) {
  if (training_.ema) {
    TORCH_CHECK(training_.ema_decay >= 0 && training_.ema_decay < 1, "EMA decay must be in [0, 1), got ",
                training_.ema_decay);
    copy_parameters(model_->module(), training_.ema->module());
  }
}

double EpsTrainer::step(const torch::Tensor& x0_in) {
  torch::AutoGradMode grad_on(true);
  model_->module().train();
  auto x0 = x0_in.to(model_->device(), model_->dtype());
  // Every rank draws t and ε for the whole global batch and keeps its own rows, so a data-parallel run takes the
  // same steps as one process on the global batch, whatever the number of ranks.
  const int64_t rows = x0.size(0), ranks = sync_ ? sync_->world_size() : 1, first = sync_ ? sync_->rank() * rows : 0;
  auto global_shape = x0.sizes().vec();
  global_shape[0] = rows * ranks;
  auto t = uniform_timesteps(rng_, model_->schedule(), rows * ranks, x0.device()).slice(0, first, first + rows);
  auto noise = rng_.randn(global_shape, x0.options()).slice(0, first, first + rows);
  auto x_t = model_->schedule().q_sample(x0, t, noise);
  torch::Tensor prediction;
  {
    Bf16Autocast autocast(x0.device(), training_.bf16_autocast);
    prediction = model_->forward(x_t, t);
  }
  auto loss = torch::mse_loss(prediction.to(noise.scalar_type()), noise);
  optimizer_.zero_grad();
  backward(loss, sync_.get());
  clip_and_step(model_->module(), optimizer_, config_.grad_clip, steps_ + 1, {{"loss", loss}});
  update_ema();
  ++steps_;
  return loss.item<double>();
}

void EpsTrainer::update_ema() {
  if (!training_.ema) return;
  torch::NoGradGuard no_grad;
  const double n = static_cast<double>(steps_);
  const double decay = std::min(training_.ema_decay, (1 + n) / (10 + n));
  auto averaged = training_.ema->module().parameters();
  torch::_foreach_lerp_(averaged, model_->module().parameters(), 1 - decay);
}

std::string EpsTrainer::save_state() {
  auto* ema = training_.ema ? &training_.ema->module() : nullptr;
  return save_trainer_state(model_->module(), ema, optimizer_, rng_, steps_);
}

void EpsTrainer::load_state(const std::string& bytes) {
  auto* ema = training_.ema ? &training_.ema->module() : nullptr;
  steps_ = load_trainer_state(bytes, model_->module(), ema, optimizer_, config_, rng_);
}

namespace {

// The zero vectors that stand for "no condition" (ts/guidance/conditioning.ts).
Conditioning null_condition(const Conditioning& c) {
  auto zeros = [](const torch::Tensor& x) { return x.defined() ? torch::zeros_like(x) : x; };
  return {zeros(c.audio), zeros(c.video)};
}

// Σ_m CE(class scores_m, class) over the rows with a class (−1 marks rows without one).
torch::Tensor class_loss(const DiscriminatorOutput& out, const torch::Tensor& classes) {
  if (!out.audio_class_scores.defined() && !out.video_class_scores.defined())
    throw std::invalid_argument("the class loss needs a discriminator with projection heads (conditioning.projection)");
  if (!classes.defined()) throw std::invalid_argument("the class loss needs each real pair's class (realClasses)");
  auto loss = torch::zeros({}, out.h.options());
  const auto rows = classes.ge(0).nonzero().squeeze(1);
  if (rows.numel() == 0) return loss;
  for (const auto& scores : {out.audio_class_scores, out.video_class_scores}) {
    if (scores.defined())
      loss = loss + torch::nn::functional::cross_entropy(scores.index_select(0, rows), classes.index_select(0, rows));
  }
  return loss;
}

}  // namespace

DiscriminatorLoss discriminator_loss(DiscriminatorCritic& disc, JointEpsSource& base, const DiscriminatorBatch& batch, const DiscriminatorDraw& draw,
                                     const DiscriminatorLossWeights& weights, bool bf16_autocast, PhaseTimer* timer) {
  torch::AutoGradMode grad_on(true);
  // The discriminator's logits, in bf16 autocast when asked, then all that follows in the model's dtype. The base
  // models' ε̂ (a frozen target) and the class term's pass stay in the model's dtype.
  const auto dtype = batch.real_audio.scalar_type();
  auto logit = [&](const auto& forward) {
    Bf16Autocast autocast(batch.real_audio.device(), bf16_autocast);
    return forward().to(dtype);
  };
  auto cut = [timer](double StepPhases::*phase) {
    if (timer) timer->cut(phase);
  };
  const auto& sa = disc.audio_schedule();
  const auto& sv = disc.video_schedule();
  auto a_real = sa.q_sample(batch.real_audio, draw.t_real, draw.noise_real_audio);
  auto v_real = sv.q_sample(batch.real_video, draw.t_real, draw.noise_real_video);
  auto a_fake = sa.q_sample(batch.fake_audio, draw.t_fake, draw.noise_fake_audio);
  auto v_fake = sv.q_sample(batch.fake_video, draw.t_fake, draw.noise_fake_video);

  // The base models' ε̂ of the real pair, computed once: the denoising loss needs it, and a discriminator that
  // denoises with these bases reads it (in the BCE and the class term alike).
  // Only single-modality models can be a discriminator's denoisers.
  const auto* independent = dynamic_cast<const IndependentEps*>(&base);
  const bool shares_bases = independent && disc.denoises_with(independent->source(0), independent->source(1));
  BaseEps real_eps;
  if (weights.denoising != 0 || shares_bases) {
    const auto eps = base.eps({a_real, v_real}, draw.t_real);
    real_eps = {eps.at(0).to(a_real.scalar_type()), eps.at(1).to(v_real.scalar_type())};
  }
  const BaseEps real_eps_for_disc = shares_bases ? real_eps : BaseEps{};

  DiscriminatorLoss out;
  torch::Tensor h_real;
  if (weights.denoising != 0) {
    // One forward pass serves both the BCE term and the input gradient of the denoising term.
    auto a = a_real.detach().requires_grad_(true);
    auto v = v_real.detach().requires_grad_(true);
    h_real = logit([&] {
      TwiceDifferentiableScope differentiable;
      return disc.pre_sigmoid(a, v, draw.t_real, batch.real_condition, real_eps_for_disc);
    });
    cut(&StepPhases::forward);
    auto grads = torch::autograd::grad({smoothed_logit(h_real).sum()}, {a, v}, {}, /*retain_graph=*/true,
                                       /*create_graph=*/true);
    cut(&StepPhases::input_gradient);
    auto r_audio = -sa.sigma(draw.t_real, a) * grads[0];
    auto r_video = -sv.sigma(draw.t_real, v) * grads[1];
    out.denoising = torch::mse_loss(real_eps.audio + r_audio, draw.noise_real_audio) +
                    torch::mse_loss(real_eps.video + r_video, draw.noise_real_video);
  } else {
    h_real = logit([&] { return disc.pre_sigmoid(a_real, v_real, draw.t_real, batch.real_condition, real_eps_for_disc); });
    out.denoising = torch::zeros({}, h_real.options());
  }
  auto h_fake = logit([&] { return disc.pre_sigmoid(a_fake, v_fake, draw.t_fake, batch.fake_condition); });
  // BCE with logits: −log σ(h) = softplus(−h) for real, −log(1 − σ(h)) = softplus(h) for fake.
  out.bce = torch::softplus(-h_real).mean() + torch::softplus(h_fake).mean();
  out.classes = weights.classes != 0
                    ? class_loss(disc.outputs(a_real, v_real, draw.t_real, null_condition(batch.real_condition),
                                              real_eps_for_disc),
                                 batch.real_classes)
                    : torch::zeros({}, h_real.options());
  out.total = out.bce + weights.denoising * out.denoising + weights.classes * out.classes;
  out.p_real = torch::sigmoid(h_real).detach();
  out.p_fake = torch::sigmoid(h_fake).detach();
  out.d_real = out.p_real.mean().item<double>();
  out.d_fake = out.p_fake.mean().item<double>();
  out.t_real = draw.t_real;
  out.t_fake = draw.t_fake;
  cut(&StepPhases::forward);
  return out;
}

DiscriminatorTrainer::DiscriminatorTrainer(std::shared_ptr<DiscriminatorCritic> disc, std::shared_ptr<JointEpsSource> base,
                                           const DiscriminatorLossWeights& weights, const OptimizerConfig& optimizer,
                                           uint64_t seed, TimestepRange timesteps)
    : disc_(std::move(disc)), base_(std::move(base)), weights_(weights), config_(optimizer),
      optimizer_(make_optimizer(disc_->module(), optimizer)), seed_(seed), timesteps_(timesteps), rng_(seed) {
  if (base_->modalities() != 2)
    throw std::invalid_argument("the discriminator's base models must give the ε of audio and video, not of " +
                                std::to_string(base_->modalities()) + " modalities");
  const int64_t T = disc_->audio_schedule().timesteps();
  const bool to_last = timesteps_.max == TimestepRange{}.max;  // the default: up to the schedule's last step
  if (timesteps_.min < 0 || timesteps_.min >= T || (!to_last && (timesteps_.max >= T || timesteps_.max < timesteps_.min)))
    throw std::invalid_argument("timestep range [" + std::to_string(timesteps_.min) + ", " +
                                std::to_string(timesteps_.max) + "] is not within the schedule's 0 … " +
                                std::to_string(T - 1));
}

void DiscriminatorTrainer::set_gradient_sync(std::shared_ptr<GradientSync> sync) {
  sync_ = std::move(sync);
  rng_.reseed(seed_ + (sync_ ? sync_->rank() : 0));
}

DiscriminatorDraw DiscriminatorTrainer::draw(const DiscriminatorBatch& batch) {
  const auto device = batch.real_audio.device();
  DiscriminatorDraw d;
  d.t_real = uniform_timesteps(rng_, disc_->audio_schedule(), batch.real_audio.size(0), device, timesteps_);
  d.t_fake = uniform_timesteps(rng_, disc_->audio_schedule(), batch.fake_audio.size(0), device, timesteps_);
  d.noise_real_audio = rng_.randn(batch.real_audio.sizes(), batch.real_audio.options());
  d.noise_real_video = rng_.randn(batch.real_video.sizes(), batch.real_video.options());
  d.noise_fake_audio = rng_.randn(batch.fake_audio.sizes(), batch.fake_audio.options());
  d.noise_fake_video = rng_.randn(batch.fake_video.sizes(), batch.fake_video.options());
  return d;
}

DiscriminatorLoss DiscriminatorTrainer::step(const DiscriminatorBatch& batch, StepPhases* phases) {
  std::optional<PhaseTimer> timer;
  if (phases) timer.emplace(*phases, batch.real_audio.device());
  disc_->module().train();
  auto loss = discriminator_loss(*disc_, *base_, batch, draw(batch), weights_, bf16_autocast_, timer ? &*timer : nullptr);
  optimizer_.zero_grad();
  backward(loss.total, sync_.get());
  if (timer) timer->cut(&StepPhases::backward);
  clip_and_step(disc_->module(), optimizer_, config_.grad_clip, steps_ + 1,
                {{"bce", loss.bce}, {"denoising loss", loss.denoising}, {"class loss", loss.classes}, {"loss", loss.total}},
                timer ? &*timer : nullptr);
  if (timer) timer->cut(&StepPhases::optimizer);
  ++steps_;
  return loss;
}

void DiscriminatorTrainer::check_train_rows(const DiscriminatorBatch& data, int64_t batch_size) {
  const int64_t rows = data.real_audio.size(0);
  if (batch_size < 1 || rows % batch_size != 0 || data.real_video.size(0) != rows || data.fake_audio.size(0) != rows ||
      data.fake_video.size(0) != rows)
    throw ShapeError("all four arrays need the same number of rows, a multiple of batchSize");
  if (data.real_classes.defined() && (data.real_classes.dim() != 1 || data.real_classes.size(0) != rows))
    throw ShapeError("realClasses needs one class per real row");
}

DiscriminatorTrainLog DiscriminatorTrainer::train_steps(const DiscriminatorBatch& data, int64_t batch_size) {
  check_train_rows(data, batch_size);
  const int64_t steps = data.real_audio.size(0) / batch_size;
  auto log = torch::empty({6, steps}, torch::kFloat64);
  auto phases_ms = time_phases_ ? torch::empty({steps, 5}, torch::kFloat64) : torch::Tensor();
  std::vector<torch::Tensor> p_real, p_fake, t_real, t_fake;
  for (int64_t s = 0; s < steps; ++s) {
    auto slice = [&](const torch::Tensor& x) {
      return x.defined() ? x.slice(0, s * batch_size, (s + 1) * batch_size) : x;
    };
    auto slice_condition = [&](const Conditioning& c) { return Conditioning{slice(c.audio), slice(c.video)}; };
    StepPhases phases;
    auto loss = step({slice(data.real_audio), slice(data.real_video), slice(data.fake_audio), slice(data.fake_video),
                      slice_condition(data.real_condition), slice_condition(data.fake_condition),
                      slice(data.real_classes)},
                     time_phases_ ? &phases : nullptr);
    if (time_phases_) {
      phases_ms[s][0] = phases.forward;
      phases_ms[s][1] = phases.input_gradient;
      phases_ms[s][2] = phases.backward;
      phases_ms[s][3] = phases.optimizer;
      phases_ms[s][4] = phases.finite_check;
    }
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
  return {log[0], log[1], log[2], log[3], log[4], log[5],
          torch::stack(p_real), torch::stack(p_fake), torch::stack(t_real), torch::stack(t_fake), phases_ms};
}

std::string DiscriminatorTrainer::save_state() {
  return save_trainer_state(disc_->module(), nullptr, optimizer_, rng_, steps_);
}

void DiscriminatorTrainer::load_state(const std::string& bytes) {
  steps_ = load_trainer_state(bytes, disc_->module(), nullptr, optimizer_, config_, rng_);
}

std::pair<DiscriminatorLoss, torch::Tensor> DiscriminatorTrainer::loss_and_gradient(const DiscriminatorBatch& batch,
                                                                                     const DiscriminatorDraw& draw) {
  auto loss = discriminator_loss(*disc_, *base_, batch, draw, weights_, bf16_autocast_);
  optimizer_.zero_grad();
  loss.total.backward();
  auto grad = flat_gradient(disc_->module()).clone();
  optimizer_.zero_grad();
  return {loss, grad};
}

}  // namespace mmdisco
