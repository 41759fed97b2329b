#include "torchscript_eps.h"

namespace mmdisco {

TorchScriptEps::TorchScriptEps(const std::string& path, NoiseSchedule schedule, torch::Device device,
                               torch::ScalarType dtype)
    : schedule_(std::move(schedule)), device_(device), dtype_(dtype), path_(path) {
  try {
    module_ = torch::jit::load(path, device);
  } catch (const c10::Error& e) {
    throw std::invalid_argument("cannot load TorchScript module '" + path + "': " + e.what_without_backtrace());
  }
  module_.to(dtype);
  module_.eval();
  if (!module_.find_method("forward"))
    throw std::invalid_argument("TorchScript module '" + path + "' has no forward(x_t, t) method");
}

torch::Tensor TorchScriptEps::eps(const torch::Tensor& x_t, const torch::Tensor& t) {
  torch::NoGradGuard no_grad;
  auto out = module_.forward({x_t.to(device_, dtype_), t.to(device_, torch::kInt64)});
  if (!out.isTensor()) throw std::runtime_error("TorchScript module '" + path_ + "': forward must return a tensor");
  auto eps = out.toTensor();
  if (eps.sizes() != x_t.sizes())
    throw std::runtime_error("TorchScript module '" + path_ + "': forward returned shape " + c10::str(eps.sizes()) +
                             " for input shape " + c10::str(x_t.sizes()));
  return eps.to(dtype_);
}

}  // namespace mmdisco
