#pragma once
// Joint guidance: a critic's log density-ratio ℓ(a_t, v_t, t), its residuals r_m = −σ^m_t ∇_m ℓ, the critic a
// trained discriminator network makes (DiscriminatorCritic: ℓ from the smoothed logit of the released
// implementation), and the critics composed from it (a bound condition, the residual CFG).
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>

#include "eps_source.h"
#include "schedule.h"

namespace mmdisco {

struct Residuals {
  torch::Tensor audio, video;
};

// The base models' ε̂(x_t, t) at the pair a critic is asked about, where the caller already holds them (a sampler's
// step, a trainer's denoising loss); undefined where not at hand. A critic that reads the base models uses them in
// place of computing them again; the others ignore them.
struct BaseEps {
  torch::Tensor audio, video;
};

class JointCritic {
 public:
  virtual ~JointCritic() = default;
  // ℓ, shape (B,), differentiable with respect to a_t and v_t.
  virtual torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                  const BaseEps& base_eps) = 0;
  // r_m = −σ^m_t · ∂(Σ_batch ℓ)/∂x_m for both modalities. With create_graph the result stays differentiable with
  // respect to the critic's parameters (the denoising loss needs this double backward).
  virtual Residuals residuals(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                              bool create_graph, const BaseEps& base_eps);
  virtual const NoiseSchedule& audio_schedule() const = 0;
  virtual const NoiseSchedule& video_schedule() const = 0;
  // Whether the critic reads these ε-sources' ε̂ at the pair it is asked about, so that a caller holding them can
  // hand them in as BaseEps (a sampler whose sources are a denoising discriminator's base models).
  virtual bool reads_base_models(const EpsSource* audio, const EpsSource* video) const {
    (void)audio, (void)video;
    return false;
  }
};

// ℓ = log(p + 1e-5) − log(1 − p + 1e-5), p = sigmoid(h): finite where p saturates.
torch::Tensor smoothed_logit(const torch::Tensor& h);

// Per-sample conditioning vectors of a discriminator (text embeddings, (B, d) or (B, tokens, d)); an undefined
// tensor means the modality is unconditioned.
struct Conditioning {
  torch::Tensor audio, video;
};

// A discriminator's output: the pre-sigmoid h (B,) and, per modality whose condition meets a projection head,
// the class scores (B, d) that h's projection term weighs by the condition (undefined elsewhere).
struct DiscriminatorOutput {
  torch::Tensor h, audio_class_scores, video_class_scores;
};

// A trainable discriminator network (any module giving the pre-sigmoid output h(a_t, v_t, t, c) of shape (B,)) as
// a critic: ℓ = smoothed_logit(h), on the base models' schedules, optionally reading x̂0 through its denoisers.
class DiscriminatorCritic : public JointCritic {
 public:
  using Forward = std::function<DiscriminatorOutput(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                                    const Conditioning&)>;
  DiscriminatorCritic(std::shared_ptr<torch::nn::Module> module, Forward forward, NoiseSchedule audio_schedule,
                      NoiseSchedule video_schedule);

  DiscriminatorOutput outputs(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                              const Conditioning& c = {}, const BaseEps& base_eps = {});
  torch::Tensor pre_sigmoid(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                            const Conditioning& c = {}, const BaseEps& base_eps = {}) {
    return outputs(a_t, v_t, t, c, base_eps).h;
  }
  // From now on the module reads the base models' one-step estimates of the clean pair, x̂0 = (x_t − σ_t ε̂) / √ᾱ_t,
  // in place of x_t, with ε̂ = ε̂_m(x_t, t) held constant (so ∂x̂0/∂x_t = 1/√ᾱ_t). Where the noise hides an event's
  // timing from a small network reading x_t, the denoiser has often placed it already.
  void set_denoisers(std::shared_ptr<EpsSource> audio_base, std::shared_ptr<EpsSource> video_base);
  bool denoises() const { return audio_denoiser_ != nullptr; }
  // Whether these ε-sources are the discriminator's denoisers, so that their ε̂ can be handed in as BaseEps.
  bool denoises_with(const EpsSource* audio, const EpsSource* video) const {
    return denoises() && audio_denoiser_.get() == audio && video_denoiser_.get() == video;
  }
  bool reads_base_models(const EpsSource* audio, const EpsSource* video) const override {
    return denoises_with(audio, video);
  }
  torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                          const BaseEps& base_eps) override {
    return smoothed_logit(pre_sigmoid(a_t, v_t, t, {}, base_eps));
  }
  const NoiseSchedule& audio_schedule() const override { return audio_schedule_; }
  const NoiseSchedule& video_schedule() const override { return video_schedule_; }
  torch::nn::Module& module() { return *module_; }
  const std::shared_ptr<torch::nn::Module>& module_ptr() const { return module_; }

 private:
  std::shared_ptr<torch::nn::Module> module_;
  Forward forward_;
  NoiseSchedule audio_schedule_, video_schedule_;
  std::shared_ptr<EpsSource> audio_denoiser_, video_denoiser_;
};

