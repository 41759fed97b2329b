#include "worker.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace mmdisco_binding {

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
  at::init_num_threads();
  if (threads > 0) at::set_num_threads(threads);
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
