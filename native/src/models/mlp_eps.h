#pragma once
// ε-network for low-dimensional data: time-conditioned residual MLP.
#include <torch/torch.h>

#include "models/time_embedding.h"

namespace mmdisco {

struct MlpEpsConfig {
  int64_t dim = 2;
  int64_t hidden = 128;
  int64_t blocks = 3;
  int64_t time_dim = 64;
};

class MlpEpsNetImpl : public torch::nn::Module {
 public:
  explicit MlpEpsNetImpl(const MlpEpsConfig& config);
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t);
  const MlpEpsConfig& config() const { return config_; }

 private:
  MlpEpsConfig config_;
  TimeEmbedding time_embed{nullptr};
  torch::nn::Linear input{nullptr}, output{nullptr};
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(MlpEpsNet);

}  // namespace mmdisco
