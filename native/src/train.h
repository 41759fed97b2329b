#pragma once
// Training steps: one call = one optimiser step. The base ε-network trainer (denoising score matching) and the
// discriminator trainer (BCE real vs fake + λ_den · denoising loss through the input gradient).
#include <torch/torch.h>

#include <chrono>
#include <memory>

#include "eps_source.h"
#include "guidance.h"
#include "rng.h"

namespace mmdisco {

// Averages gradients over the processes of a data-parallel group (DataParallelSync in distributed.h). Trainers call
// backward(loss) in place of loss.backward(); on return each parameter's .grad holds the mean over ranks.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual void backward(const torch::Tensor& loss) = 0;
};

struct OptimizerConfig {
  double lr = 1e-3;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999;
  double grad_clip = 0.0;  // max global grad norm; 0 disables clipping
};

// torch::optim::AdamW (same options, per-parameter state and saved format, so a resume is exact either way) whose
// step updates every parameter in one fused pass (aten's _fused_adamw_) instead of AdamW's ~8 element-wise ops per
// parameter: within float rounding of the per-parameter loop (native/test/core_tests.cpp).
class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

FusedAdamW make_optimizer(torch::nn::Module& module, const OptimizerConfig& config);
// The loss terms of a step, by name ("bce", "denoising", …), as clip_and_step checks them.
using NamedLosses = std::vector<std::pair<std::string, torch::Tensor>>;
// Clips the global gradient norm to grad_clip (when > 0), then steps. Before it moves a weight it throws
// NonFiniteError, naming `step` (when > 0), at the first non-finite term of `losses` (this rank's, so the message
// names the cause where it arose), then at a non-finite gradient (which, summed over ranks, stops every rank).
// With `timer`, the checks are cut as their own phase (StepPhases::finite_check).
class PhaseTimer;
void clip_and_step(torch::nn::Module& module, torch::optim::Optimizer& optimizer, double grad_clip, int64_t step = 0,
                   const NamedLosses& losses = {}, PhaseTimer* timer = nullptr);

// What the ε-trainer adds to the optimiser: an exponential moving average of the weights, which is the copy that
// samples and evaluations use, and the precision on CUDA.
struct EpsTrainingConfig {
  std::shared_ptr<NetworkEps> ema;  // a second instance of the trained network; null: no EMA
  double ema_decay = 0.999;         // warmed up as min(decay, (1 + n) / (10 + n)) after n updates
  bool bf16_autocast = false;       // forward in bf16 autocast (weights, gradients and optimiser stay in the model's dtype)
};

class EpsTrainer {
 public:
  EpsTrainer(std::shared_ptr<NetworkEps> model, const OptimizerConfig& optimizer, uint64_t seed,
             EpsTrainingConfig training = {});
  // ε-prediction MSE at uniform t, one optimiser step, then the EMA update. Returns the loss.
  double step(const torch::Tensor& x0);
  // Data parallelism: x0 is then this rank's rows of a global batch of world_size equal parts, in rank order.
  void set_gradient_sync(std::shared_ptr<GradientSync> sync) { sync_ = std::move(sync); }
  int64_t steps() const { return steps_; }

  // Everything a resumed run needs to continue bit for bit: weights, EMA, optimiser moments, the random
  // stream and the step count, as a torch serialize archive.
  std::string save_state();
  void load_state(const std::string& bytes);

 private:
  void update_ema();
  std::shared_ptr<NetworkEps> model_;
  OptimizerConfig config_;
  EpsTrainingConfig training_;
  FusedAdamW optimizer_;
  Rng rng_;
  std::shared_ptr<GradientSync> sync_;
  int64_t steps_ = 0;
};

struct DiscriminatorBatch {
  torch::Tensor real_audio, real_video, fake_audio, fake_video;  // clean samples, batch-major
  Conditioning real_condition, fake_condition;                   // undefined for unconditioned discriminators
  torch::Tensor real_classes;  // (B,) int64: each real pair's class, −1 for none; needed by the class loss only
};

// The weights of the loss terms after the BCE.
struct DiscriminatorLossWeights {
  double denoising = 0;  // λ_den
  double classes = 0;    // λ_cls
};

// Every random draw of one loss evaluation, explicit so the loss is a deterministic function of the parameters.
struct DiscriminatorDraw {
  torch::Tensor t_real, t_fake;                      // (B,) int64
  torch::Tensor noise_real_audio, noise_real_video;  // ε of the real pair
  torch::Tensor noise_fake_audio, noise_fake_video;
};

// Wall-clock milliseconds of one training step's phases, cut where bench/reference/discriminator_step.py cuts its
// step: the forward passes (with the draws and the base models' ε̂), the input gradient, the backward pass (with the
// double backward) and the optimiser step; then, native only, the finiteness checks of clip_and_step (which the
// reference does not make). On CUDA each cut synchronises the device.
struct StepPhases {
  double forward = 0, input_gradient = 0, backward = 0, optimizer = 0, finite_check = 0;
};

// Adds the time since the previous cut (or its construction) to one phase of `phases`.
class PhaseTimer {
 public:
  PhaseTimer(StepPhases& phases, torch::Device device);
  void cut(double StepPhases::*phase);

