#include "eps_source.h"

namespace mmdisco {

NetworkEps::NetworkEps(std::shared_ptr<torch::nn::Module> module, Forward forward, NoiseSchedule schedule,
                       torch::Device device, torch::ScalarType dtype)
    : module_(std::move(module)), forward_(std::move(forward)), schedule_(std::move(schedule)), device_(device),
      dtype_(dtype) {
  module_->to(device_, dtype_);
}

torch::Tensor NetworkEps::eps(const torch::Tensor& x_t, const torch::Tensor& t) {
  torch::NoGradGuard no_grad;
  return forward_(x_t.to(device_, dtype_), t.to(device_));
}

}  // namespace mmdisco
