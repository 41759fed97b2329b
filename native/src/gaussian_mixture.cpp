#include "gaussian_mixture.h"

#include <cmath>
#include <stdexcept>

namespace mmdisco {

Modality parse_modality(const std::string& name) {
  if (name == "audio") return Modality::Audio;
  if (name == "video") return Modality::Video;
  throw std::invalid_argument("modality must be 'audio' or 'video', got '" + name + "'");
}

namespace {

torch::Tensor table(const std::vector<double>& values, std::vector<int64_t> shape, const char* field) {
  int64_t expected = 1;
  for (auto s : shape) expected *= s;
  if (static_cast<int64_t>(values.size()) != expected)
    throw std::invalid_argument(std::string("gaussian mixture: ") + field + " has " + std::to_string(values.size()) +
                                " values, expected " + std::to_string(expected));
  return torch::tensor(values, torch::kFloat64).reshape(shape);
}

}  // namespace

GaussianMixturePair::GaussianMixturePair(const GaussianMixtureConfig& c) {
  const int64_t K = static_cast<int64_t>(c.weights.size());
  if (K < 1) throw std::invalid_argument("gaussian mixture: weights must not be empty");
  auto w = table(c.weights, {K}, "weights");
  if ((w <= 0).any().item<bool>()) throw std::invalid_argument("gaussian mixture: weights must be positive");
  log_weights_ = torch::log(w / w.sum());
  audio_means_ = table(c.audio_means, {K, c.audio_dim}, "audio.means");
  video_means_ = table(c.video_means, {K, c.video_dim}, "video.means");
  audio_std_ = table(c.audio_std, {K}, "audio.std");
  video_std_ = table(c.video_std, {K}, "video.std");
  if ((audio_std_ <= 0).any().item<bool>() || (video_std_ <= 0).any().item<bool>())
    throw std::invalid_argument("gaussian mixture: std must be positive");
}

int64_t GaussianMixturePair::dim(Modality m) const {
  return (m == Modality::Audio ? audio_means_ : video_means_).size(1);
}

torch::Tensor GaussianMixturePair::component_log_densities(Modality m, const torch::Tensor& x_t,
                                                           const torch::Tensor& t,
                                                           const NoiseSchedule& schedule) const {
  const auto& means = (m == Modality::Audio ? audio_means_ : video_means_);
  const auto& std = (m == Modality::Audio ? audio_std_ : video_std_);
  auto opts = x_t.options();
  auto abar = schedule.sqrt_alpha_bar(t, x_t).pow(2).reshape({-1, 1});        // (B,1)
  auto mu = abar.sqrt().unsqueeze(2) * means.to(opts).unsqueeze(0);            // (B,K,d)
  auto var = abar * std.to(opts).pow(2).unsqueeze(0) + (1 - abar);              // (B,K)
  auto sq = (x_t.unsqueeze(1) - mu).pow(2).sum(2);                              // (B,K)
  const double d = static_cast<double>(means.size(1));
  return -0.5 * d * torch::log(2 * M_PI * var) - sq / (2 * var);
}

// ε = −σ ∇ log p_t(x) = σ Σ_k w_k(x) (x − m_k) / var_k, with w_k the component posterior.
torch::Tensor GaussianMixturePair::marginal_eps(Modality m, const torch::Tensor& x_t, const torch::Tensor& t,
                                                const NoiseSchedule& schedule) const {
  const auto& means = (m == Modality::Audio ? audio_means_ : video_means_);
  const auto& std = (m == Modality::Audio ? audio_std_ : video_std_);
  auto opts = x_t.options();
  auto post = torch::softmax(log_weights_.to(opts).unsqueeze(0) + component_log_densities(m, x_t, t, schedule), 1);
  auto abar = schedule.sqrt_alpha_bar(t, x_t).pow(2).reshape({-1, 1});
  auto mu = abar.sqrt().unsqueeze(2) * means.to(opts).unsqueeze(0);
  auto var = abar * std.to(opts).pow(2).unsqueeze(0) + (1 - abar);
  auto score = -((x_t.unsqueeze(1) - mu) / var.unsqueeze(2) * post.unsqueeze(2)).sum(1);
  return -schedule.sigma(t, x_t) * score;
}

torch::Tensor GaussianMixturePair::log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t,
                                             const torch::Tensor& t, const NoiseSchedule& audio_schedule,
                                             const NoiseSchedule& video_schedule) const {
  auto lw = log_weights_.to(a_t.options()).unsqueeze(0);
  auto la = component_log_densities(Modality::Audio, a_t, t, audio_schedule);
  auto lv = component_log_densities(Modality::Video, v_t, t, video_schedule);
  auto joint = torch::logsumexp(lw + la + lv, 1);
  return joint - torch::logsumexp(lw + la, 1) - torch::logsumexp(lw + lv, 1);
}

AnalyticMarginalEps::AnalyticMarginalEps(std::shared_ptr<const GaussianMixturePair> mixture, Modality modality,
                                         NoiseSchedule schedule, torch::Device device, torch::ScalarType dtype)
    : mixture_(std::move(mixture)), modality_(modality), schedule_(std::move(schedule)), device_(device),
      dtype_(dtype) {}

torch::Tensor AnalyticMarginalEps::eps(const torch::Tensor& x_t, const torch::Tensor& t) {
  torch::NoGradGuard no_grad;
  return mixture_->marginal_eps(modality_, x_t, t, schedule_);
}

OracleCritic::OracleCritic(std::shared_ptr<const GaussianMixturePair> mixture, NoiseSchedule audio_schedule,
                           NoiseSchedule video_schedule)
    : mixture_(std::move(mixture)),
      audio_schedule_(std::move(audio_schedule)),
      video_schedule_(std::move(video_schedule)) {}

torch::Tensor OracleCritic::log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                                      const BaseEps&) {
  return mixture_->log_ratio(a_t, v_t, t, audio_schedule_, video_schedule_);
}

}  // namespace mmdisco
