#pragma once
// Discriminator for low-dimensional audio/video pairs: one time-modulated MLP tower per modality and a
// fusion. "joint" fuses the two towers with an MLP (it can represent audio-video coupling); "additive" sums one
// scalar per tower, like the released fusion A, and cannot.
#include <torch/torch.h>

#include <string>

#include "models/time_embedding.h"

namespace mmdisco {

enum class ToyFusion { Joint, Additive };  // "joint" | "additive"

// Parsed from JSON by config/networks.h.
struct ToyDiscriminatorConfig {
  int64_t audio_dim = 2;
  int64_t video_dim = 2;
  int64_t hidden = 128;
  int64_t blocks = 2;
  int64_t time_dim = 64;
  ToyFusion fusion = ToyFusion::Joint;
};

class ModulatedMlpTowerImpl : public torch::nn::Module {
 public:
  ModulatedMlpTowerImpl(int64_t in_dim, int64_t hidden, int64_t blocks);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e_t);

 private:
  torch::nn::Linear input{nullptr};
  torch::nn::ModuleList inner{nullptr}, modulation{nullptr}, outer{nullptr};
};
TORCH_MODULE(ModulatedMlpTower);

class ToyDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit ToyDiscriminatorImpl(const ToyDiscriminatorConfig& config);
  // Pre-sigmoid output h, shape (B,).
  torch::Tensor forward(const torch::Tensor& a_t, const torch::Tensor& v_t, const torch::Tensor& t);
  const ToyDiscriminatorConfig& config() const { return config_; }

 private:
  ToyDiscriminatorConfig config_;
  TimeEmbedding time_embed{nullptr};
  ModulatedMlpTower audio_tower{nullptr}, video_tower{nullptr};
  torch::nn::Sequential fusion{nullptr};
  torch::nn::Linear audio_head{nullptr}, video_head{nullptr};
};
TORCH_MODULE(ToyDiscriminator);

}  // namespace mmdisco
