#pragma once
// The released MMDisCo checkpoints: zip-format `torch.save` files of a state dict, read without Python. The pickle
// is decoded by a small unpickler that knows exactly the opcodes and globals a saved state dict uses
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, typed storages such as
// torch.FloatStorage loaded from the archive's data/<key> records, and the type tags of libtorch's own pickler);
// anything else is refused by name, so a checkpoint can never run code.
#include <torch/torch.h>

#include <string>

#include "module_state.h"

namespace mmdisco {

// The tensors of the state dict in `path`, in file order. Accepted: a bare state dict, one whose keys all carry
// the `residual_predictor.` prefix of the official training module (stripped), and a dict holding either under
// 'state_dict' or 'model'. Errors (MMDISCO_CONFIG) name the file and what it holds instead.
NamedTensors read_official_state_dict(const std::string& path);

// `state` checked against `module`'s parameters and returned in the module's order and dtypes, contiguous: missing and unexpected keys
// are all named (MMDISCO_CONFIG), a wrong shape names the key and both shapes (MMDISCO_SHAPE), a NaN or infinity
// names the tensor (MMDISCO_NON_FINITE). `source` words where the tensors came from in the messages.
NamedTensors match_state_dict(const NamedTensors& state, const torch::nn::Module& module, const std::string& source);

}  // namespace mmdisco
