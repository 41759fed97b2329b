#include "torchscript_eps.h"

#include <algorithm>

#include "errors.h"

namespace mmdisco {

namespace {

// The module at `path` on `device` in `dtype`, in evaluation mode; `signature` words its forward for the errors.
torch::jit::Module load_module(const std::string& path, torch::Device device, torch::ScalarType dtype,
                               const std::string& signature) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device);
  } catch (const c10::Error& e) {
    throw std::invalid_argument("cannot load TorchScript module '" + path + "': " + e.what_without_backtrace());
  }
  module.to(dtype);
  module.eval();
  if (!module.find_method("forward"))
    throw std::invalid_argument("TorchScript module '" + path + "' has no " + signature + " method");
  return module;
}

}  // namespace

TorchScriptEps::TorchScriptEps(const std::string& path, NoiseSchedule schedule, torch::Device device,
                               torch::ScalarType dtype)
    : module_(load_module(path, device, dtype, "forward(x_t, t)")),
      schedule_(std::move(schedule)),
      device_(device),
      dtype_(dtype),
      path_(path) {}

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

TorchScriptJointEps::TorchScriptJointEps(const std::string& path, std::vector<int64_t> arguments, NoiseSchedule schedule,
                                         torch::Device device, torch::ScalarType dtype)
    : module_(load_module(path, device, dtype, "forward(x_a, x_b, …, t)")),
      arguments_(std::move(arguments)),
      schedule_(std::move(schedule)),
      device_(device),
      dtype_(dtype),
      path_(path) {
  auto sorted = arguments_;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<int64_t>(i))
      throw ConfigError("arguments", "must place each modality at its own position 0 … " +
                                         std::to_string(sorted.size() - 1) + " of the module's inputs");
}

std::vector<torch::Tensor> TorchScriptJointEps::eps(const std::vector<torch::Tensor>& x, const torch::Tensor& t) {
  torch::NoGradGuard no_grad;
  std::vector<torch::jit::IValue> inputs(arguments_.size() + 1);
  for (size_t m = 0; m < arguments_.size(); ++m) inputs[arguments_[m]] = x.at(m).to(device_, dtype_);
  inputs.back() = t.to(device_, torch::kInt64);
  const auto out = module_.forward(inputs);
  if (!out.isTuple() || out.toTupleRef().elements().size() != arguments_.size())
    throw std::runtime_error("TorchScript module '" + path_ + "': forward must return a tuple of " +
                             std::to_string(arguments_.size()) + " tensors (one ε per input)");
  const auto& elements = out.toTupleRef().elements();
  std::vector<torch::Tensor> eps;
  for (size_t m = 0; m < arguments_.size(); ++m) {
    auto e = elements[arguments_[m]].toTensor();
    if (e.sizes() != x[m].sizes())
      throw ShapeError("TorchScript module '" + path_ + "': output " + std::to_string(arguments_[m]) + " has shape " +
                       c10::str(e.sizes()) + " for input shape " + c10::str(x[m].sizes()));
    eps.push_back(e.to(dtype_));
  }
  return eps;
}

}  // namespace mmdisco
