#include "guidance.h"

#include "autocast.h"
#include "kernels/group_norm_silu.h"

#include <stdexcept>

namespace mmdisco {

torch::Tensor smoothed_logit(const torch::Tensor& h) {
  // From a bf16 forward, in fp32: the 1e-5 would vanish next to p in bf16's 8-bit mantissa.
  auto p = torch::sigmoid(at::isReducedFloatingType(h.scalar_type()) ? h.to(torch::kFloat32) : h);
  return torch::log(p + 1e-5) - torch::log(1 - p + 1e-5);
}

Residuals JointCritic::residuals(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                 bool create_graph, const BaseEps& base_eps) {
  torch::AutoGradMode grad_on(true);
  // Leaves of their own, so the gradient is taken with respect to the inputs as passed in.
  auto a = a_t.detach().requires_grad_(true);
  auto v = v_t.detach().requires_grad_(true);
  torch::Tensor ell;
  {
    TwiceDifferentiableScope differentiable(create_graph);
    ell = log_ratio(a, v, t, base_eps).sum();
  }
  auto grads = torch::autograd::grad({ell}, {a, v}, /*grad_outputs=*/{}, /*retain_graph=*/create_graph,
                                     /*create_graph=*/create_graph);
  Residuals r{-audio_schedule().sigma(t, a) * grads[0], -video_schedule().sigma(t, v) * grads[1]};
  if (!create_graph) {
    r.audio = r.audio.detach();
    r.video = r.video.detach();
  }
  return r;
}

namespace {

// x∅ + s·(x^c − x∅), the branch itself where the other one's weight is zero (it may not have been evaluated).
torch::Tensor cfg_blend(const torch::Tensor& unconditional, const torch::Tensor& conditional, double scale) {
  if (scale == 1) return conditional;
  if (scale == 0) return unconditional;
  return unconditional + scale * (conditional - unconditional);
}

}  // namespace

torch::Tensor CfgCritic::log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                   const BaseEps& base_eps) {
  if (scales_.audio != scales_.video) {
    throw std::invalid_argument(
        "a residual CFG with different audio and video scales has no single ℓ = ℓ∅ + s·(ℓ^c − ℓ∅), only residuals");
  }
  const double s = scales_.audio;
  torch::Tensor conditional, unconditional;
  if (s != 0) conditional = conditional_->log_ratio(a_t, v_t, t, base_eps);
  if (s != 1) unconditional = unconditional_->log_ratio(a_t, v_t, t, base_eps);
  return cfg_blend(unconditional, conditional, s);
}

Residuals CfgCritic::residuals(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                               bool create_graph, const BaseEps& base_eps) {
  Residuals conditional, unconditional;
  if (scales_.audio != 0 || scales_.video != 0)
    conditional = conditional_->residuals(a_t, v_t, t, create_graph, base_eps);
  if (scales_.audio != 1 || scales_.video != 1)
    unconditional = unconditional_->residuals(a_t, v_t, t, create_graph, base_eps);
  return {cfg_blend(unconditional.audio, conditional.audio, scales_.audio),
          cfg_blend(unconditional.video, conditional.video, scales_.video)};
}

DiscriminatorCritic::DiscriminatorCritic(std::shared_ptr<torch::nn::Module> module, Forward forward,
                                         NoiseSchedule audio_schedule, NoiseSchedule video_schedule)
    : module_(std::move(module)),
      forward_(std::move(forward)),
      audio_schedule_(std::move(audio_schedule)),
      video_schedule_(std::move(video_schedule)) {}

namespace {

// x̂0 with ε̂ = base_eps where the caller holds it, else computed here; constant either way.
torch::Tensor denoised(EpsSource& base, const NoiseSchedule& schedule, const torch::Tensor& x_t, const torch::Tensor& t,
                       const torch::Tensor& base_eps) {
  torch::Tensor eps;
  {
    torch::NoGradGuard no_grad;
    eps = base_eps.defined() ? base_eps.detach()
                             : base.eps(x_t.detach().to(base.device(), base.dtype()), t.to(base.device()));
    eps = eps.to(x_t.options());
  }
  return (x_t - schedule.sigma(t, x_t) * eps) / schedule.sqrt_alpha_bar(t, x_t);
}

}  // namespace

DiscriminatorOutput DiscriminatorCritic::outputs(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                           const Conditioning& c, const BaseEps& base_eps) {
  if (!denoises()) return forward_(a_t, v_t, t, c);
  return forward_(denoised(*audio_denoiser_, audio_schedule_, a_t, t, base_eps.audio),
                  denoised(*video_denoiser_, video_schedule_, v_t, t, base_eps.video), t, c);
}

void DiscriminatorCritic::set_denoisers(std::shared_ptr<EpsSource> audio_base, std::shared_ptr<EpsSource> video_base) {
  if (!audio_base || !video_base) throw std::invalid_argument("a denoising discriminator needs both base models");
  audio_denoiser_ = std::move(audio_base);
  video_denoiser_ = std::move(video_base);
}

torch::Tensor Bf16AutocastCritic::log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                            const BaseEps& base_eps) {
  torch::Tensor l;
  {
    Bf16Autocast autocast(device_, true);
    l = critic_->log_ratio(a_t, v_t, t, base_eps);
  }
  return l.to(a_t.scalar_type());
}

Residuals Bf16AutocastCritic::residuals(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                        bool create_graph, const BaseEps& base_eps) {
  // JointCritic::residuals differentiates this critic's log_ratio, so the forward is autocast and the gradients
  // come back in the inputs' dtype; a critic with its own residuals (CFG) is autocast as a whole.
  Residuals r;
  {
    Bf16Autocast autocast(device_, true);
    r = critic_->residuals(a_t, v_t, t, create_graph, base_eps);
  }
  return {r.audio.to(a_t.scalar_type()), r.video.to(v_t.scalar_type())};
}

std::shared_ptr<JointCritic> discriminator_critic(const std::shared_ptr<DiscriminatorCritic>& disc,
                                                  const Conditioning& condition, const std::optional<ResidualCfg>& cfg,
                                                  bool bf16_autocast, torch::Device device) {
  std::shared_ptr<JointCritic> critic = disc;
  if (condition.audio.defined() || condition.video.defined())
    critic = std::make_shared<ConditionedCritic>(disc, condition);
  if (cfg) {
    auto unconditional = std::make_shared<ConditionedCritic>(disc, cfg->null_condition);
    critic = std::make_shared<CfgCritic>(critic, unconditional, cfg->scales);
  }
  return bf16_autocast ? std::make_shared<Bf16AutocastCritic>(critic, device) : critic;
}

}  // namespace mmdisco
