#pragma once
// A seeded random stream. Draws happen on the CPU and are then moved to the target device, so the same
// seed gives the same numbers on every device (CPU-vs-CUDA agreement is testable bit for bit up to kernels).
#include <torch/torch.h>

#include <cstdint>

namespace mmdisco {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  void reseed(uint64_t seed);
  // The generator's full state (a uint8 tensor), for checkpoints that resume the same stream.
  torch::Tensor state();
  void set_state(const torch::Tensor& state);
  torch::Tensor randn(at::IntArrayRef shape, const torch::TensorOptions& target);
  torch::Tensor uniform(at::IntArrayRef shape, const torch::TensorOptions& target);
  // Integers in [low, high), int64, on the target device.
  torch::Tensor randint(int64_t low, int64_t high, at::IntArrayRef shape, const torch::Device& device);

 private:
  at::Generator generator_;
};

}  // namespace mmdisco
