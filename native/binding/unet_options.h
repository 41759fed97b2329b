#pragma once
// Options of the base-model U-Nets ({kind: 'video-unet' | 'audio-unet', ...}), read for EpsModel.
#include <napi.h>

#include "convert.h"
#include "models/unet.h"

namespace mmdisco_binding {

// True for the network kinds this reader handles.
bool is_unet_kind(const std::string& kind);
mmdisco::UNetConfig parse_unet_network(const Options& network);

}  // namespace mmdisco_binding
