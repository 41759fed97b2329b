#pragma once
// Reverse-diffusion samplers as small step functions, and one loop that composes ε-sources and an optional
// ε correction (the joint guidance) for any number of modalities sharing the timestep grid.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dpm_solver.h"
#include "eps_source.h"
#include "guidance.h"
#include "rng.h"

namespace mmdisco {

enum class SamplerKind { Ddpm, Ddim, DpmSolverPp };

// `steps` descending timesteps with "leading" spacing: (steps−1)·T/steps, …, T/steps, 0.
std::vector<int64_t> sampling_timesteps(int64_t timesteps, int64_t steps);

// Ancestral DDPM step from t to t_prev (t_prev = −1 means to clean data, where no noise is added); the
// posterior variance is β̃ for the stride t → t_prev.
torch::Tensor ddpm_step(const torch::Tensor& x_t, const torch::Tensor& eps, int64_t t, int64_t t_prev,
                        const NoiseSchedule& schedule, const torch::Tensor& noise);
// Deterministic DDIM step (η = 0).
torch::Tensor ddim_step(const torch::Tensor& x_t, const torch::Tensor& eps, int64_t t, int64_t t_prev,
                        const NoiseSchedule& schedule);

// Forward process from t_prev back to t (t_prev = −1: from clean data): x_t = sqrt(ᾱ_t/ᾱ_prev) x + sqrt(1 − ᾱ_t/ᾱ_prev) ε.
torch::Tensor renoise_step(const torch::Tensor& x_prev, int64_t t_prev, int64_t t, const NoiseSchedule& schedule,
                           const torch::Tensor& noise);
// Called once per step with every modality's ε (to modify in place), current x_t and t.
using EpsCorrection =
    std::function<void(std::vector<torch::Tensor>& eps, const std::vector<torch::Tensor>& x, const torch::Tensor& t)>;
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

struct SamplerConfig {
  SamplerKind kind = SamplerKind::Ddpm;
  int64_t steps = 100;  // DPM-Solver++: model calls
  // DPM-Solver++ (dpm_solver.h) on the logSNR grid, data prediction; dynamic thresholding suits data bounded to
  // [−1, 1] (the official MM-Diffusion pixels), not this project's normalised features.
  int64_t dpm_order = 3;
  DpmMethod dpm_method = DpmMethod::Singlestep;
  DpmThresholding dpm_thresholding;  // off by default; the official MM-Diffusion sampler uses it
  // DDPM and DDIM, guided: each step is taken `guidance_repeats` times, x re-noised from t_prev back to t before
  // each repeat (the official joint_num_steps: more guidance per noise level at the cost of more model calls).
  int64_t guidance_repeats = 1;
};

// Sets config's sampler from its name: "ddpm", "ddim", or "dpm-solver++-<order><s|m>" (order 1–3, singlestep or
// multistep; "dpm-solver++-3s" is the official MM-Diffusion sampler). Throws ConfigError on `field` otherwise.
void parse_sampler(const std::string& name, SamplerConfig& config, const std::string& field = "sampler");

// Draws x_T ~ N(0, I) of each modality's shape (in the modalities' order) and integrates to x_0.
std::vector<torch::Tensor> sample(JointEpsSource& model, const std::vector<std::vector<int64_t>>& shapes,
                                  const SamplerConfig& config, Rng& rng, const EpsCorrection& correction = nullptr,
                                  const ProgressCallback& progress = nullptr);
// ε_m ← ε_m + λ_m · r_m with r from the critic, at the steps whose (shared) t lies in `interval`; sources[0] is
// audio and sources[1] video. What guidance can change is settled within a band of noise levels
// (test/toy/oracle.test.ts); outside the interval the base models sample alone and the critic, the costly part of a
// guided step, is not evaluated. With `sources_are_critic_bases` (the sampler's ε-sources are the ones a denoising
// discriminator reads) the step's ε̂, taken before the correction, is handed to the critic as its BaseEps.
EpsCorrection joint_guidance(JointCritic& critic, double lambda_audio, double lambda_video,
                             TimestepRange interval = {}, bool sources_are_critic_bases = false);

// Joint guidance of a two-source (audio, video) sampling: λ_m per modality, at the steps in `interval`.
struct JointGuidanceConfig {
  std::shared_ptr<JointCritic> critic;
  double lambda_audio = 0, lambda_video = 0;
  TimestepRange interval;
};

// Samples `shapes` (batch first) from the sources with a random stream seeded by `seed`, guided when `guidance` has
// a critic (then sources are [audio, video]; the step's ε̂ is handed to a critic that reads these sources).
std::vector<torch::Tensor> sample_sources(const std::vector<std::shared_ptr<EpsSource>>& sources,
                                          const std::vector<std::vector<int64_t>>& shapes, const SamplerConfig& config,
                                          uint64_t seed, const JointGuidanceConfig& guidance = {});
// The same from a joint base model (modalities [audio, video] where a critic guides; the critic reads no base ε).
std::vector<torch::Tensor> sample_joint(JointEpsSource& model, const std::vector<std::vector<int64_t>>& shapes,
                                        const SamplerConfig& config, uint64_t seed, const JointGuidanceConfig& guidance = {});

}  // namespace mmdisco
