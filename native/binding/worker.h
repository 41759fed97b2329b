#pragma once
// One dedicated native thread per model: torch's per-thread state (grad mode, thread count, allocator arena)
// stays with the model, and long work never blocks the JS thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mmdisco_binding {

class Worker {
 public:
  explicit Worker(int threads);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void post(std::function<void()> task);

 private:
  void loop(int threads);
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mmdisco_binding
