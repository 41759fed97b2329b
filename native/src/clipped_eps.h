#pragma once
// An ε-source whose implied clean sample stays in the data's range: x̂0 = (x_t − σ_t ε̂)/√ᾱ_t is clamped to
// [low, high] and ε̂ is recomputed from it. A DDPM or DDIM step on this ε equals the step of the original
// ε-source with x̂0 clipped, as in Ho et al.'s sampler. It keeps an imperfect model from amplifying its ε error
// by 1/√ᾱ_t at high t (√ᾱ_999 ≈ 0.006 for the linear schedule) into diverging samples.
#include <memory>

#include "eps_source.h"

namespace mmdisco {

class X0ClippedEps : public WrappedEps {
 public:
  X0ClippedEps(std::shared_ptr<EpsSource> inner, double low, double high);
  torch::Tensor eps(const torch::Tensor& x_t, const torch::Tensor& t) override;

 private:
  double low_, high_;
};

}  // namespace mmdisco
