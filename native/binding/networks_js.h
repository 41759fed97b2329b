#pragma once
// validateNetwork(network) → the complete config (every field, as the core writes it back), or an MMDISCO_CONFIG
// error whose `field` names the bad one: how ts/ checks a network before any work starts.
// officialNetwork(document) → the network of an official MMDisCo model config (config/official.h);
// officialPreset(name) → the released model config of that name (officialPresets(): their names); readOfficialCheckpoint(path, network) → the
// {name: tensor} of a torch.save'd official state dict, checked against the network (official_checkpoint.h).
#include <napi.h>

namespace mmdisco_binding {

void register_networks(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