 private:
  StepPhases& phases_;
  torch::Device device_;
  std::chrono::steady_clock::time_point last_;
};

struct DiscriminatorLoss {
  torch::Tensor total, bce, denoising, classes;  // scalars; total is differentiable
  double d_real = 0, d_fake = 0;        // mean sigmoid output on real / fake
  torch::Tensor p_real, p_fake;         // per-sample sigmoid outputs (B,), detached
  torch::Tensor t_real, t_fake;         // the timesteps they were taken at
};

// `base`: the frozen base models' ε̂ of (audio, video), one call on both noisy inputs: independent single-modality
// models (IndependentEps) or a joint model that reads both (MM-Diffusion's U-Net).
// L = BCE(h_real, 1) + BCE(h_fake, 0) + λ_den · Σ_m mean‖ε_m − sg(ε̂_m(x_t)) − r_m‖² + λ_cls · Σ_m CE(class
// scores_m, class) over the real pairs that have a class. r is from the smoothed logit of the real pair with
// create_graph (double backward); λ_den = 0 skips the input gradient entirely. The class term is a dense signal
// for each tower to learn the class, where the BCE only says whether a pair and its condition agree; it needs the
// projection heads' class scores, taken under the null condition so that the towers cannot read the class from
// the condition itself. `bf16_autocast`: the discriminator's logits in bf16 autocast on the batch's device (the
// weights, the gradients and the optimiser stay in the model's dtype).
DiscriminatorLoss discriminator_loss(DiscriminatorCritic& disc, JointEpsSource& base,
                                     const DiscriminatorBatch& batch, const DiscriminatorDraw& draw,
                                     const DiscriminatorLossWeights& weights, bool bf16_autocast = false,
                                     PhaseTimer* timer = nullptr);

// What DiscriminatorTrainer::train_steps did, one entry per step: the loss terms and mean sigmoid outputs (steps,)
// float64, and the per-sample sigmoid outputs and timesteps (steps, batch size).
struct DiscriminatorTrainLog {
  torch::Tensor total, bce, denoising, d_real, d_fake, classes;
  torch::Tensor p_real, p_fake, t_real, t_fake;
  torch::Tensor phases_ms;  // (steps, 5) float64: forward, input gradient, backward, optimiser, finite check; with phase timing only
};

class DiscriminatorTrainer {
 public:
  // `timesteps`: the steps the real and fake pairs are noised to, drawn uniformly (the method draws over the whole
  // schedule; a narrower range spends the training where a guidance interval applies it).
  // `base`: the ε̂ of (audio, video), as discriminator_loss takes it.
  DiscriminatorTrainer(std::shared_ptr<DiscriminatorCritic> disc, std::shared_ptr<JointEpsSource> base,
                       const DiscriminatorLossWeights& weights,
                       const OptimizerConfig& optimizer, uint64_t seed, TimestepRange timesteps = {});
  DiscriminatorDraw draw(const DiscriminatorBatch& batch);
  // One optimiser step; with `phases`, adds the step's phase times to it.
  DiscriminatorLoss step(const DiscriminatorBatch& batch, StepPhases* phases = nullptr);
  // Whether train_steps times each step's phases (DiscriminatorTrainLog::phases_ms).
  void set_phase_timing(bool on) { time_phases_ = on; }
  // Whether the discriminator's forward passes run in bf16 autocast (discriminator_loss).
  void set_bf16_autocast(bool on) { bf16_autocast_ = on; }
  // A ShapeError unless the four arrays have the same rows, a positive multiple of batch_size, and realClasses (when
  // given) one class per real row.
  static void check_train_rows(const DiscriminatorBatch& data, int64_t batch_size);
  // One step per consecutive batch_size rows of the batch.
  DiscriminatorTrainLog train_steps(const DiscriminatorBatch& data, int64_t batch_size);
  // Loss and flat parameter gradient for a given draw, without an optimiser step (finite-difference checks).
  std::pair<DiscriminatorLoss, torch::Tensor> loss_and_gradient(const DiscriminatorBatch& batch,
                                                                const DiscriminatorDraw& draw);
  // Data parallelism; each rank's draws then come from seed + rank, as in the released training code (so a
  // resumed rank loads its state after this call, which reseeds).
  void set_gradient_sync(std::shared_ptr<GradientSync> sync);
  int64_t steps() const { return steps_; }

  // As EpsTrainer's: weights, optimiser moments, the random stream and the step count, for a bit-exact resume.
  std::string save_state();
  void load_state(const std::string& bytes);

 private:
  std::shared_ptr<DiscriminatorCritic> disc_;
  std::shared_ptr<JointEpsSource> base_;
  DiscriminatorLossWeights weights_;
  OptimizerConfig config_;
  FusedAdamW optimizer_;
  uint64_t seed_;
  TimestepRange timesteps_;
  Rng rng_;
  std::shared_ptr<GradientSync> sync_;
  int64_t steps_ = 0;
  bool time_phases_ = false;
  bool bf16_autocast_ = false;
};

}  // namespace mmdisco
