#pragma once
// Builds ε-networks and discriminator critics from their configs, with seeded initialisation: the one place a
// model is chosen by its config's kind.
#include <memory>

#include "config/networks.h"
#include "eps_source.h"
#include "guidance.h"
#include "models/classifier.h"
#include "models/mlp_eps.h"
#include "models/mmdisco_discriminator.h"
#include "models/toy_discriminator.h"
#include "models/unet.h"
#include "placement.h"

namespace mmdisco {

std::shared_ptr<NetworkEps> make_mlp_eps(const MlpEpsConfig& config, const ScheduleConfig& schedule, uint64_t seed,
                                         torch::Device device, torch::ScalarType dtype);

// The base-model U-Nets (video "2d+1d" or audio log-mel), in the caller's layout of the geometry.
std::shared_ptr<NetworkEps> make_unet_eps(const UNetConfig& config, const ScheduleConfig& schedule, uint64_t seed,
                                          torch::Device device, torch::ScalarType dtype);

std::shared_ptr<DiscriminatorCritic> make_toy_discriminator(const ToyDiscriminatorConfig& config,
                                                      const ScheduleConfig& audio_schedule,
                                                      const ScheduleConfig& video_schedule, uint64_t seed,
                                                      torch::Device device, torch::ScalarType dtype);

// The MMDisCo discriminator network as a critic; its a_t is audio (B, C, L, M) or (B, C, N) and v_t video (B, F, C, H, W).
std::shared_ptr<DiscriminatorCritic> make_mmdisco_discriminator(const DiscriminatorNetworkConfig& config,
                                                         const ScheduleConfig& audio_schedule,
                                                         const ScheduleConfig& video_schedule, uint64_t seed,
                                                         torch::Device device, torch::ScalarType dtype);
// By the config's kind: an MLP or a U-Net ε-network; a toy or an MMDisCo discriminator.
std::shared_ptr<NetworkEps> make_eps_network(const EpsNetworkConfig& config, const ScheduleConfig& schedule,
                                             const Placement& placement);
std::shared_ptr<DiscriminatorCritic> make_discriminator(const DiscriminatorNetworkVariant& config,
                                                        const ScheduleConfig& audio_schedule,
                                                        const ScheduleConfig& video_schedule,
                                                        const Placement& placement);

std::shared_ptr<ClassifierNet> make_classifier(const ClassifierConfig& config, uint64_t seed, torch::Device device,
                                               torch::ScalarType dtype);

}  // namespace mmdisco
