#pragma once
// The official MMDisCo model configs (the release's conf/model/*.yaml, read as JSON) as this project's
// discriminator network: the `residual_predictor` arguments give the sizes, the pipeline (`_target_` and the audio
// model) gives the layouts its call site passes. Options of the official module that this network has no
// equivalent for are ConfigErrors naming the official field. The released configs are data in one table here.
#include <string>
#include <vector>

#include "json.h"

namespace mmdisco {

// The complete network JSON (kind "mmdisco", every field) of an official config document: a model YAML
// ({_target_, residual_predictor, audio_diffusion, …}), or a parity fixture's config.json (its
// "MultimodalDiscriminator.__init__" arguments and "forward_kwargs").
Json official_network(const Json& document);

// The model document of a released configuration (its residual_predictor and what names the call site), and
// their names in table order.
Json official_preset(const std::string& name);
std::vector<std::string> official_presets();

}  // namespace mmdisco
