#include "rng.h"

#include <ATen/CPUGeneratorImpl.h>

namespace mmdisco {

Rng::Rng(uint64_t seed) : generator_(at::detail::createCPUGenerator(seed)) {}

void Rng::reseed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  generator_.set_current_seed(seed);
}

torch::Tensor Rng::state() {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  return generator_.get_state();
}

void Rng::set_state(const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  generator_.set_state(state);
}

torch::Tensor Rng::randn(at::IntArrayRef shape, const torch::TensorOptions& target) {
  auto cpu = torch::TensorOptions().dtype(target.dtype()).device(torch::kCPU);
  return at::randn(shape, generator_, cpu).to(target.device());
}

torch::Tensor Rng::uniform(at::IntArrayRef shape, const torch::TensorOptions& target) {
  auto cpu = torch::TensorOptions().dtype(target.dtype()).device(torch::kCPU);
  return at::rand(shape, generator_, cpu).to(target.device());
}

torch::Tensor Rng::randint(int64_t low, int64_t high, at::IntArrayRef shape, const torch::Device& device) {
  return at::randint(low, high, shape, generator_, torch::TensorOptions().dtype(torch::kInt64)).to(device);
}

}  // namespace mmdisco
