#pragma once
// DPM-Solver++ (Lu et al. 2022) for a discrete-time VP schedule, as small pure functions in the style of the
// official DPM-Solver code: the discrete ᾱ table is read as a continuous-time schedule on (1/N, 1] by piecewise-linear
// interpolation of log α_t, and the solver steps in λ_t = log(α_t / σ_t) on data predictions x̂0.
#include <torch/torch.h>

#include <functional>
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
  // From a table of ᾱ at the discrete steps 0 … N−1 (any floating dtype; read as float64).
  explicit ContinuousVpSchedule(const torch::Tensor& alpha_bar);

  double t_start() const { return 1.0; }                              // t_T
  double t_end() const { return 1.0 / static_cast<double>(steps_); }  // t_0 (the first discrete step)
  double log_alpha(double t) const;                                    // log α_t
  double alpha(double t) const;
  double sigma(double t) const;                                        // sqrt(1 − α_t²)
  double lambda(double t) const;                                       // log α_t − log σ_t
  double inverse_lambda(double lambda) const;
  // The discrete model's time input for continuous t: (t − 1/N)·N, a real number in [0, N − 1].
  double model_time(double t) const;
  // The integer step a discrete model is called at: model_time truncated toward zero, as the official wrapper does.
  int64_t model_step(double t) const;

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

// ---- singlestep DPM-Solver++ on several tensors at once (the modalities of a joint sample) --------------------

// The tensors a solver steps together (e.g. {video, audio}); every coefficient is shared between them.
using DpmTensors = std::vector<torch::Tensor>;
// The data prediction x̂0 of each tensor of x at continuous time t (e.g. dpm_data_prediction of a guided ε).
using DpmDataModel = std::function<DpmTensors(const DpmTensors& x, double t)>;

// The order of each step of the singlestep solver that spends exactly `steps` model calls with orders up to
// `order` (official get_orders_for_singlestep_solver, "DPM-Solver-fast"): 6 steps at order 3 → {3, 2, 1}.
std::vector<int64_t> dpm_singlestep_orders(int64_t steps, int64_t order);

// One singlestep DPM-Solver++ update of order 1–3 from time s to time t (order model calls): the intermediate
// points sit at the λ fractions r1 (orders 2 and 3) and r2 (order 3) of [λ_s, λ_t].
DpmTensors dpm_singlestep_update(const ContinuousVpSchedule& schedule, const DpmDataModel& model, const DpmTensors& x,
                                 double s, double t, int64_t order, double r1, double r2);

// One multistep DPM-Solver++ update of order 1–3 from the newest stored point to time t: `times` and `x0` hold the
// last `order` points and their data predictions, newest last; x is the sample at times.back().
DpmTensors dpm_multistep_update(const ContinuousVpSchedule& schedule, const DpmTensors& x,
                                const std::vector<double>& times, const std::vector<DpmTensors>& x0, double t,
                                int64_t order);

enum class DpmMethod { Singlestep, Multistep };

// The official sampler (no final denoising step), `steps` model calls on the grid dpm_time_steps(skip, steps).
// Singlestep: the orders of dpm_singlestep_orders, the grid points inside each update giving its r1 and r2.
// Multistep: the first order − 1 updates warm up at lower orders, then every update reuses the stored points.
DpmTensors dpm_solver_sample(const ContinuousVpSchedule& schedule, const DpmDataModel& model, DpmTensors x,
                             DpmSkipType skip, int64_t steps, int64_t order, DpmMethod method);

}  // namespace mmdisco
