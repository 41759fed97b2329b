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

ContinuousVpSchedule::ContinuousVpSchedule(const NoiseSchedule& schedule)
    : ContinuousVpSchedule(schedule.alpha_bar()) {}

ContinuousVpSchedule::ContinuousVpSchedule(const torch::Tensor& alpha_bar_table) : steps_(alpha_bar_table.numel()) {
  const auto table = alpha_bar_table.to(torch::kCPU, torch::kFloat64).contiguous();
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

int64_t ContinuousVpSchedule::model_step(double t) const { return static_cast<int64_t>(model_time(t)); }

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

std::vector<int64_t> dpm_singlestep_orders(int64_t steps, int64_t order) {
  if (steps < 1) throw ConfigError("steps", "must be at least 1");
  if (order < 1 || order > 3) throw ConfigError("order", "must be 1, 2 or 3");
  if (order == 1) return std::vector<int64_t>(steps, 1);
  if (order == 2) {
    std::vector<int64_t> orders(steps / 2, 2);
    if (steps % 2 == 1) orders.push_back(1);
    return orders;
  }
  const int64_t k = steps / 3 + 1;
  if (steps % 3 == 0) {
    std::vector<int64_t> orders(k - 2, 3);
    orders.insert(orders.end(), {2, 1});
    return orders;
  }
  std::vector<int64_t> orders(k - 1, 3);
  orders.push_back(steps % 3 == 1 ? 1 : 2);
  return orders;
}

namespace {

// a·x + b·m (+ c·d), tensor by tensor.
DpmTensors combine(double a, const DpmTensors& x, double b, const DpmTensors& m, double c = 0,
                   const DpmTensors& d = {}) {
  DpmTensors out;
  for (size_t i = 0; i < x.size(); ++i) out.push_back(d.empty() ? a * x[i] + b * m[i] : a * x[i] + b * m[i] + c * d[i]);
  return out;
}

DpmTensors difference(const DpmTensors& a, const DpmTensors& b) {
  DpmTensors out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(a[i] - b[i]);
  return out;
}

}  // namespace

DpmTensors dpm_singlestep_update(const ContinuousVpSchedule& schedule, const DpmDataModel& model, const DpmTensors& x,
                                 double s, double t, int64_t order, double r1, double r2) {
  if (order < 1 || order > 3) throw ConfigError("order", "must be 1, 2 or 3");
  const double lambda_s = schedule.lambda(s), h = schedule.lambda(t) - lambda_s;
  const double sigma_s = schedule.sigma(s), sigma_t = schedule.sigma(t), alpha_t = schedule.alpha(t);
  const double phi_1 = std::expm1(-h);
  const DpmTensors m_s = model(x, s);
  if (order == 1) return combine(sigma_t / sigma_s, x, -alpha_t * phi_1, m_s);
  // The first intermediate point, by a first-order step from s.
  const double s1 = schedule.inverse_lambda(lambda_s + r1 * h);
  const DpmTensors x_s1 = combine(schedule.sigma(s1) / sigma_s, x, -schedule.alpha(s1) * std::expm1(-r1 * h), m_s);
  const DpmTensors m_s1 = model(x_s1, s1);
  if (order == 2)
    return combine(sigma_t / sigma_s, x, -alpha_t * phi_1, m_s, -(0.5 / r1) * alpha_t * phi_1, difference(m_s1, m_s));
  const double s2 = schedule.inverse_lambda(lambda_s + r2 * h);
  const double alpha_s2 = schedule.alpha(s2);
  const double phi_12 = std::expm1(-r2 * h), phi_22 = phi_12 / (r2 * h) + 1.0, phi_2 = phi_1 / h + 1.0;
  const DpmTensors x_s2 = combine(schedule.sigma(s2) / sigma_s, x, -alpha_s2 * phi_12, m_s, (r2 / r1) * alpha_s2 * phi_22,
                                  difference(m_s1, m_s));
  const DpmTensors m_s2 = model(x_s2, s2);
  return combine(sigma_t / sigma_s, x, -alpha_t * phi_1, m_s, (1.0 / r2) * alpha_t * phi_2, difference(m_s2, m_s));
}

DpmTensors dpm_multistep_update(const ContinuousVpSchedule& schedule, const DpmTensors& x,
                                const std::vector<double>& times, const std::vector<DpmTensors>& x0, double t,
                                int64_t order) {
  if (order < 1 || order > 3) throw ConfigError("order", "must be 1, 2 or 3");
  if (static_cast<int64_t>(times.size()) < order || static_cast<int64_t>(x0.size()) < order)
    throw Error(ErrorCode::Argument, "DPM-Solver++ order " + std::to_string(order) + " needs that many stored points");
  const size_t last = times.size() - 1;
  const double lambda_0 = schedule.lambda(times[last]), h = schedule.lambda(t) - lambda_0;
  const double alpha_t = schedule.alpha(t), phi_1 = std::expm1(-h);
  const DpmTensors& m0 = x0[last];
  const DpmTensors first = combine(schedule.sigma(t) / schedule.sigma(times[last]), x, -alpha_t * phi_1, m0);
  if (order == 1) return first;
  const DpmTensors& m1 = x0[last - 1];
  const double r0 = (lambda_0 - schedule.lambda(times[last - 1])) / h;
  const DpmTensors d1_0 = combine(1.0 / r0, m0, -1.0 / r0, m1);
  if (order == 2) return combine(1.0, first, -0.5 * alpha_t * phi_1, d1_0);
  const DpmTensors& m2 = x0[last - 2];
  const double r1 = (schedule.lambda(times[last - 1]) - schedule.lambda(times[last - 2])) / h;
  const DpmTensors d1_1 = combine(1.0 / r1, m1, -1.0 / r1, m2);
  const DpmTensors d1 = combine(1.0 + r0 / (r0 + r1), d1_0, -r0 / (r0 + r1), d1_1);
  const DpmTensors d2 = combine(1.0 / (r0 + r1), d1_0, -1.0 / (r0 + r1), d1_1);
  const double phi_2 = phi_1 / h + 1.0, phi_3 = phi_2 / h - 0.5;
  return combine(1.0, first, alpha_t * phi_2, d1, -alpha_t * phi_3, d2);
}

DpmTensors dpm_solver_sample(const ContinuousVpSchedule& schedule, const DpmDataModel& model, DpmTensors x,
                             DpmSkipType skip, int64_t steps, int64_t order, DpmMethod method) {
  const auto times = dpm_time_steps(schedule, skip, steps);
  if (method == DpmMethod::Singlestep) {
    size_t i = 0;
    for (const int64_t o : dpm_singlestep_orders(steps, order)) {
      const double lambda_0 = schedule.lambda(times[i]), h = schedule.lambda(times[i + o]) - lambda_0;
      const double r1 = o > 1 ? (schedule.lambda(times[i + 1]) - lambda_0) / h : 0;
      const double r2 = o > 2 ? (schedule.lambda(times[i + 2]) - lambda_0) / h : 0;
      x = dpm_singlestep_update(schedule, model, x, times[i], times[i + o], o, r1, r2);
      i += o;
    }
    return x;
  }
  if (order < 1 || order > 3) throw ConfigError("order", "must be 1, 2 or 3");
  if (steps < order) throw ConfigError("steps", "must be at least the multistep order " + std::to_string(order));
  std::vector<double> stored_times{times[0]};
  std::vector<DpmTensors> stored_x0{model(x, times[0])};
  for (int64_t i = 1; i <= steps; ++i) {
    x = dpm_multistep_update(schedule, x, stored_times, stored_x0, times[i], std::min(order, i));
    if (i == steps) break;  // the last point needs no model call
    stored_times.push_back(times[i]);
    stored_x0.push_back(model(x, times[i]));
    if (static_cast<int64_t>(stored_times.size()) > order) {
      stored_times.erase(stored_times.begin());
      stored_x0.erase(stored_x0.begin());
    }
  }
  return x;
}

}  // namespace mmdisco
