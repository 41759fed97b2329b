#include "clipped_eps.h"

#include <stdexcept>

namespace mmdisco {

X0ClippedEps::X0ClippedEps(std::shared_ptr<EpsSource> inner, double low, double high)
    : WrappedEps(std::move(inner)), low_(low), high_(high) {
  if (!(low < high)) throw std::invalid_argument("x0 range must have low < high");
}

torch::Tensor X0ClippedEps::eps(const torch::Tensor& x_t, const torch::Tensor& t) {
  auto eps = inner_->eps(x_t, t);
  auto x = x_t.to(eps.device(), eps.scalar_type());
  auto signal = schedule().sqrt_alpha_bar(t, x);
  auto sigma = schedule().sigma(t, x);
  auto x0 = ((x - sigma * eps) / signal).clamp(low_, high_);
  return (x - signal * x0) / sigma;
}

}  // namespace mmdisco
