#pragma once
#include <napi.h>

namespace mmdisco_binding {

// Exports symmetricEigen(), symmetricSqrt() and frechetDistance() (native/src/linalg.h), for the evaluation metrics.
void register_linalg(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
