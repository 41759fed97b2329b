#pragma once
// Noise schedules: the cumulative signal level ᾱ_t for t = 0..T-1 of one modality, and the forward process.
#include <torch/torch.h>

#include <limits>
#include <string>

namespace mmdisco {

// The diffusion steps min ≤ t ≤ max (inclusive) of a schedule; by default all of them. The joint guidance applies
// at these steps only (sampling.h) and the discriminator trainer draws its timesteps from them (train.h).
struct TimestepRange {
  int64_t min = 0;
  int64_t max = std::numeric_limits<int64_t>::max();
  bool contains(int64_t t) const { return t >= min && t <= max; }
};

struct ScheduleConfig {
  std::string kind = "linear";  // "linear" (DDPM β range) or "cosine" (Nichol & Dhariwal)
  int64_t timesteps = 1000;
  double beta_start = 1e-4;
  double beta_end = 0.02;
  double cosine_offset = 0.008;
};

class NoiseSchedule {
 public:
  explicit NoiseSchedule(const ScheduleConfig& config);

  int64_t timesteps() const { return alpha_bar_.size(0); }
  const ScheduleConfig& config() const { return config_; }
  // float64 CPU table of ᾱ_t.
  const torch::Tensor& alpha_bar() const { return alpha_bar_; }
  double alpha_bar_at(int64_t t) const;  // t = -1 means "clean" (ᾱ = 1)

  // Per-sample coefficients for integer timesteps t (any shape), shaped to broadcast against `like`
  // (one value per leading batch element), in like's dtype and device.
  torch::Tensor sqrt_alpha_bar(const torch::Tensor& t, const torch::Tensor& like) const;
  torch::Tensor sigma(const torch::Tensor& t, const torch::Tensor& like) const;  // sqrt(1 - ᾱ_t)

  // x_t = sqrt(ᾱ_t) x_0 + σ_t ε
  torch::Tensor q_sample(const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& noise) const;

 private:
  torch::Tensor gather(const torch::Tensor& table, const torch::Tensor& t, const torch::Tensor& like) const;
  ScheduleConfig config_;
  torch::Tensor alpha_bar_;
  torch::Tensor sqrt_alpha_bar_;
  torch::Tensor sigma_;
};

}  // namespace mmdisco
