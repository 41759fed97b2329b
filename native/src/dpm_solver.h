#pragma once
// DPM-Solver++ (Lu et al. 2022) for a discrete-time VP schedule, as small pure functions in the style of the
// official DPM-Solver code: the discrete ᾱ table is read as a continuous-time schedule on (1/N, 1] by piecewise-linear
// interpolation of log α_t, and the solver steps in λ_t = log(α_t / σ_t) on data predictions x̂0.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "schedule.h"

namespace mmdisco {

enum class DpmSkipType { LogSnr, TimeUniform, TimeQuadratic };

// Parses "logSNR" | "time-uniform" | "time-quadratic"; throws ConfigError naming `field` otherwise.
DpmSkipType parse_dpm_skip_type(const std::string& name, const std::string& field);

// Continuous-time view of a discrete schedule (official NoiseScheduleVP('discrete')).
class ContinuousVpSchedule {
 public:
  explicit ContinuousVpSchedule(const NoiseSchedule& schedule);

  double t_start() const { return 1.0; }                              // t_T
  double t_end() const { return 1.0 / static_cast<double>(steps_); }  // t_0 (the first discrete step)
  double log_alpha(double t) const;                                    // log α_t
  double alpha(double t) const;
  double sigma(double t) const;                                        // sqrt(1 − α_t²)
  double lambda(double t) const;                                       // log α_t − log σ_t
  double inverse_lambda(double lambda) const;
  // The discrete model's time input for continuous t: (t − 1/N)·N, a real number in [0, N − 1].
  double model_time(double t) const;

 private:
  int64_t steps_;
  std::vector<double> times_;       // i/N for i = 1..N, increasing
  std::vector<double> log_alphas_;  // 0.5 log ᾱ at those times, decreasing
};

// The N + 1 solver times from t_T down to t_0.
std::vector<double> dpm_time_steps(const ContinuousVpSchedule& schedule, DpmSkipType skip, int64_t steps);

// Official dynamic thresholding: s = max(quantile(|x0|, ratio) per sample, max_value); x0 ← clamp(x0, −s, s) / s.
struct DpmThresholding {
  bool enabled = false;
  double ratio = 0.995;
  double max_value = 1.0;
};

// x̂0 = (x − σ_t ε) / α_t, thresholded when asked.
torch::Tensor dpm_data_prediction(const torch::Tensor& x, const torch::Tensor& eps, double alpha, double sigma,
                                  const DpmThresholding& thresholding);

// One multistep DPM-Solver++ update from the last `order` (1–3) stored points to time t. `previous_times` and
// `previous_x0` hold the newest point last; x is the sample at previous_times.back().
torch::Tensor dpm_multistep_update(const ContinuousVpSchedule& schedule, const torch::Tensor& x,
                                   const std::vector<double>& previous_times,
                                   const std::vector<torch::Tensor>& previous_x0, double t, int64_t order);

}  // namespace mmdisco
