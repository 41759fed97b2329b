#include "audio.h"

#include "convert.h"
#include "griffin_lim.h"
#include "handle.h"
#include "js_errors.h"

namespace mmdisco_binding {

namespace {

// griffinLim({logMel: (N, frames, M), filterbank: (M, nFft/2+1), nFft, hop, iterations?, seed?}) → (N, frames·hop).
// Synchronous: a few clips take well under a second.
Napi::Value GriffinLim(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "griffinLim", [&] {
    Options o(info[0], "griffinLim");
    mmdisco::GriffinLimConfig c;
    c.n_fft = o.integer("nFft");
    c.hop = o.integer("hop");
    c.iterations = o.integer("iterations", c.iterations);
    c.momentum = o.number("momentum", c.momentum);
    c.seed = static_cast<uint64_t>(o.integer("seed", 0));
    auto wave = mmdisco::griffin_lim(tensor_from_js(o.value("logMel"), "logMel"),
                                     tensor_from_js(o.value("filterbank"), "filterbank"), c);
    return tensor_to_js(info.Env(), wave);
  });
}

}  // namespace

void register_audio(Napi::Env env, Napi::Object exports) {
  exports.Set("griffinLim", Napi::Function::New(env, GriffinLim, "griffinLim"));
}

}  // namespace mmdisco_binding
