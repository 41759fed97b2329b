#include "model_factory.h"

#include <mutex>

namespace mmdisco {

namespace {

// Parameter initialisation draws from torch's global generator: serialise it so each model's initial weights
// depend on its own seed only, whatever else runs concurrently.
template <typename Build>
auto seeded(uint64_t seed, Build build) {
  static std::mutex init_mutex;
  std::lock_guard<std::mutex> lock(init_mutex);
  torch::manual_seed(seed);
  return build();
}

}  // namespace

std::shared_ptr<NetworkEps> make_mlp_eps(const MlpEpsConfig& config, const ScheduleConfig& schedule, uint64_t seed,
                                         torch::Device device, torch::ScalarType dtype) {
  auto net = seeded(seed, [&] { return std::make_shared<MlpEpsNetImpl>(config); });
  return std::make_shared<NetworkEps>(
      net, [net](const torch::Tensor& x, const torch::Tensor& t) { return net->forward(x, t); },
      NoiseSchedule(schedule), device, dtype);
}

std::shared_ptr<Discriminator> make_toy_discriminator(const ToyDiscriminatorConfig& config,
                                                      const ScheduleConfig& audio_schedule,
                                                      const ScheduleConfig& video_schedule, uint64_t seed,
                                                      torch::Device device, torch::ScalarType dtype) {
  if (audio_schedule.timesteps != video_schedule.timesteps)
    throw std::invalid_argument("audio and video schedules must have the same number of timesteps");
  auto net = seeded(seed, [&] { return std::make_shared<ToyDiscriminatorImpl>(config); });
  net->to(device, dtype);
  return std::make_shared<Discriminator>(
      net,
      [net](const torch::Tensor& a, const torch::Tensor& v, const torch::Tensor& t) { return net->forward(a, v, t); },
      NoiseSchedule(audio_schedule), NoiseSchedule(video_schedule));
}

}  // namespace mmdisco
