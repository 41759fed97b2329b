// The JS ProcessGroup class and setDataParallel for trainable models.
#include "process_group.h"

#include "convert.h"
#include "js_errors.h"

namespace mmdisco_binding {

namespace {

mmdisco::RendezvousRequest parse_rendezvous(const Options& o) {
  mmdisco::RendezvousRequest r;
  auto optional_int = [&](const char* key, std::optional<int>& out) {
    if (o.has(key)) out = static_cast<int>(o.integer(key));
  };
  optional_int("rank", r.rank);
  optional_int("worldSize", r.world_size);
  optional_int("localRank", r.local_rank);
  optional_int("masterPort", r.master_port);
  if (o.has("masterAddr")) r.master_addr = o.string("masterAddr");
  auto backend = o.string("backend", "gloo");
  if (backend != "gloo" && backend != "nccl") o.fail("backend", "must be 'gloo' or 'nccl', got '" + backend + "'");
  r.backend = mmdisco::parse_collective_backend(backend);
  if (o.has("timeoutMs")) {
    if (o.integer("timeoutMs") < 1) o.fail("timeoutMs", "must be a positive integer");
    r.timeout = std::chrono::milliseconds(o.integer("timeoutMs"));
  }
  return r;
}

mmdisco::ReduceOp parse_reduce_op(Napi::Value value) {
  if (value.IsUndefined()) return mmdisco::ReduceOp::Sum;
  std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (name == "sum") return mmdisco::ReduceOp::Sum;
  if (name == "mean") return mmdisco::ReduceOp::Mean;
  throw mmdisco::ConfigError("op", "must be 'sum' or 'mean'", "allreduce");
}

}  // namespace

ProcessGroup::ProcessGroup(const Napi::CallbackInfo& info)
    : JsClass<ProcessGroup>(info), NativeHandle("ProcessGroup", Worker::for_threads(1)) {
  Napi::Value options = info.Length() > 0 && !info[0].IsUndefined() ? info[0] : Napi::Object::New(info.Env());
  auto request = guarded(info.Env(), "", [&] { return parse_rendezvous(Options(options, "ProcessGroup")); });
  config_ = guarded(info.Env(), "ProcessGroup", [&] { return mmdisco::complete_rendezvous(request); });
}

Napi::Value ProcessGroup::Connect(const Napi::CallbackInfo& info) {
  ensure_idle(info.Env());
  if (group_) throw mmdisco::Error(mmdisco::ErrorCode::Runtime, "ProcessGroup: connect() was already called");
  auto config = config_;
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This()}, [this, config]() -> mmdisco::NamedTensors {
    group_ = std::make_shared<mmdisco::ProcessGroup>(config);
    return {};
  });
}

void ProcessGroup::ensure_idle(Napi::Env) {
  if (lease_state().load() != 0)
    throw mmdisco::Error(mmdisco::ErrorCode::Busy,
                         "busy: this ProcessGroup is in use by an unfinished asynchronous operation; await it first");
}

std::shared_ptr<mmdisco::ProcessGroup> ProcessGroup::connected(Napi::Env env) {
  ensure_idle(env);
  if (!group_) throw mmdisco::Error(mmdisco::ErrorCode::Runtime, "ProcessGroup: call (and await) connect() first");
  return group_;
}

Napi::Value ProcessGroup::Allreduce(const Napi::CallbackInfo& info) {
  auto group = connected(info.Env());
  auto values = tensor_from_js(info[0], "values");
  auto op = parse_reduce_op(info[1]);
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This(), info[0]}, [group, values, op]() -> mmdisco::NamedTensors {
    auto reduced = values.clone();  // the caller's array stays unchanged
    group->allreduce(reduced, op);
    return {{"values", reduced}};
  });
}

Napi::Value ProcessGroup::Barrier(const Napi::CallbackInfo& info) {
  auto group = connected(info.Env());
  return run_async(info.Env(), *this, {{this, Access::Write}}, {info.This()}, [group]() -> mmdisco::NamedTensors {
    group->barrier();
    return {};
  });
}

Napi::Value ProcessGroup::Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), config_.rank); }
Napi::Value ProcessGroup::WorldSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), config_.world_size);
}
Napi::Value ProcessGroup::LocalRank(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), config_.local_rank);
}
Napi::Value ProcessGroup::Backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), mmdisco::collective_backend_name(config_.backend));
}
Napi::Value ProcessGroup::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), mmdisco::collective_device(config_).str());
}

Napi::Value set_data_parallel(const Napi::CallbackInfo& info, NativeHandle& self, std::vector<Use> uses,
                              torch::nn::Module& module,
                              std::function<void(std::shared_ptr<mmdisco::GradientSync>)> attach) {
  auto env = info.Env();
  auto* pg = dynamic_cast<ProcessGroup*>(unwrap_handle(info[0], "setDataParallel: group"));
  if (!pg) throw mmdisco::Error(mmdisco::ErrorCode::Argument, "setDataParallel: group must be a ProcessGroup");
  auto group = pg->connected(env);
  mmdisco::DataParallelOptions options;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    Options o(info[1], "setDataParallel");
    auto bytes = [&](const char* key, int64_t fallback) {
      if (!o.has(key)) return fallback;
      if (o.number(key) <= 0) o.fail(key, "must be a positive number of MiB");
      return static_cast<int64_t>(o.number(key) * (1 << 20));
    };
    options.bucket_bytes = bytes("bucketMb", options.bucket_bytes);
    options.first_bucket_bytes = bytes("firstBucketMb", options.first_bucket_bytes);
  }
  // The group is leased too: the communicators it hands out are numbered, so ranks must create them in one order.
  uses.push_back({pg, Access::Write});
  return run_async(env, self, uses, {info.This(), info[0]},
                   [group, &module, options, attach]() -> mmdisco::NamedTensors {
                     auto sync = std::make_shared<mmdisco::DataParallelSync>(group, module, options);
                     attach(sync);
                     return {{"buckets", torch::tensor(sync->bucket_count())}};
                   });
}

Napi::Function ProcessGroup::define(Napi::Env env) {
  return DefineClass(env, "ProcessGroup",
                     {method<&ProcessGroup::Connect>("connect"), method<&ProcessGroup::Allreduce>("allreduce"),
                      method<&ProcessGroup::Barrier>("barrier"), getter<&ProcessGroup::Rank>("rank"),
                      getter<&ProcessGroup::WorldSize>("worldSize"), getter<&ProcessGroup::LocalRank>("localRank"),
                      getter<&ProcessGroup::Backend>("backend"), getter<&ProcessGroup::Device>("device")});
}

void register_process_group(Napi::Env env, Napi::Object exports) {
  auto cls = ProcessGroup::define(env);
  register_handle_class(env, cls, [](Napi::Object o) -> NativeHandle* { return ProcessGroup::Unwrap(o); });
  exports.Set("ProcessGroup", cls);
}

}  // namespace mmdisco_binding
