#pragma once
// Multi-process data parallelism with c10d: rendezvous from torchrun's environment (or explicit values) through a
// TCPStore hosted by rank 0, Gloo on CPU and NCCL on CUDA, and gradient averaging over ranks with c10d's Reducer
// (the bucketed all-reduce of DistributedDataParallel: a bucket is all-reduced as soon as its gradients are ready,
// while the backward pass goes on computing the next ones).
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "train.h"

namespace c10d {
class ProcessGroup;
class Reducer;
class Store;
}  // namespace c10d

namespace mmdisco {

enum class CollectiveBackend { Gloo, Nccl };
CollectiveBackend parse_collective_backend(const std::string& name);
std::string collective_backend_name(CollectiveBackend backend);

// What a caller may fix explicitly; everything left empty comes from torchrun's environment variables.
struct RendezvousRequest {
  std::optional<int> rank, world_size, local_rank;
  std::optional<std::string> master_addr;
  std::optional<int> master_port;
  CollectiveBackend backend = CollectiveBackend::Gloo;
  // How long to wait for the other ranks: at the rendezvous and in every collective. A rank that stops answering
  // makes the others fail after at most this long (a rank that dies is usually noticed at once: its sockets close).
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

struct RendezvousConfig {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  CollectiveBackend backend = CollectiveBackend::Gloo;
  std::chrono::milliseconds timeout{};
  // torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True):
  // every rank connects to it as a client, rank 0 included.
  bool agent_store = false;
};

// Completes a request from RANK, WORLD_SIZE, LOCAL_RANK (default 0), MASTER_ADDR (default 127.0.0.1),
// MASTER_PORT and TORCHELASTIC_USE_AGENT_STORE. Throws std::invalid_argument naming the missing or malformed variable.
RendezvousConfig complete_rendezvous(const RendezvousRequest& request);
// Where a backend's tensors live: the CPU for Gloo, cuda:LOCAL_RANK for NCCL.
torch::Device collective_device(const RendezvousConfig& config);

enum class ReduceOp { Sum, Mean };

// One rank's membership of a group of processes. Construction blocks until every rank has joined (or the timeout).
class ProcessGroup {
 public:
  explicit ProcessGroup(const RendezvousConfig& config);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  const RendezvousConfig& config() const { return config_; }
  int rank() const { return config_.rank; }
  int world_size() const { return config_.world_size; }
  torch::Device device() const { return collective_device(config_); }

  // In place, on every rank; `values` may live anywhere (it is staged through device() when needed).
  void allreduce(torch::Tensor& values, ReduceOp op);
  void barrier();

  // A new communicator over the same ranks, independent of this one, so that several models (and the metrics of
  // the caller) can exchange data on different threads without interleaving their collectives. Collective: every
  // rank must create its subgroups in the same order.
  c10::intrusive_ptr<c10d::ProcessGroup> new_communicator();

  // Wraps a failed collective into an error that says which ranks are gone (asked through the rendezvous store)
  // or that the wait timed out.
  [[noreturn]] void fail(const std::string& what, const std::exception& cause);

 private:
  c10::intrusive_ptr<c10d::ProcessGroup> make_communicator(const std::string& prefix);
  RendezvousConfig config_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> default_;
  int communicators_ = 0;
};

struct DataParallelOptions {
  // DistributedDataParallel's defaults: a small first bucket (the last layers' gradients, ready first, leave
  // early), then buckets of up to 25 MiB.
  int64_t first_bucket_bytes = 1 << 20;
  int64_t bucket_bytes = 25 << 20;
};

// Gradient averaging over the ranks of a group for one module. Construction is collective: it checks that every
// rank has the same parameter shapes and copies rank 0's parameters and buffers to all ranks.
class DataParallelSync : public GradientSync {
 public:
  DataParallelSync(std::shared_ptr<ProcessGroup> group, torch::nn::Module& module, const DataParallelOptions& options);
  ~DataParallelSync() override;
  int rank() const override { return group_->rank(); }
  int world_size() const override { return group_->world_size(); }
  void backward(const torch::Tensor& loss) override;
  int64_t bucket_count() const { return buckets_; }

 private:
  std::shared_ptr<ProcessGroup> group_;
  c10::intrusive_ptr<c10d::ProcessGroup> communicator_;
  std::unique_ptr<c10d::Reducer> reducer_;
  int64_t buckets_ = 0;
};

}  // namespace mmdisco
