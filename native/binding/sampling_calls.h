#pragma once
// The free functions of sampling: sample() (mmdisco::sample_sources) and scheduleAlphaBar().
#include <napi.h>

namespace mmdisco_binding {

void register_sampling(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
