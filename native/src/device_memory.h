#pragma once
// The high-water mark of a device's caching allocator, where the device has one (CUDA and other accelerators); a
// CPU's peak is the process's resident set, which the caller reads from the operating system.
#include <torch/torch.h>

#include <cstdint>
#include <optional>

namespace mmdisco {

// Bytes the allocator has held for tensors at most since the last reset; nullopt on a CPU.
std::optional<int64_t> peak_allocated_bytes(torch::Device device);
void reset_peak_allocated(torch::Device device);

}  // namespace mmdisco
