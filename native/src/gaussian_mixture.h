#pragma once
// A joint Gaussian mixture over (audio, video) whose component index couples the two, with every quantity of
// its noised version in closed form: the exact marginal ε of each modality (an analytic base model) and the
// exact log density ratio log q_t(a,v) − log p_t(a) − log p_t(v) (the optimal discriminator's logit).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "eps_source.h"
#include "guidance.h"

namespace mmdisco {

enum class Modality { Audio, Video };
Modality parse_modality(const std::string& name);

struct GaussianMixtureConfig {
  std::vector<double> weights;       // K
  std::vector<double> audio_means;   // K × audio_dim, row-major
  std::vector<double> audio_std;     // K (isotropic)
  std::vector<double> video_means;   // K × video_dim
  std::vector<double> video_std;     // K
  int64_t audio_dim = 2, video_dim = 2;
};

class GaussianMixturePair {
 public:
  explicit GaussianMixturePair(const GaussianMixtureConfig& config);
  int64_t components() const { return log_weights_.size(0); }
  int64_t dim(Modality m) const;

  // log N(x_t; sqrt(ᾱ_t) μ_k, (ᾱ_t s_k² + σ_t²) I) for every component: (B, K).
  torch::Tensor component_log_densities(Modality m, const torch::Tensor& x_t, const torch::Tensor& t,
                                        const NoiseSchedule& schedule) const;
  torch::Tensor marginal_eps(Modality m, const torch::Tensor& x_t, const torch::Tensor& t,
                             const NoiseSchedule& schedule) const;
  torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                          const NoiseSchedule& audio_schedule, const NoiseSchedule& video_schedule) const;

 private:
  torch::Tensor log_weights_;            // (K,) float64
  torch::Tensor audio_means_, video_means_;  // (K, d) float64
  torch::Tensor audio_std_, video_std_;      // (K,) float64
};

class AnalyticMarginalEps : public EpsSource {
 public:
  AnalyticMarginalEps(std::shared_ptr<const GaussianMixturePair> mixture, Modality modality, NoiseSchedule schedule,
                      torch::Device device, torch::ScalarType dtype);
  torch::Tensor eps(const torch::Tensor& x_t, const torch::Tensor& t) override;
  const NoiseSchedule& schedule() const override { return schedule_; }
  torch::Device device() const override { return device_; }
  torch::ScalarType dtype() const override { return dtype_; }

 private:
  std::shared_ptr<const GaussianMixturePair> mixture_;
  Modality modality_;
  NoiseSchedule schedule_;
  torch::Device device_;
  torch::ScalarType dtype_;
};

class OracleCritic : public JointCritic {
 public:
  OracleCritic(std::shared_ptr<const GaussianMixturePair> mixture, NoiseSchedule audio_schedule,
               NoiseSchedule video_schedule);
  torch::Tensor log_ratio(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t,
                          const BaseEps& base_eps) override;
  const NoiseSchedule& audio_schedule() const override { return audio_schedule_; }
  const NoiseSchedule& video_schedule() const override { return video_schedule_; }

 private:
  std::shared_ptr<const GaussianMixturePair> mixture_;
  NoiseSchedule audio_schedule_, video_schedule_;
};

}  // namespace mmdisco
