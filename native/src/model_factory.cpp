#include "model_factory.h"

#include <mutex>
#include <stdexcept>

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

void check_shared_timesteps(const ScheduleConfig& audio, const ScheduleConfig& video) {
  if (audio.timesteps != video.timesteps)
    throw std::invalid_argument("audio and video schedules must have the same number of timesteps");
}

}  // namespace

std::shared_ptr<NetworkEps> make_mlp_eps(const MlpEpsConfig& config, const ScheduleConfig& schedule, uint64_t seed,
                                         torch::Device device, torch::ScalarType dtype) {
  auto net = seeded(seed, [&] { return std::make_shared<MlpEpsNetImpl>(config); });
  return std::make_shared<NetworkEps>(
      // Samples of any shape are flattened per row, so an MLP can stand in for an image- or audio-shaped base.
      net,
      [net](const torch::Tensor& x, const torch::Tensor& t) {
        return net->forward(x.reshape({x.size(0), -1}), t).reshape(x.sizes());
      },
      NoiseSchedule(schedule), device, dtype);
}

std::shared_ptr<NetworkEps> make_unet_eps(const UNetConfig& config, const ScheduleConfig& schedule, uint64_t seed,
                                          torch::Device device, torch::ScalarType dtype) {
  auto net = seeded(seed, [&] { return std::make_shared<UNetEpsNetImpl>(config); });
  return std::make_shared<NetworkEps>(
      net, [net](const torch::Tensor& x, const torch::Tensor& t) { return net->forward(x, t); },
      NoiseSchedule(schedule), device, dtype);
}

std::shared_ptr<DiscriminatorCritic> make_toy_discriminator(const ToyDiscriminatorConfig& config,
                                                      const ScheduleConfig& audio_schedule,
                                                      const ScheduleConfig& video_schedule, uint64_t seed,
                                                      torch::Device device, torch::ScalarType dtype) {
  check_shared_timesteps(audio_schedule, video_schedule);
  auto net = seeded(seed, [&] { return std::make_shared<ToyDiscriminatorImpl>(config); });
  net->to(device, dtype);
  return std::make_shared<DiscriminatorCritic>(
      net,
      [net](const torch::Tensor& a, const torch::Tensor& v, const torch::Tensor& t, const Conditioning& c) {
        if (c.audio.defined() || c.video.defined())
          throw std::invalid_argument("the toy discriminator takes no conditioning");
        return DiscriminatorOutput{net->forward(a, v, t)};
      },
      NoiseSchedule(audio_schedule), NoiseSchedule(video_schedule));
}

std::shared_ptr<DiscriminatorCritic> make_mmdisco_discriminator(const DiscriminatorNetworkConfig& config,
                                                         const ScheduleConfig& audio_schedule,
                                                         const ScheduleConfig& video_schedule, uint64_t seed,
                                                         torch::Device device, torch::ScalarType dtype) {
  check_shared_timesteps(audio_schedule, video_schedule);
  auto net = seeded(seed, [&] { return std::make_shared<DiscriminatorNetworkImpl>(config); });
  net->to(device, dtype);
  return std::make_shared<DiscriminatorCritic>(
      net,
      [net](const torch::Tensor& a, const torch::Tensor& v, const torch::Tensor& t, const Conditioning& c) {
        auto out = net->forward_with_class_scores(v, a, t, c.video, c.audio);
        return DiscriminatorOutput{out.h, out.audio_class_scores, out.video_class_scores};
      },
      NoiseSchedule(audio_schedule), NoiseSchedule(video_schedule));
}

std::shared_ptr<NetworkEps> make_eps_network(const EpsNetworkConfig& config, const ScheduleConfig& schedule,
                                             const Placement& p) {
  if (const auto* mlp = std::get_if<MlpEpsConfig>(&config)) return make_mlp_eps(*mlp, schedule, p.seed, p.device, p.dtype);
  return make_unet_eps(std::get<UNetConfig>(config), schedule, p.seed, p.device, p.dtype);
}

std::shared_ptr<DiscriminatorCritic> make_discriminator(const DiscriminatorNetworkVariant& config,
                                                        const ScheduleConfig& audio_schedule,
                                                        const ScheduleConfig& video_schedule, const Placement& p) {
  if (const auto* toy = std::get_if<ToyDiscriminatorConfig>(&config))
    return make_toy_discriminator(*toy, audio_schedule, video_schedule, p.seed, p.device, p.dtype);
  return make_mmdisco_discriminator(std::get<DiscriminatorNetworkConfig>(config), audio_schedule, video_schedule,
                                    p.seed, p.device, p.dtype);
}

std::shared_ptr<ClassifierNet> make_classifier(const ClassifierConfig& config, uint64_t seed, torch::Device device,
                                               torch::ScalarType dtype) {
  auto net = seeded(seed, [&] { return build_classifier(config); });
  net->to(device, dtype);
  return net;
}

}  // namespace mmdisco
