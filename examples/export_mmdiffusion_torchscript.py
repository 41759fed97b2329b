"""Exports a released MM-Diffusion base model (the official MMDisCo code's multimodal U-Net) to TorchScript as a
joint base model directory for `mmdisco sample-joint` (joint.json + module.pt).

Run it on a machine with a network and the official code (SonyResearch/MMDisCo, its requirements installed):

    PYTHONPATH=/path/to/MMDisCo python examples/export_mmdiffusion_torchscript.py \
        --ckpt landscape.pt --model-config /path/to/MMDisCo/conf/model/mm_diffusion/base.yaml \
        --batch 1 --out models/joint/mmdiffusion-landscape

What the trace fixes, and why: the module is traced for one batch size (joint.json records it) and the official
U-Net draws its cross-attention window shifts from Python's global `random` at every call; a trace records the
draws of the tracing call as constants, so the exported model uses one fixed set of shifts at every step (the
official sampler draws new ones per call). The official CrossAttentionBlock routes through a Python autograd
checkpoint function that TorchScript cannot serialise; for inference its no-checkpoint path is numerically
identical, and it is used while tracing.
"""
import argparse
import json
import os
import random

import torch
import yaml

from mmdisco.models.diffusion.mmdiffusion import multimodal_unet
from mmdisco.models.diffusion.mmdiffusion.multimodal_script_util import create_model_and_diffusion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True, help="MM-Diffusion base checkpoint (state dict)")
    parser.add_argument("--model-config", required=True, help="the official conf/model/mm_diffusion/base.yaml")
    parser.add_argument("--batch", type=int, default=1, help="batch size the module is traced for")
    parser.add_argument("--seed", type=int, default=803, help="seeds the window shifts the trace records")
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args()

    with open(args.model_config) as f:
        config = yaml.safe_load(f)
    model_flags = {k: v for k, v in config["model_flags"].items() if k != "_target_"}
    diffusion_flags = {k: v for k, v in config["diffusion_flags"].items() if k != "_target_"}
    unet, _ = create_model_and_diffusion(**model_flags, **diffusion_flags)
    unet.load_state_dict(torch.load(args.ckpt, map_location="cpu"), strict=True)
    unet.eval()

    video_shape, audio_shape = list(model_flags["video_size"]), list(model_flags["audio_size"])
    video = torch.randn([args.batch, *video_shape])
    audio = torch.randn([args.batch, *audio_shape])
    t = torch.full([args.batch], 999, dtype=torch.int64)
    random.seed(args.seed)
    multimodal_unet.checkpoint = lambda func, inputs, params, flag: func(*inputs)
    with torch.no_grad():
        traced = torch.jit.trace(unet, (video, audio, t), check_trace=False)

    os.makedirs(args.out, exist_ok=True)
    traced.save(os.path.join(args.out, "module.pt"))
    joint = {
        "module": "module.pt",
        "arguments": ["video", "audio"],
        "shapes": {"audio": audio_shape, "video": video_shape},
        "batch": args.batch,
        "schedule": {"kind": diffusion_flags.get("noise_schedule", "linear"), "timesteps": diffusion_flags.get("diffusion_steps", 1000)},
        "media": {"sampleRate": 16000, "fps": 10},
    }
    with open(os.path.join(args.out, "joint.json"), "w") as f:
        json.dump(joint, f, indent=2)
    print(f"wrote {args.out}/module.pt and joint.json")


if __name__ == "__main__":
    main()
