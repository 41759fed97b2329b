#pragma once
// Where a model lives and how it starts: device, dtype and the seed of its initialisation (and training draws).
#include <torch/torch.h>

#include <cstdint>

namespace mmdisco {

struct Placement {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  uint64_t seed = 0;
};

}  // namespace mmdisco
