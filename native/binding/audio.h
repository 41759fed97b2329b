#pragma once
#include <napi.h>

namespace mmdisco_binding {

// Exports griffinLim(): waveforms from log-mel spectrograms, for listening to generated audio.
void register_audio(Napi::Env env, Napi::Object exports);

}  // namespace mmdisco_binding
