#include "distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace mmdisco {

namespace {

std::string without_backtrace(const std::exception& e) {
  if (auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

const char* const kEnvironmentHint =
    " (mmdisco launch and torchrun set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each process)";

int integer_from_environment(const char* name, std::optional<int> fallback) {
  auto text = environment(name);
  if (!text) {
    if (fallback) return *fallback;
    throw std::invalid_argument(std::string("data-parallel rendezvous: environment variable ") + name +
                                " is not set" + kEnvironmentHint);
  }
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size() || value < 0 || value > 1 << 30)
    throw std::invalid_argument(std::string("data-parallel rendezvous: environment variable ") + name + "='" + *text +
                                "' is not a non-negative integer");
  return static_cast<int>(value);
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

CollectiveBackend parse_collective_backend(const std::string& name) {
  if (name == "gloo") return CollectiveBackend::Gloo;
  if (name == "nccl") return CollectiveBackend::Nccl;
  throw std::invalid_argument("collective backend must be 'gloo' or 'nccl', got '" + name + "'");
}

std::string collective_backend_name(CollectiveBackend backend) {
  return backend == CollectiveBackend::Gloo ? "gloo" : "nccl";
}

RendezvousConfig complete_rendezvous(const RendezvousRequest& request) {
  RendezvousConfig c;
  c.rank = request.rank ? *request.rank : integer_from_environment("RANK", std::nullopt);
  c.world_size = request.world_size ? *request.world_size : integer_from_environment("WORLD_SIZE", std::nullopt);
  c.local_rank = request.local_rank ? *request.local_rank : integer_from_environment("LOCAL_RANK", 0);
  c.master_addr = request.master_addr ? *request.master_addr : environment("MASTER_ADDR").value_or("127.0.0.1");
  c.master_port = request.master_port ? *request.master_port : integer_from_environment("MASTER_PORT", std::nullopt);
  c.backend = request.backend;
  c.timeout = request.timeout;
  c.agent_store = environment("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  if (c.local_rank < 0) throw std::invalid_argument("data-parallel rendezvous: local rank must not be negative");
  if (c.world_size < 1) throw std::invalid_argument("data-parallel rendezvous: world size must be at least 1");
  if (c.rank < 0 || c.rank >= c.world_size)
    throw std::invalid_argument("data-parallel rendezvous: rank " + std::to_string(c.rank) + " is outside [0, " +
                                std::to_string(c.world_size) + ")");
  if (c.master_port < 1 || c.master_port > 65535)
    throw std::invalid_argument("data-parallel rendezvous: master port " + std::to_string(c.master_port) +
                                " is outside [1, 65535]");
  if (c.timeout.count() <= 0) throw std::invalid_argument("data-parallel rendezvous: timeout must be positive");
  return c;
}

torch::Device collective_device(const RendezvousConfig& config) {
  if (config.backend == CollectiveBackend::Nccl) return torch::Device(torch::kCUDA, config.local_rank);
  return torch::kCPU;
}

// ==== ProcessGroup ===========================================================================================

ProcessGroup::ProcessGroup(const RendezvousConfig& config) : config_(config) {
#ifndef USE_C10D_GLOO
  if (config_.backend == CollectiveBackend::Gloo)
    throw std::runtime_error("this build of mmdisco has no Gloo backend (it was built without the gloo headers)");
#endif
#ifndef USE_C10D_NCCL
  if (config_.backend == CollectiveBackend::Nccl)
    throw std::runtime_error("this build of mmdisco has no NCCL backend (it needs a CUDA build of LibTorch)");
#endif
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(config_.master_port);
  options.isServer = config_.rank == 0 && !config_.agent_store;
  options.numWorkers = static_cast<size_t>(config_.world_size);
  options.waitWorkers = true;
  options.timeout = config_.timeout;
  // Inside Node, the libuv store backend would call Node's libuv (the executable's symbols take precedence over the
  // copy bundled in libtorch, whose struct layouts it was compiled for); the classic socket backend needs no libuv.
  options.useLibUV = false;
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(config_.master_addr, options);
    store_ = c10::make_intrusive<c10d::PrefixStore>("mmdisco", tcp);
    default_ = make_communicator("default");
  } catch (const std::exception& e) {
    throw std::runtime_error("data-parallel rendezvous of rank " + std::to_string(config_.rank) + " of " +
                             std::to_string(config_.world_size) + " at " + config_.master_addr + ":" +
                             std::to_string(config_.master_port) + " failed within " +
                             std::to_string(config_.timeout.count()) + " ms: " + without_backtrace(e));
  }
}

ProcessGroup::~ProcessGroup() = default;


c10::intrusive_ptr<c10d::ProcessGroup> ProcessGroup::make_communicator(const std::string& prefix) {
  auto store = c10::make_intrusive<c10d::PrefixStore>(prefix, store_);
  auto group = c10::make_intrusive<c10d::ProcessGroup>(store, config_.rank, config_.world_size);
#ifdef USE_C10D_GLOO
  if (config_.backend == CollectiveBackend::Gloo) {
    auto options = c10d::ProcessGroupGloo::Options::create(config_.timeout);
    // GLOO_SOCKET_IFNAME picks the interface as in PyTorch; one host on loopback needs no name lookup.
    if (auto interface = environment("GLOO_SOCKET_IFNAME")) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*interface));
    } else if (is_loopback(config_.master_addr)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, config_.rank, config_.world_size, options);
    group->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, backend);
    group->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
  }
