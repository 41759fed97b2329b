#include "sampling.h"

#include <stdexcept>

#include "autocast.h"
#include "dpm_solver.h"
#include "errors.h"

namespace mmdisco {

void parse_sampler(const std::string& name, SamplerConfig& config, const std::string& field) {
  const std::string dpm = "dpm-solver++-";
  if (name == "ddpm" || name == "ddim") {
    config.kind = name == "ddpm" ? SamplerKind::Ddpm : SamplerKind::Ddim;
    return;
  }
  if (name.size() == dpm.size() + 2 && name.compare(0, dpm.size(), dpm) == 0 && name[dpm.size()] >= '1' &&
      name[dpm.size()] <= '3' && (name.back() == 's' || name.back() == 'm')) {
    config.kind = SamplerKind::DpmSolverPp;
    config.dpm_order = name[dpm.size()] - '0';
    config.dpm_method = name.back() == 's' ? DpmMethod::Singlestep : DpmMethod::Multistep;
    return;
  }
  throw ConfigError(field, "must be ddpm, ddim or dpm-solver++-<order 1-3><s: singlestep | m: multistep> (e.g. "
                           "dpm-solver++-3s), got '" + name + "'");
}

std::vector<int64_t> sampling_timesteps(int64_t timesteps, int64_t steps) {
  if (steps < 1 || steps > timesteps)
    throw std::invalid_argument("sampling steps must be in [1, " + std::to_string(timesteps) + "], got " +
                                std::to_string(steps));
  std::vector<int64_t> ts;
  for (int64_t i = steps - 1; i >= 0; --i) ts.push_back(i * timesteps / steps);
  return ts;
}

namespace {

torch::Tensor predicted_x0(const torch::Tensor& x_t, const torch::Tensor& eps, double abar) {
  return (x_t - std::sqrt(1 - abar) * eps) / std::sqrt(abar);
}

}  // namespace

torch::Tensor ddpm_step(const torch::Tensor& x_t, const torch::Tensor& eps, int64_t t, int64_t t_prev,
                        const NoiseSchedule& schedule, const torch::Tensor& noise) {
  const double abar = schedule.alpha_bar_at(t), abar_prev = schedule.alpha_bar_at(t_prev);
  const double beta = 1 - abar / abar_prev;
  auto x0 = predicted_x0(x_t, eps, abar);
  auto mean = (std::sqrt(abar_prev) * beta / (1 - abar)) * x0 +
              (std::sqrt(1 - beta) * (1 - abar_prev) / (1 - abar)) * x_t;
  if (t_prev < 0) return mean;
  const double var = beta * (1 - abar_prev) / (1 - abar);
  return mean + std::sqrt(var) * noise;
}

torch::Tensor ddim_step(const torch::Tensor& x_t, const torch::Tensor& eps, int64_t t, int64_t t_prev,
                        const NoiseSchedule& schedule) {
  const double abar = schedule.alpha_bar_at(t), abar_prev = schedule.alpha_bar_at(t_prev);
  return std::sqrt(abar_prev) * predicted_x0(x_t, eps, abar) + std::sqrt(1 - abar_prev) * eps;
}

torch::Tensor renoise_step(const torch::Tensor& x_prev, int64_t t_prev, int64_t t, const NoiseSchedule& schedule,
                           const torch::Tensor& noise) {
  const double a = schedule.alpha_bar_at(t) / schedule.alpha_bar_at(t_prev);
  return std::sqrt(a) * x_prev + std::sqrt(1 - a) * noise;
}

namespace {

// DPM-Solver++ from x_T: each model call evaluates the model at the call's integer step, applies the correction and
// turns ε into x̂0 on the continuous view of the (shared) schedule.
std::vector<torch::Tensor> sample_dpm_solver(JointEpsSource& model, std::vector<torch::Tensor> x,
                                             const SamplerConfig& config, const EpsCorrection& correction,
                                             const ProgressCallback& progress) {
  const auto& table = model.schedule(0).alpha_bar();
  for (size_t m = 1; m < model.modalities(); ++m)
    if (!torch::equal(model.schedule(m).alpha_bar(), table))
      throw std::invalid_argument("sampler 'dpm-solver++' needs one noise schedule shared by all modalities");
  const ContinuousVpSchedule schedule(table);
  int64_t calls = 0;
  const DpmDataModel data_model = [&](const DpmTensors& x_t, double t) {
    const auto t_batch = torch::full({x_t[0].size(0)}, schedule.model_step(t),
                                     torch::TensorOptions().dtype(torch::kInt64).device(x_t[0].device()));
    auto eps = model.eps(x_t, t_batch);
    if (correction) correction(eps, x_t, t_batch);
    DpmTensors x0;
    for (size_t m = 0; m < eps.size(); ++m)
      x0.push_back(dpm_data_prediction(x_t[m], eps[m], schedule.alpha(t), schedule.sigma(t), config.dpm_thresholding));
    if (progress) progress(++calls, config.steps);
    return x0;
  };
  return dpm_solver_sample(schedule, data_model, std::move(x), DpmSkipType::LogSnr, config.steps, config.dpm_order,
                           config.dpm_method);
}

}  // namespace

std::vector<torch::Tensor> sample(JointEpsSource& model, const std::vector<std::vector<int64_t>>& shapes,
                                  const SamplerConfig& config, Rng& rng, const EpsCorrection& correction,
                                  const ProgressCallback& progress) {
  const size_t modalities = model.modalities();
  if (modalities == 0 || modalities != shapes.size())
    throw std::invalid_argument("sample: one shape per modality is required");
  const int64_t T = model.schedule(0).timesteps();
  const int64_t batch = shapes[0].at(0);
  for (size_t m = 0; m < modalities; ++m) {
    if (model.schedule(m).timesteps() != T)
      throw std::invalid_argument("sample: all modalities must share the number of diffusion timesteps");
  }
  torch::NoGradGuard no_grad;
  const AutocastCastScope keep_weight_casts;  // bf16 sources and critics cast their weights once per run
  std::vector<torch::Tensor> x;
  for (size_t m = 0; m < modalities; ++m) x.push_back(rng.randn(shapes[m], model.options(m)));
  if (config.guidance_repeats < 1) throw ConfigError("guidanceRepeats", "must be at least 1");
  if (config.guidance_repeats > 1 && config.kind == SamplerKind::DpmSolverPp)
    throw ConfigError("guidanceRepeats", "applies to the ddpm and ddim samplers only");
  if (config.kind == SamplerKind::DpmSolverPp) return sample_dpm_solver(model, x, config, correction, progress);
  const auto ts = sampling_timesteps(T, config.steps);
  const int64_t repeats = correction ? config.guidance_repeats : 1;
  for (size_t i = 0; i < ts.size(); ++i) {
    const int64_t t = ts[i], t_prev = i + 1 < ts.size() ? ts[i + 1] : -1;
    auto t_batch = torch::full({batch}, t, torch::TensorOptions().dtype(torch::kInt64).device(x[0].device()));
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
      if (repeat > 0)
        for (size_t m = 0; m < modalities; ++m)
          x[m] = renoise_step(x[m], t_prev, t, model.schedule(m), rng.randn(x[m].sizes(), x[m].options()));
      auto eps = model.eps(x, t_batch);
      if (correction) correction(eps, x, t_batch);
      for (size_t m = 0; m < modalities; ++m) {
        const auto& schedule = model.schedule(m);
        x[m] = config.kind == SamplerKind::Ddpm
                   ? ddpm_step(x[m], eps[m], t, t_prev, schedule, rng.randn(x[m].sizes(), x[m].options()))
                   : ddim_step(x[m], eps[m], t, t_prev, schedule);
      }
    }
    if (progress) progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(ts.size()));
  }
  return x;
}

