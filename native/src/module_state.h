#pragma once
// A module's parameters as named tensors (checkpoints) and as one flat vector (finite-difference checks).
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace mmdisco {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

NamedTensors named_parameters(const torch::nn::Module& module);
// Strict: every name must be present with the same shape, and no extra names.
void load_named_parameters(torch::nn::Module& module, const NamedTensors& values);
int64_t parameter_count(const torch::nn::Module& module);

torch::Tensor flat_parameters(const torch::nn::Module& module);
void assign_flat_parameters(torch::nn::Module& module, const torch::Tensor& flat);
torch::Tensor flat_gradient(const torch::nn::Module& module);  // zeros where a parameter has no gradient

}  // namespace mmdisco
