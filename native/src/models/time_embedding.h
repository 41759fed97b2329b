#pragma once
// Sinusoidal timestep embedding with the convention of the released discriminators: first half sin(t·ω_i),
// second half cos(t·ω_i), ω_i = exp(−ln(10000)·i/(half−1)), followed by Linear → SiLU → Linear.
#include <torch/torch.h>

namespace mmdisco {

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim, torch::ScalarType dtype);

class TimeEmbeddingImpl : public torch::nn::Module {
 public:
  TimeEmbeddingImpl(int64_t sinusoid_dim, int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& t);
  int64_t sinusoid_dim() const { return sinusoid_dim_; }

 private:
  int64_t sinusoid_dim_;
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimeEmbedding);

}  // namespace mmdisco
