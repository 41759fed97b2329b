#pragma once
// validateNetwork(network) → the complete config (every field, as the core writes it back), or an MMDISCO_CONFIG
// error whose `field` names the bad one: how ts/ checks a network before any work starts.
#include <napi.h>

namespace mmdisco_binding {

void register_networks(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
