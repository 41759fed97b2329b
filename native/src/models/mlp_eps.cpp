#include "models/mlp_eps.h"

namespace mmdisco {

MlpEpsNetImpl::MlpEpsNetImpl(const MlpEpsConfig& c) : config_(c) {
  TORCH_CHECK(c.dim > 0 && c.hidden > 0 && c.blocks > 0, "mlp ε-network: dim, hidden and blocks must be positive");
  time_embed = register_module("time_embed", TimeEmbedding(c.time_dim, c.hidden));
  input = register_module("input", torch::nn::Linear(c.dim, c.hidden));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.blocks; ++i) {
    blocks->push_back(torch::nn::Sequential(torch::nn::SiLU(), torch::nn::Linear(c.hidden, c.hidden),
                                            torch::nn::SiLU(), torch::nn::Linear(c.hidden, c.hidden)));
  }
  output = register_module("output", torch::nn::Linear(c.hidden, c.dim));
}

torch::Tensor MlpEpsNetImpl::forward(const torch::Tensor& x_t, const torch::Tensor& t) {
  auto h = input(x_t) + time_embed(t);
  for (const auto& block : *blocks) h = h + block->as<torch::nn::Sequential>()->forward(h);
  return output(torch::silu(h));
}

}  // namespace mmdisco
