#pragma once
// Network configs: each network's options are one C++ struct with its defaults (in its model header), parsed and
// validated from JSON here, by one function per network, and written back to JSON (the weights' metadata). The
// presets, released settings and the defaults of the project's config files, are data in one table
// (networks.cpp). Every error is a ConfigError naming the field.
//
// A network's JSON is {kind, preset?, ...fields}; kinds: "mlp" and "video-unet" / "audio-unet" (ε-networks),
// "toy-mlp" and "mmdisco" (discriminator networks).
#include <string>
#include <variant>
#include <vector>

#include "json.h"
#include "models/mlp_eps.h"
#include "models/mmdisco_discriminator.h"
#include "models/toy_discriminator.h"
#include "models/unet.h"

namespace mmdisco {

MlpEpsConfig parse_mlp_eps_network(const Json& json);
UNetConfig parse_unet_network(const Json& json);
ToyDiscriminatorConfig parse_toy_discriminator_network(const Json& json);
// Without a preset, "audioldm-animatediff"; the fields given override the preset's.
DiscriminatorNetworkConfig parse_discriminator_network(const Json& json);

Json to_json(const MlpEpsConfig& config);
Json to_json(const UNetConfig& config);
Json to_json(const ToyDiscriminatorConfig& config);
Json to_json(const DiscriminatorNetworkConfig& config);

using EpsNetworkConfig = std::variant<MlpEpsConfig, UNetConfig>;
using DiscriminatorNetworkVariant = std::variant<ToyDiscriminatorConfig, DiscriminatorNetworkConfig>;
// By "kind"; a kind of the other family is a ConfigError on "kind".
EpsNetworkConfig parse_eps_network(const Json& json);
DiscriminatorNetworkVariant parse_discriminator_network_of_any_kind(const Json& json);

// Any kind: the complete config (every field, no preset) as JSON, or a ConfigError naming the field.
Json validate_network(const Json& json);

// The names of the presets of a kind, in table order.
std::vector<std::string> network_presets(const std::string& kind);

}  // namespace mmdisco
