#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "distributed.h"
#include "handle.h"
#include "js_errors.h"

namespace mmdisco_binding {

// A data-parallel process group: constructed from options and torchrun's environment (bad or missing values fail
// at once), joined with connect(). Collectives run on the group's own worker thread, one at a time (each leases the
// group for writing), because every rank must issue them in the same order.
class ProcessGroup : public JsClass<ProcessGroup>, public NativeHandle {
 public:
  explicit ProcessGroup(const Napi::CallbackInfo& info);
  static Napi::Function define(Napi::Env env);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Allreduce(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value Rank(const Napi::CallbackInfo& info);
  Napi::Value WorldSize(const Napi::CallbackInfo& info);
  Napi::Value LocalRank(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  // The joined group, or a JS error if connect() has not completed.
  std::shared_ptr<mmdisco::ProcessGroup> connected(Napi::Env env);

 private:
  // Reading group_ is safe only while no operation (connect() in particular) holds the group.
  void ensure_idle(Napi::Env env);
  mmdisco::RendezvousConfig config_;
  std::shared_ptr<mmdisco::ProcessGroup> group_;  // written by connect() on the worker, read after it settles
};

// model.setDataParallel(group, {bucketMb?, firstBucketMb?}) → Promise<{buckets}>. On the model's worker thread
// (where its backward passes run) builds the DataParallelSync over `module` (collective: every rank must call it)
// and passes it to `attach`. `uses` are the handles leased meanwhile besides the group.
Napi::Value set_data_parallel(const Napi::CallbackInfo& info, NativeHandle& self, std::vector<Use> uses,
                              torch::nn::Module& module,
                              std::function<void(std::shared_ptr<mmdisco::GradientSync>)> attach);

void register_process_group(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
