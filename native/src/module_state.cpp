#include "module_state.h"

#include <map>
#include <stdexcept>

namespace mmdisco {

NamedTensors named_parameters(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value().detach());
  return out;
}

void load_named_parameters(torch::nn::Module& module, const NamedTensors& values) {
  std::map<std::string, torch::Tensor> given(values.begin(), values.end());
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters();
  for (auto& p : params) {
    auto it = given.find(p.key());
    if (it == given.end()) throw std::invalid_argument("parameter '" + p.key() + "' is missing");
    if (it->second.sizes() != p.value().sizes())
      throw std::invalid_argument("parameter '" + p.key() + "' has shape " + c10::str(it->second.sizes()) +
                                  ", expected " + c10::str(p.value().sizes()));
    p.value().copy_(it->second);
    given.erase(it);
  }
  if (!given.empty()) throw std::invalid_argument("unexpected parameter '" + given.begin()->first + "'");
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

torch::Tensor flat_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters()) parts.push_back(p.detach().reshape({-1}));
  return torch::cat(parts);
}

void assign_flat_parameters(torch::nn::Module& module, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  if (flat.numel() != parameter_count(module))
    throw std::invalid_argument("flat parameter vector has " + std::to_string(flat.numel()) + " values, expected " +
                                std::to_string(parameter_count(module)));
  int64_t offset = 0;
  for (auto& p : module.parameters()) {
    p.copy_(flat.slice(0, offset, offset + p.numel()).reshape(p.sizes()));
    offset += p.numel();
  }
}

torch::Tensor flat_gradient(const torch::nn::Module& module) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters()) {
    parts.push_back(p.grad().defined() ? p.grad().reshape({-1}) : torch::zeros({p.numel()}, p.options()));
  }
  return torch::cat(parts);
}

}  // namespace mmdisco
