#include "worker.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <map>

namespace mmdisco_binding {

namespace {

// torch applies the last count set by any thread to a thread's first parallel region (lazy_init_num_threads):
// settle that first, then set this thread's own count.
void set_this_thread_count(int threads) {
  at::internal::lazy_init_num_threads();
  at::set_num_threads(threads);
}

}  // namespace

void use_one_thread_here() { set_this_thread_count(1); }

std::shared_ptr<Worker> Worker::for_threads(int threads) {
  if (threads <= 0) threads = at::intraop_default_num_threads();
  if (threads == 1) return std::shared_ptr<Worker>(new Worker(1));
  static std::mutex mutex;
  static std::map<int, std::weak_ptr<Worker>> shared;
  std::lock_guard<std::mutex> lock(mutex);
  auto worker = shared[threads].lock();
  if (!worker) {
    worker = std::shared_ptr<Worker>(new Worker(threads));
    shared[threads] = worker;
  }
  return worker;
}

Worker::Worker(int threads) : thread_([this, threads] { loop(threads); }) {}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  // Owners live on the JS thread, and every async call keeps its owner alive until it completes.
  thread_.join();
}

void Worker::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void Worker::loop(int threads) {
  set_this_thread_count(threads);
  torch::NoGradGuard no_grad;  // inference by default; training code enables gradients where it needs them
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace mmdisco_binding