// A discriminator with its conditioning bound, as a critic for the samplers (one per CFG branch).
class ConditionedCritic : public JointCritic {
 public:
  ConditionedCritic(std::shared_ptr<DiscriminatorCritic> disc, Conditioning condition)
      : disc_(std::move(disc)), condition_(std::move(condition)) {}
  torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                          const BaseEps& base_eps) override {
    return smoothed_logit(disc_->pre_sigmoid(a_t, v_t, t, condition_, base_eps));
  }
  const NoiseSchedule& audio_schedule() const override { return disc_->audio_schedule(); }
  const NoiseSchedule& video_schedule() const override { return disc_->video_schedule(); }
  bool reads_base_models(const EpsSource* audio, const EpsSource* video) const override {
    return disc_->reads_base_models(audio, video);
  }

 private:
  std::shared_ptr<DiscriminatorCritic> disc_;
  Conditioning condition_;
};

// Classifier-free guidance scales of the residual, one per modality (spec §4.1 c: each modality's base-model scale).
struct CfgScales {
  double audio, video;
};

// Classifier-free guidance of the residual (spec §4.1 c): r_m = r∅_m + s_m·(r^c_m − r∅_m). A branch whose weight is
// zero for both modalities (∅ at s = 1, c at s = 0) is not evaluated, which also makes those cases exactly the single
// branch. With one scale s for both modalities the residuals are those of ℓ = ℓ∅ + s·(ℓ^c − ℓ∅) (they are linear
// in ℓ); with two, no single ℓ has them, so log_ratio refuses.
class CfgCritic : public JointCritic {
 public:
  CfgCritic(std::shared_ptr<JointCritic> conditional, std::shared_ptr<JointCritic> unconditional, CfgScales scales)
      : conditional_(std::move(conditional)), unconditional_(std::move(unconditional)), scales_(scales) {}
  torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                          const BaseEps& base_eps) override;
  Residuals residuals(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t, bool create_graph,
                      const BaseEps& base_eps) override;
  const NoiseSchedule& audio_schedule() const override { return conditional_->audio_schedule(); }
  const NoiseSchedule& video_schedule() const override { return conditional_->video_schedule(); }
  bool reads_base_models(const EpsSource* audio, const EpsSource* video) const override {
    return conditional_->reads_base_models(audio, video) && unconditional_->reads_base_models(audio, video);
  }

 private:
  std::shared_ptr<JointCritic> conditional_, unconditional_;
  CfgScales scales_;
};

// Any critic with its forward passes in bf16 autocast on `device` (the backward follows the forward's dtypes): ℓ and
// the residuals come back in fp32. Guidance then costs what a bf16 forward and backward cost, at a residual error of
// the order of bf16's 3 significant digits (test/guidance/precision.test.ts measures it).
class Bf16AutocastCritic : public JointCritic {
 public:
  Bf16AutocastCritic(std::shared_ptr<JointCritic> critic, torch::Device device)
      : critic_(std::move(critic)), device_(device) {}
  torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                          const BaseEps& base_eps) override;
  Residuals residuals(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t, bool create_graph,
                      const BaseEps& base_eps) override;
  const NoiseSchedule& audio_schedule() const override { return critic_->audio_schedule(); }
  const NoiseSchedule& video_schedule() const override { return critic_->video_schedule(); }
  bool reads_base_models(const EpsSource* audio, const EpsSource* video) const override {
    return critic_->reads_base_models(audio, video);
  }

 private:
  std::shared_ptr<JointCritic> critic_;
  torch::Device device_;
};

// The residual CFG of a condition against the null condition, with one scale per modality.
struct ResidualCfg {
  Conditioning null_condition;
  CfgScales scales;
};

// A discriminator as a critic: bound to `condition` when it conditions any modality and, with `cfg`, the residual
// CFG of that branch against the null-condition one; with `bf16_autocast`, all of it in bf16 autocast on `device`.
std::shared_ptr<JointCritic> discriminator_critic(const std::shared_ptr<DiscriminatorCritic>& disc,
                                                  const Conditioning& condition = {},
                                                  const std::optional<ResidualCfg>& cfg = std::nullopt,
                                                  bool bf16_autocast = false,
                                                  torch::Device device = torch::kCPU);

}  // namespace mmdisco
