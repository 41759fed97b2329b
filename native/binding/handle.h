#pragma once
// What every native object exposed to JS has in common: the worker thread it runs on, a readers/writer lease so
// that an operation that would conflict with one in flight fails fast ("busy") instead of blocking the JS
// thread, and the ε-source / critic it offers.
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eps_source.h"
#include "guidance.h"
#include "json.h"
#include "module_state.h"
#include "worker.h"

namespace mmdisco_binding {

class NativeHandle {
 public:
  NativeHandle(std::string kind, std::shared_ptr<Worker> worker) : kind_(std::move(kind)), worker_(std::move(worker)) {}
  virtual ~NativeHandle() = default;
  const std::string& kind() const { return kind_; }
  const std::shared_ptr<Worker>& worker() const { return worker_; }
  // 0: idle; n > 0: n operations reading it (inference); −1: one operation writing it (training, loading).
  std::atomic<int>& lease_state() { return lease_state_; }
  virtual std::shared_ptr<mmdisco::EpsSource> eps_source() { return nullptr; }
  virtual std::shared_ptr<mmdisco::JointEpsSource> joint_eps_source() { return nullptr; }
  virtual std::shared_ptr<mmdisco::JointCritic> critic() { return nullptr; }

 protected:
  // Set once while constructing, before any operation can run.
  void set_worker(std::shared_ptr<Worker> worker) { worker_ = std::move(worker); }

 private:
  std::string kind_;
  std::shared_ptr<Worker> worker_;
  std::atomic<int> lease_state_{0};
};

enum class Access { Read, Write };
struct Use {
  NativeHandle* handle;
  Access access;
};

// Leases every handle (many readers or one writer each), or throws a Busy error naming the one in conflicting use.
class Leases {
 public:
  Leases(Napi::Env env, const std::vector<Use>& uses);
  void release();
  ~Leases() { release(); }

 private:
  std::vector<Use> held_;
};

// Runs `work` on `runner`'s worker thread while every handle in `uses` is leased, keeping the JS values in
// `keep_alive` (input arrays, the objects involved) alive; resolves with the named outputs, each CPU tensor
// copied into a fresh typed array (0-dim tensors become numbers); a failure rejects with js_error (errors.h).
Napi::Promise run_async(Napi::Env env, NativeHandle& runner, const std::vector<Use>& uses,
                        const std::vector<Napi::Value>& keep_alive, std::function<mmdisco::NamedTensors()> work);
// As run_async, resolving with plain data (a JSON value: objects, arrays, strings, numbers) instead of tensors.
Napi::Promise run_async_json(Napi::Env env, NativeHandle& runner, const std::vector<Use>& uses,
                             const std::vector<Napi::Value>& keep_alive, std::function<mmdisco::Json()> work);

// The NativeHandle behind a JS object created by this addon, or a TypeError naming `what`.
NativeHandle* unwrap_handle(Napi::Value value, const std::string& what);
void register_handle_class(Napi::Env env, Napi::Function constructor,
                           std::function<NativeHandle*(Napi::Object)> unwrap);

}  // namespace mmdisco_binding
