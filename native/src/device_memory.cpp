#include "device_memory.h"

#include <ATen/DeviceAccelerator.h>

namespace mmdisco {

namespace {

c10::DeviceIndex index_of(torch::Device device) {
  return device.has_index() ? device.index() : at::accelerator::getDeviceIndex();
}

bool has_allocator(torch::Device device) { return at::accelerator::isAccelerator(device.type()); }

}  // namespace

std::optional<int64_t> peak_allocated_bytes(torch::Device device) {
  if (!has_allocator(device)) return std::nullopt;
  const auto stats = at::accelerator::getDeviceStats(index_of(device));
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
}

void reset_peak_allocated(torch::Device device) {
  if (has_allocator(device)) at::accelerator::resetPeakStats(index_of(device));
}

}  // namespace mmdisco
