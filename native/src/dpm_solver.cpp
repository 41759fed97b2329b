#include "dpm_solver.h"

#include <algorithm>
#include <cmath>

#include "errors.h"

namespace mmdisco {

namespace {

// Piecewise-linear interpolation of ys over increasing xs, extrapolated linearly from the end segments (as the
// official interpolate_fn).
double interpolate(double x, const std::vector<double>& xs, const std::vector<double>& ys) {
  const size_t n = xs.size();
  if (n == 1) return ys[0];
  size_t right = std::upper_bound(xs.begin(), xs.end(), x) - xs.begin();
  right = std::clamp<size_t>(right, 1, n - 1);
  const size_t left = right - 1;
  const double w = (x - xs[left]) / (xs[right] - xs[left]);
  return ys[left] + w * (ys[right] - ys[left]);
}

}  // namespace

DpmSkipType parse_dpm_skip_type(const std::string& name, const std::string& field) {
  if (name == "logSNR") return DpmSkipType::LogSnr;
  if (name == "time-uniform") return DpmSkipType::TimeUniform;
  if (name == "time-quadratic") return DpmSkipType::TimeQuadratic;
  throw ConfigError(field, "must be one of logSNR, time-uniform, time-quadratic (got '" + name + "')");
}

ContinuousVpSchedule::ContinuousVpSchedule(const NoiseSchedule& schedule) : steps_(schedule.timesteps()) {
  const auto table = schedule.alpha_bar().to(torch::kFloat64).contiguous();
  const double* alpha_bar = table.data_ptr<double>();
  for (int64_t i = 0; i < steps_; ++i) {
    times_.push_back(static_cast<double>(i + 1) / static_cast<double>(steps_));
    log_alphas_.push_back(0.5 * std::log(alpha_bar[i]));
  }
}

double ContinuousVpSchedule::log_alpha(double t) const { return interpolate(t, times_, log_alphas_); }
double ContinuousVpSchedule::alpha(double t) const { return std::exp(log_alpha(t)); }
double ContinuousVpSchedule::sigma(double t) const { return std::sqrt(-std::expm1(2.0 * log_alpha(t))); }
double ContinuousVpSchedule::lambda(double t) const {
  const double la = log_alpha(t);
  return la - 0.5 * std::log(-std::expm1(2.0 * la));
}

double ContinuousVpSchedule::inverse_lambda(double lambda) const {
  // log α = −½ logaddexp(0, −2λ); then invert the (decreasing) log α table.
  const double m = -2.0 * lambda;
  const double log_alpha = -0.5 * (std::max(0.0, m) + std::log1p(std::exp(-std::abs(m))));
  std::vector<double> xs(log_alphas_.rbegin(), log_alphas_.rend());
  std::vector<double> ys(times_.rbegin(), times_.rend());
  return interpolate(log_alpha, xs, ys);
}

double ContinuousVpSchedule::model_time(double t) const {
  return (t - 1.0 / static_cast<double>(steps_)) * static_cast<double>(steps_);
}

std::vector<double> dpm_time_steps(const ContinuousVpSchedule& schedule, DpmSkipType skip, int64_t steps) {
  if (steps < 1) throw ConfigError("steps", "must be at least 1");
  const double t_start = schedule.t_start(), t_end = schedule.t_end();
  std::vector<double> times(steps + 1);
  for (int64_t i = 0; i <= steps; ++i) {
    const double w = static_cast<double>(i) / static_cast<double>(steps);
    switch (skip) {
      case DpmSkipType::LogSnr: {
        const double l0 = schedule.lambda(t_start), l1 = schedule.lambda(t_end);
        times[i] = schedule.inverse_lambda(l0 + w * (l1 - l0));
        break;
      }
      case DpmSkipType::TimeUniform:
        times[i] = t_start + w * (t_end - t_start);
        break;
      case DpmSkipType::TimeQuadratic: {
        const double r = std::sqrt(t_start) + w * (std::sqrt(t_end) - std::sqrt(t_start));
        times[i] = r * r;
        break;
      }
    }
  }
  return times;
}

torch::Tensor dpm_data_prediction(const torch::Tensor& x, const torch::Tensor& eps, double alpha, double sigma,
                                  const DpmThresholding& thresholding) {
  auto x0 = (x - sigma * eps) / alpha;
  if (!thresholding.enabled) return x0;
  const auto batch = x0.size(0);
  auto s = torch::quantile(x0.abs().reshape({batch, -1}).to(torch::kFloat64), thresholding.ratio, 1)
               .to(x0.dtype())
               .clamp_min(thresholding.max_value);
  std::vector<int64_t> shape(x0.dim(), 1);
  shape[0] = batch;
  s = s.reshape(shape);
  return torch::max(torch::min(x0, s), -s) / s;
}

torch::Tensor dpm_multistep_update(const ContinuousVpSchedule& schedule, const torch::Tensor& x,
                                   const std::vector<double>& previous_times,
                                   const std::vector<torch::Tensor>& previous_x0, double t, int64_t order) {
  if (order < 1 || order > 3) throw ConfigError("order", "must be 1, 2 or 3");
  if (static_cast<int64_t>(previous_times.size()) < order || static_cast<int64_t>(previous_x0.size()) < order)
    throw Error(ErrorCode::Argument, "DPM-Solver++ order " + std::to_string(order) + " needs that many stored points");
  const size_t last = previous_times.size() - 1;
  const double lambda_t = schedule.lambda(t);
  const double lambda_0 = schedule.lambda(previous_times[last]);
  const double h = lambda_t - lambda_0;
  const double alpha_t = schedule.alpha(t);
  const double phi_1 = std::expm1(-h);
  const auto& m0 = previous_x0[last];
  auto x_t = (schedule.sigma(t) / schedule.sigma(previous_times[last])) * x - (alpha_t * phi_1) * m0;
  if (order == 1) return x_t;
  const auto& m1 = previous_x0[last - 1];
  const double h_0 = lambda_0 - schedule.lambda(previous_times[last - 1]);
  const double r0 = h_0 / h;
  const auto d1_0 = (m0 - m1) / r0;
  if (order == 2) return x_t - (0.5 * alpha_t * phi_1) * d1_0;
  const auto& m2 = previous_x0[last - 2];
  const double h_1 = schedule.lambda(previous_times[last - 1]) - schedule.lambda(previous_times[last - 2]);
  const double r1 = h_1 / h;
  const auto d1_1 = (m1 - m2) / r1;
  const auto d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1);
  const auto d2 = (d1_0 - d1_1) / (r0 + r1);
  const double phi_2 = phi_1 / h + 1.0;
  const double phi_3 = phi_2 / h - 0.5;
  return x_t + (alpha_t * phi_2) * d1 - (alpha_t * phi_3) * d2;
}

}  // namespace mmdisco
