#pragma once
// Where a piece of work spends its time, op by op, from LibTorch's profiler (Kineto): on the CPU each op's self
// time, its span less the spans of the ops it called on the same thread (autograd's backward nodes enclose the ops
// they run); on CUDA each kernel's time on the device. What torch.profiler's key_averages() reports as
// self_cpu_time_total and self_device_time_total, so the native step and a PyTorch step can be read side by side.
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mmdisco {

struct OpTime {
  std::string name;
  double self_ms = 0;  // summed over every call
  int64_t calls = 0;
};

struct OpSpan {
  std::string name;
  uint64_t thread = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};

// Self time per op name of nested spans (each thread's spans nest or are disjoint), sorted by self time, largest
// first. Exposed for tests: profile_ops applies it to the profiler's CPU events.
std::vector<OpTime> self_times(std::vector<OpSpan> events);

// Starts the profiler's library (Kineto) on the calling thread, once per process. Kineto expects to start on the
// thread that loaded LibTorch and prints an error when it starts elsewhere, so a caller that profiles on worker
// threads calls this first on the loading thread (without it, the first profile starts Kineto where it runs).
void start_op_profiler();

// Runs `work` once under the profiler on the calling thread, which computes on `device`: a CUDA device gives the
// kernels' device time per kernel name instead of the CPU ops' self time. Fails if a profiler is already active.
std::vector<OpTime> profile_ops(const std::function<void()>& work, const c10::Device& device);

}  // namespace mmdisco
