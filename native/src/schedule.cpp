#include "schedule.h"

#include <cmath>
#include <stdexcept>

namespace mmdisco {

namespace {

torch::Tensor linear_alpha_bar(const ScheduleConfig& c) {
  auto betas = torch::linspace(c.beta_start, c.beta_end, c.timesteps, torch::kFloat64);
  return torch::cumprod(1.0 - betas, 0);
}

// β_i = 1 − f((i+1)/T) / f(i/T) with f the squared cosine, capped at 0.999 so the last step stays finite.
torch::Tensor cosine_alpha_bar(const ScheduleConfig& c) {
  auto f = [&](double u) {
    double v = std::cos((u + c.cosine_offset) / (1.0 + c.cosine_offset) * M_PI / 2.0);
    return v * v;
  };
  auto betas = torch::empty({c.timesteps}, torch::kFloat64);
  auto acc = betas.accessor<double, 1>();
  for (int64_t i = 0; i < c.timesteps; ++i) {
    double T = static_cast<double>(c.timesteps);
    acc[i] = std::min(1.0 - f((i + 1) / T) / f(i / T), 0.999);
  }
  return torch::cumprod(1.0 - betas, 0);
}

}  // namespace

NoiseSchedule::NoiseSchedule(const ScheduleConfig& config) : config_(config) {
  if (config.timesteps < 2) throw std::invalid_argument("schedule.timesteps must be at least 2");
  if (config.kind == "linear") {
    if (!(config.beta_start > 0 && config.beta_end < 1 && config.beta_start < config.beta_end))
      throw std::invalid_argument("schedule: need 0 < beta_start < beta_end < 1");
    alpha_bar_ = linear_alpha_bar(config);
  } else if (config.kind == "cosine") {
    alpha_bar_ = cosine_alpha_bar(config);
  } else {
    throw std::invalid_argument("schedule.kind must be 'linear' or 'cosine', got '" + config.kind + "'");
  }
  sqrt_alpha_bar_ = alpha_bar_.sqrt();
  sigma_ = (1.0 - alpha_bar_).sqrt();
}

double NoiseSchedule::alpha_bar_at(int64_t t) const {
  if (t < 0) return 1.0;
  return alpha_bar_[t].item<double>();
}

torch::Tensor NoiseSchedule::gather(const torch::Tensor& table, const torch::Tensor& t,
                                    const torch::Tensor& like) const {
  auto values = table.index_select(0, t.reshape({-1}).to(torch::kCPU, torch::kInt64));
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = values.size(0);
  return values.reshape(shape).to(like.device(), like.scalar_type());
}

torch::Tensor NoiseSchedule::sqrt_alpha_bar(const torch::Tensor& t, const torch::Tensor& like) const {
  return gather(sqrt_alpha_bar_, t, like);
}

torch::Tensor NoiseSchedule::sigma(const torch::Tensor& t, const torch::Tensor& like) const {
  return gather(sigma_, t, like);
}

torch::Tensor NoiseSchedule::q_sample(const torch::Tensor& x0, const torch::Tensor& t,
                                      const torch::Tensor& noise) const {
  return sqrt_alpha_bar(t, x0) * x0 + sigma(t, x0) * noise;
}

}  // namespace mmdisco