EpsCorrection joint_guidance(JointCritic& critic, double lambda_audio, double lambda_video,
                             TimestepRange interval, bool sources_are_critic_bases) {
  if (interval.min > interval.max)
    throw std::invalid_argument("guidance interval [" + std::to_string(interval.min) + ", " +
                                std::to_string(interval.max) + "] is empty");
  return [&critic, lambda_audio, lambda_video, interval, sources_are_critic_bases](
             std::vector<torch::Tensor>& eps, const std::vector<torch::Tensor>& x, const torch::Tensor& t) {
    if (eps.size() != 2) throw std::invalid_argument("joint guidance needs exactly two modalities (audio, video)");
    const int64_t step = t[0].item<int64_t>();  // the sampler gives every row the same t
    if (!interval.contains(step)) return;
    const auto base_eps = sources_are_critic_bases ? BaseEps{eps[0], eps[1]} : BaseEps{};
    auto r = critic.residuals(x[0], x[1], t, /*create_graph=*/false, base_eps);
    eps[0] = eps[0] + lambda_audio * r.audio;
    eps[1] = eps[1] + lambda_video * r.video;
  };
}

namespace {

// Samples from `model`, guided when `guidance` has a critic; `critic_bases` says whether the model's ε are those of
// the base models the critic reads (then handed to it).
std::vector<torch::Tensor> sample_guided(JointEpsSource& model, const std::vector<std::vector<int64_t>>& shapes,
                                         const SamplerConfig& config, uint64_t seed, const JointGuidanceConfig& guidance,
                                         bool critic_bases) {
  EpsCorrection correction;
  if (guidance.critic) {
    if (model.modalities() != 2) throw ConfigError("critic", "needs exactly two sources (audio, video)");
    correction = joint_guidance(*guidance.critic, guidance.lambda_audio, guidance.lambda_video, guidance.interval,
                                critic_bases);
  }
  Rng rng(seed);
  return sample(model, shapes, config, rng, correction);
}

}  // namespace

std::vector<torch::Tensor> sample_sources(const std::vector<std::shared_ptr<EpsSource>>& sources,
                                          const std::vector<std::vector<int64_t>>& shapes, const SamplerConfig& config,
                                          uint64_t seed, const JointGuidanceConfig& guidance) {
  std::vector<EpsSource*> raw;
  for (const auto& s : sources) raw.push_back(s.get());
  IndependentEps model(raw);
  const bool critic_bases = guidance.critic && raw.size() == 2 && guidance.critic->reads_base_models(raw[0], raw[1]);
  return sample_guided(model, shapes, config, seed, guidance, critic_bases);
}

std::vector<torch::Tensor> sample_joint(JointEpsSource& model, const std::vector<std::vector<int64_t>>& shapes,
                                        const SamplerConfig& config, uint64_t seed, const JointGuidanceConfig& guidance) {
  return sample_guided(model, shapes, config, seed, guidance, false);
}

}  // namespace mmdisco
