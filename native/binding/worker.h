#pragma once
// The native threads that run a model's work, so that long work never blocks the JS thread.
//
// libgomp shortens its spin-wait to ~100 spins once it manages more threads than there are CPUs, and then every
// barrier of an intra-op parallel region sleeps and wakes through the kernel (measured: ×1.5 slower training on
// 2 cores). Every thread that runs a parallel region keeps its own OpenMP team, so all multi-threaded work of the
// process shares one worker per thread count, and the JS thread computes single-threaded (worker.cpp).
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace mmdisco_binding {

class Worker {
 public:
  // A worker whose intra-op work uses `threads` threads (0: torch's default). Single-threaded workers are each
  // their own, so that independent single-threaded models run concurrently; others are shared per count.
  static std::shared_ptr<Worker> for_threads(int threads);

  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void post(std::function<void()> task);

 private:
  explicit Worker(int threads);
  void loop(int threads);
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

// Makes the calling (JS) thread compute single-threaded: it only converts and initialises tensors.
void use_one_thread_here();

}  // namespace mmdisco_binding