#endif
#ifdef USE_C10D_NCCL
  if (config_.backend == CollectiveBackend::Nccl) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = config_.timeout;
    auto backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, config_.rank, config_.world_size, options);
    group->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, backend);
    group->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
  }
#endif
  return group;
}

c10::intrusive_ptr<c10d::ProcessGroup> ProcessGroup::new_communicator() {
  return make_communicator("communicator/" + std::to_string(++communicators_));
}

void ProcessGroup::allreduce(torch::Tensor& values, ReduceOp op) {
  std::vector<torch::Tensor> staged{values.to(device()).contiguous()};
  try {
    default_->allreduce(staged, c10d::AllreduceOptions{})->wait(config_.timeout);
  } catch (const std::exception& e) {
    fail("allreduce", e);
  }
  if (op == ReduceOp::Mean) staged[0].div_(config_.world_size);
  values.copy_(staged[0]);
}

void ProcessGroup::barrier() {
  // An all-reduce of one number: unlike c10d's barrier it needs no guess of the device NCCL should use.
  auto token = torch::zeros({1});
  allreduce(token, ReduceOp::Sum);
}

void ProcessGroup::fail(const std::string& what, const std::exception& cause) {
  std::string message = "data-parallel " + what + " failed on rank " + std::to_string(config_.rank) + " of " +
                        std::to_string(config_.world_size) + ": " + without_backtrace(cause);
  // Post-mortem through the rendezvous store: every surviving rank checks in, and whoever has not checked in
  // after a short grace period has stopped (or is stuck). If the store itself is gone, rank 0 (its host) is.
  try {
    auto roll_call = c10::make_intrusive<c10d::PrefixStore>("failure", store_);
    roll_call->set("alive/" + std::to_string(config_.rank), "1");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    std::vector<int> missing;
    while (true) {
      missing.clear();
      for (int r = 0; r < config_.world_size; ++r)
        if (!roll_call->check({"alive/" + std::to_string(r)})) missing.push_back(r);
      if (missing.empty() || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (missing.empty()) {
      message += " (every rank still answers through the rendezvous store)";
    } else {
      std::string list;
      for (int r : missing) list += (list.empty() ? "" : ", ") + std::to_string(r);
      message += " (lost rank" + std::string(missing.size() > 1 ? "s " : " ") + list +
                 ": stopped, or stuck for longer than the " + std::to_string(config_.timeout.count()) +
                 " ms timeout)";
    }
  } catch (const std::exception&) {
    message += " (lost rank 0: its rendezvous store at " + config_.master_addr + ":" +
               std::to_string(config_.master_port) + " is gone)";
  }
  throw std::runtime_error(message);
}

// ==== DataParallelSync =======================================================================================

DataParallelSync::DataParallelSync(std::shared_ptr<ProcessGroup> group, torch::nn::Module& module,
                                   const DataParallelOptions& options)
    : group_(std::move(group)) {
  auto parameters = module.parameters();
  if (parameters.empty()) throw std::invalid_argument("data parallelism needs a module with parameters");
  for (const auto& p : parameters) {
    if (p.device() != group_->device() &&
        !(group_->config().backend == CollectiveBackend::Gloo && p.device().is_cpu()))
      throw std::invalid_argument("the " + collective_backend_name(group_->config().backend) +
                                  " backend needs the model on " + group_->device().str() + ", it is on " +
                                  p.device().str());
  }
  communicator_ = group_->new_communicator();
  try {
    c10d::verify_params_across_processes(communicator_, parameters, std::nullopt);
  } catch (const std::exception& e) {
    group_->fail("check that every rank has the same parameter shapes", e);
  }
  std::vector<torch::Tensor> state = parameters;
  for (const auto& b : module.buffers()) state.push_back(b);
  {
    torch::NoGradGuard no_grad;
    try {
      c10d::broadcast_coalesced(communicator_, state, /*buffer_size=*/256 << 20, /*rank=*/0);
    } catch (const std::exception& e) {
      group_->fail("copy of rank 0's parameters", e);
    }
  }
  // Buckets in the order gradients become ready (the reverse of registration), as DistributedDataParallel does.
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      parameters, {static_cast<size_t>(options.first_bucket_bytes), static_cast<size_t>(options.bucket_bytes)},
      std::vector<bool>(parameters.size(), false));
  std::reverse(buckets.begin(), buckets.end());
  std::vector<int64_t> bucket_limits(limits.rbegin(), limits.rend());
  buckets_ = static_cast<int64_t>(buckets.size());
  std::unordered_map<size_t, std::string> names;
  size_t index = 0;
  for (const auto& item : module.named_parameters()) names[index++] = item.key();
  reducer_ = std::make_unique<c10d::Reducer>(parameters, std::move(buckets), communicator_,
                                             std::vector<bool>(parameters.size(), false), options.bucket_bytes,
                                             /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false,
                                             std::move(names), options.first_bucket_bytes,
                                             /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                                             std::move(bucket_limits));
}

DataParallelSync::~DataParallelSync() = default;

void DataParallelSync::backward(const torch::Tensor& loss) {
  try {
    // After the first step the buckets are rebuilt once in the order gradients actually arrived (collective).
    reducer_->rebuild_buckets();
    reducer_->prepare_for_forward();
    reducer_->prepare_for_backward({loss});
    // The Reducer's hooks start each bucket's all-reduce as soon as it is full and wait for all of them (and
    // write the averages into .grad) when the backward pass ends.
    loss.backward();
  } catch (const std::exception& e) {
    group_->fail("gradient all-reduce", e);
  }
}

}  // namespace mmdisco
