#include "handle.h"

#include <algorithm>

#include "convert.h"
#include "js_errors.h"
#include "js_json.h"

namespace mmdisco_binding {

Leases::Leases(Napi::Env, const std::vector<Use>& uses) {
  for (const auto& use : uses) {
    auto& state = use.handle->lease_state();
    bool already = std::any_of(held_.begin(), held_.end(), [&](const Use& u) { return u.handle == use.handle; });
    if (already) continue;
    int current = state.load();
    bool acquired;
    do {
      acquired = use.access == Access::Read ? current >= 0 : current == 0;
    } while (acquired && !state.compare_exchange_weak(current, use.access == Access::Read ? current + 1 : -1));
    if (!acquired) {
      release();
      throw mmdisco::Error(mmdisco::ErrorCode::Busy, "busy: this " + use.handle->kind() +
                                                         " is in use by an unfinished asynchronous operation; await it first");
    }
    held_.push_back(use);
  }
}

void Leases::release() {
  for (const auto& use : held_) {
    if (use.access == Access::Read) {
      use.handle->lease_state().fetch_sub(1);
    } else {
      use.handle->lease_state().store(0);
    }
  }
  held_.clear();
}

namespace {

template <typename Result>
struct AsyncCall {
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> keep_alive;
  std::unique_ptr<Leases> leases;
  std::function<Result()> work;
  Result result;
  std::exception_ptr error;  // set when the work failed
  Napi::ThreadSafeFunction tsfn;
  explicit AsyncCall(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

// Outputs leave the worker as contiguous CPU tensors, so the JS thread only copies memory.
void leave_worker(mmdisco::NamedTensors& tensors) {
  for (auto& [name, t] : tensors) t = t.detach().to(torch::kCPU).contiguous();
}
void leave_worker(mmdisco::Json&) {}

Napi::Value result_to_js(Napi::Env env, const mmdisco::NamedTensors& tensors) { return named_tensors_to_js(env, tensors); }
Napi::Value result_to_js(Napi::Env env, const mmdisco::Json& json) { return json_to_js(env, json); }

template <typename Result>
void settle(Napi::Env env, Napi::Function, AsyncCall<Result>* call) {
  std::unique_ptr<AsyncCall<Result>> owned(call);
  if (env == nullptr) return;  // environment shutting down
  Napi::HandleScope scope(env);
  if (call->error) {
    call->deferred.Reject(js_error(env, call->error).Value());
    return;
  }
  try {
    call->deferred.Resolve(result_to_js(env, call->result));
  } catch (const Napi::Error& e) {
    call->deferred.Reject(e.Value());
  }
}

template <typename Result>
Napi::Promise run_on_worker(Napi::Env env, NativeHandle& runner, const std::vector<Use>& uses,
                            const std::vector<Napi::Value>& keep_alive, std::function<Result()> work) {
  auto call = std::make_unique<AsyncCall<Result>>(env);
  call->leases = std::make_unique<Leases>(env, uses);
  for (const auto& v : keep_alive) {
    if (v.IsObject()) call->keep_alive.push_back(Napi::Persistent(v));  // primitives need no keeping
  }
  call->work = std::move(work);
  call->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                             "mmdisco", 0, 1);
  auto promise = call->deferred.Promise();
  AsyncCall<Result>* raw = call.release();
  runner.worker()->post([raw] {
    try {
      raw->result = raw->work();
      leave_worker(raw->result);
    } catch (...) {
      raw->error = std::current_exception();
    }
    raw->work = nullptr;
    raw->leases->release();
    // settle() frees the call on the JS thread, possibly before BlockingCall returns: use a copy of the handle.
    Napi::ThreadSafeFunction tsfn = raw->tsfn;
    tsfn.BlockingCall(raw, settle<Result>);
    tsfn.Release();
  });
  return promise;
}

}  // namespace

Napi::Promise run_async(Napi::Env env, NativeHandle& runner, const std::vector<Use>& uses,
                        const std::vector<Napi::Value>& keep_alive, std::function<mmdisco::NamedTensors()> work) {
  return run_on_worker(env, runner, uses, keep_alive, std::move(work));
}

Napi::Promise run_async_json(Napi::Env env, NativeHandle& runner, const std::vector<Use>& uses,
                             const std::vector<Napi::Value>& keep_alive, std::function<mmdisco::Json()> work) {
  return run_on_worker(env, runner, uses, keep_alive, std::move(work));
}

namespace {

struct HandleClass {
  Napi::FunctionReference constructor;
  std::function<NativeHandle*(Napi::Object)> unwrap;
};

std::vector<std::unique_ptr<HandleClass>>& handle_classes() {
  static std::vector<std::unique_ptr<HandleClass>> classes;
  return classes;
}

}  // namespace

void register_handle_class(Napi::Env, Napi::Function constructor, std::function<NativeHandle*(Napi::Object)> unwrap) {
  auto c = std::make_unique<HandleClass>();
  c->constructor = Napi::Persistent(constructor);
  c->constructor.SuppressDestruct();
  c->unwrap = std::move(unwrap);
  handle_classes().push_back(std::move(c));
}

NativeHandle* unwrap_handle(Napi::Value value, const std::string& what) {
  if (value.IsObject()) {
    auto obj = value.As<Napi::Object>();
    for (const auto& c : handle_classes()) {
      if (obj.InstanceOf(c->constructor.Value())) return c->unwrap(obj);
    }
  }
  throw mmdisco::Error(mmdisco::ErrorCode::Argument, what + " must be an object created by the mmdisco native addon");
}

}  // namespace mmdisco_binding
