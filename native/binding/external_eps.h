#pragma once
#include <napi.h>

namespace mmdisco_binding {

// Exports TorchScriptEps: an external ε-model (a TorchScript module with forward(x_t, t) -> eps) and its schedule.
void register_torchscript_eps(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
