#include "op_profile.h"

#include <kineto/libkineto.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "errors.h"

namespace mmdisco {

namespace {

namespace autograd_profiler = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

std::vector<OpTime> sorted_by_time(const std::map<std::string, OpTime>& by_name) {
  std::vector<OpTime> out;
  out.reserve(by_name.size());
  for (const auto& [name, op] : by_name) out.push_back(op);
  std::stable_sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.self_ms > b.self_ms; });
  return out;
}

}  // namespace

std::vector<OpTime> self_times(std::vector<OpSpan> events) {
  // Per thread, by start (the enclosing span first when two start together): a stack of the open spans gives
  // each span its parent, whose self time loses the child's span.
  std::stable_sort(events.begin(), events.end(), [](const OpSpan& a, const OpSpan& b) {
    if (a.thread != b.thread) return a.thread < b.thread;
    if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
    return a.end_ns > b.end_ns;
  });
  std::map<std::string, OpTime> by_name;
  std::vector<std::pair<const OpSpan*, OpTime*>> open;
  for (const auto& event : events) {
    while (!open.empty() && (open.back().first->thread != event.thread || open.back().first->end_ns <= event.start_ns))
      open.pop_back();
    auto& op = by_name[event.name];
    op.name = event.name;
    op.calls += 1;
    const double span_ms = static_cast<double>(event.end_ns - event.start_ns) / 1e6;
    op.self_ms += span_ms;
    if (!open.empty()) open.back().second->self_ms -= span_ms;
    open.emplace_back(&event, &op);
  }
  return sorted_by_time(by_name);
}

void start_op_profiler() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (libkineto::api().isProfilerRegistered()) return;
    libkineto_init(/*cpuOnly=*/!torch::cuda::is_available(), /*logOnError=*/true);
    libkineto::api().suppressLogMessages();
  });
}

std::vector<OpTime> profile_ops(const std::function<void()>& work, const c10::Device& device) {
  const bool cuda = device.is_cuda();
  if (impl::profilerEnabled()) throw Error(ErrorCode::Runtime, "profile_ops: a profiler is already active on this thread");
  const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
  if (cuda) activities.insert(impl::ActivityType::CUDA);
  autograd_profiler::prepareProfiler(config, activities);
  autograd_profiler::enableProfiler(config, activities);
  try {
    work();
    if (cuda) torch::cuda::synchronize(device.index());  // the kernels still queued belong to the work
  } catch (...) {
    autograd_profiler::disableProfiler();
    throw;
  }
  const auto result = autograd_profiler::disableProfiler();
  if (cuda) {
    std::map<std::string, OpTime> by_name;
    for (const auto& event : result->events()) {
      if (event.deviceType() != c10::DeviceType::CUDA) continue;
      auto& op = by_name[event.name()];
      op.name = event.name();
      op.calls += 1;
      op.self_ms += static_cast<double>(event.durationNs()) / 1e6;
    }
    return sorted_by_time(by_name);
  }
  std::vector<OpSpan> spans;
  for (const auto& event : result->events()) {
    if (event.deviceType() != c10::DeviceType::CPU || event.isAsync()) continue;
    spans.push_back({event.name(), event.startThreadId(), event.startNs(), event.endNs()});
  }
  return self_times(std::move(spans));
}

}  // namespace mmdisco
