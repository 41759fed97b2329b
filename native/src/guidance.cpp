#include "guidance.h"

namespace mmdisco {

torch::Tensor smoothed_logit(const torch::Tensor& h) {
  auto p = torch::sigmoid(h);
  return torch::log(p + 1e-5) - torch::log(1 - p + 1e-5);
}

Residuals guidance_residuals(JointCritic& critic, const torch::Tensor& a_t, const torch::Tensor& v_t,
                             const torch::Tensor& t, bool create_graph) {
  torch::AutoGradMode grad_on(true);
  // Leaves of their own, so the gradient is taken with respect to the inputs as passed in.
  auto a = a_t.detach().requires_grad_(true);
  auto v = v_t.detach().requires_grad_(true);
  auto ell = critic.log_ratio(a, v, t).sum();
  auto grads = torch::autograd::grad({ell}, {a, v}, /*grad_outputs=*/{}, /*retain_graph=*/create_graph,
                                     /*create_graph=*/create_graph);
  Residuals r{-critic.audio_schedule().sigma(t, a) * grads[0], -critic.video_schedule().sigma(t, v) * grads[1]};
  if (!create_graph) {
    r.audio = r.audio.detach();
    r.video = r.video.detach();
  }
  return r;
}

Discriminator::Discriminator(std::shared_ptr<torch::nn::Module> module, Forward forward,
                             NoiseSchedule audio_schedule, NoiseSchedule video_schedule)
    : module_(std::move(module)),
      forward_(std::move(forward)),
      audio_schedule_(std::move(audio_schedule)),
      video_schedule_(std::move(video_schedule)) {}

}  // namespace mmdisco
