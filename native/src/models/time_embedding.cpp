#include "models/time_embedding.h"

#include <cmath>

namespace mmdisco {

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim, torch::ScalarType dtype) {
  TORCH_CHECK(dim % 2 == 0 && dim >= 4, "time embedding width must be even and at least 4, got ", dim);
  const int64_t half = dim / 2;
  auto i = torch::arange(half, torch::TensorOptions().dtype(torch::kFloat64).device(t.device()));
  auto freqs = torch::exp(-std::log(10000.0) * i / static_cast<double>(half - 1));
  auto args = t.to(torch::kFloat64).reshape({-1, 1}) * freqs.reshape({1, -1});
  return torch::cat({torch::sin(args), torch::cos(args)}, 1).to(dtype);
}

TimeEmbeddingImpl::TimeEmbeddingImpl(int64_t sinusoid_dim, int64_t out_dim) : sinusoid_dim_(sinusoid_dim) {
  linear_1 = register_module("linear_1", torch::nn::Linear(sinusoid_dim, out_dim));
  linear_2 = register_module("linear_2", torch::nn::Linear(out_dim, out_dim));
}

torch::Tensor TimeEmbeddingImpl::forward(const torch::Tensor& t) {
  auto e = sinusoidal_embedding(t, sinusoid_dim_, linear_1->weight.scalar_type());
  return linear_2(torch::silu(linear_1(e)));
}

}  // namespace mmdisco
