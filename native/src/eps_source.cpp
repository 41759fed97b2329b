#include "eps_source.h"

#include "autocast.h"

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

torch::Tensor Bf16AutocastEps::eps(const torch::Tensor& x_t, const torch::Tensor& t) {
  torch::Tensor e;
  {
    Bf16Autocast autocast(inner_->device(), true);
    e = inner_->eps(x_t, t);
  }
  return e.to(inner_->dtype());
}

IndependentEps::IndependentEps(std::vector<std::shared_ptr<EpsSource>> sources) : owned_(std::move(sources)) {
  for (const auto& source : owned_) sources_.push_back(source.get());
}

std::vector<torch::Tensor> IndependentEps::eps(const std::vector<torch::Tensor>& x, const torch::Tensor& t) {
  std::vector<torch::Tensor> out;
  for (size_t m = 0; m < sources_.size(); ++m) out.push_back(sources_[m]->eps(x.at(m), t));
  return out;
}

}  // namespace mmdisco
