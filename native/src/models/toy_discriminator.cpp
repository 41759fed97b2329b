#include "models/toy_discriminator.h"

namespace mmdisco {

ModulatedMlpTowerImpl::ModulatedMlpTowerImpl(int64_t in_dim, int64_t hidden, int64_t blocks) {
  input = register_module("input", torch::nn::Linear(in_dim, hidden));
  inner = register_module("inner", torch::nn::ModuleList());
  modulation = register_module("modulation", torch::nn::ModuleList());
  outer = register_module("outer", torch::nn::ModuleList());
  for (int64_t i = 0; i < blocks; ++i) {
    inner->push_back(torch::nn::Linear(hidden, hidden));
    modulation->push_back(torch::nn::Linear(hidden, 2 * hidden));
    outer->push_back(torch::nn::Linear(hidden, hidden));
  }
}

// Each block: h += W_out(SiLU(W_in(SiLU(h)) · (1 + s) + b)), (s, b) from the time embedding (scale-shift).
torch::Tensor ModulatedMlpTowerImpl::forward(const torch::Tensor& x, const torch::Tensor& e_t) {
  auto h = input(x);
  auto e = torch::silu(e_t);
  for (size_t i = 0; i < inner->size(); ++i) {
    auto scale_shift = modulation[i]->as<torch::nn::Linear>()->forward(e).chunk(2, 1);
    auto u = inner[i]->as<torch::nn::Linear>()->forward(torch::silu(h));
    u = u * (1 + scale_shift[0]) + scale_shift[1];
    h = h + outer[i]->as<torch::nn::Linear>()->forward(torch::silu(u));
  }
  return torch::silu(h);
}

ToyDiscriminatorImpl::ToyDiscriminatorImpl(const ToyDiscriminatorConfig& c) : config_(c) {
  TORCH_CHECK(c.audio_dim > 0 && c.video_dim > 0 && c.hidden > 0 && c.blocks > 0,
              "toy discriminator: dimensions must be positive");
  time_embed = register_module("time_embed", TimeEmbedding(c.time_dim, c.hidden));
  audio_tower = register_module("audio_tower", ModulatedMlpTower(c.audio_dim, c.hidden, c.blocks));
  video_tower = register_module("video_tower", ModulatedMlpTower(c.video_dim, c.hidden, c.blocks));
  if (c.fusion == ToyFusion::Joint) {
    fusion = register_module("fusion", torch::nn::Sequential(torch::nn::Linear(2 * c.hidden, c.hidden),
                                                             torch::nn::SiLU(),
                                                             torch::nn::Linear(c.hidden, c.hidden),
                                                             torch::nn::SiLU(), torch::nn::Linear(c.hidden, 1)));
  } else {
    audio_head = register_module("audio_head", torch::nn::Linear(c.hidden, 1));
    video_head = register_module("video_head", torch::nn::Linear(c.hidden, 1));
  }
}

torch::Tensor ToyDiscriminatorImpl::forward(const torch::Tensor& a_t, const torch::Tensor& v_t,
                                            const torch::Tensor& t) {
  auto e_t = time_embed(t);
  auto fa = audio_tower(a_t, e_t);
  auto fv = video_tower(v_t, e_t);
  if (fusion) return fusion->forward(torch::cat({fa, fv}, 1)).squeeze(1);
  return (audio_head(fa) + video_head(fv)).squeeze(1);
}

}  // namespace mmdisco
