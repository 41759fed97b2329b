"""Exports a released MM-Diffusion base model (the official MMDisCo code's multimodal U-Net) to TorchScript as a
joint base model directory for `mmdisco sample-joint` (joint.json + module.pt, and export.json: what was exported).

Run it on a machine with a network and the official code (SonyResearch/MMDisCo, its requirements installed):

    PYTHONPATH=/path/to/MMDisCo python examples/export_mmdiffusion_torchscript.py \
        --ckpt landscape.pt --model-config /path/to/MMDisCo/conf/model/mm_diffusion/base.yaml \
        --batch 1 --out models/joint/mmdiffusion-landscape

`--random-init SEED` exports the same architecture with seeded random weights instead of a checkpoint (for timing
at the paper's size; bench/jointStep.ts makes one). `--official-dir DIR`, an extracted copy of the official code
(`git archive 3b9f84f | tar -x -C DIR` of its repository), imports only the U-Net's own files from it, so that the
export needs torch, einops and pyyaml but none of the release's other requirements (diffusers, lightning):

    python examples/export_mmdiffusion_torchscript.py --random-init 2001 --official-dir DIR \
        --model-config DIR/conf/model/mm_diffusion/base.yaml --out .cache/paper-joint/unet

What the trace fixes, and why: the module is traced for one batch size (joint.json records it) and the official
U-Net draws its cross-attention window shifts from Python's global `random` at every call; a trace records the
draws of the tracing call as constants, so the exported model uses one fixed set of shifts at every step (the
official sampler draws new ones per call). The official CrossAttentionBlock routes through a Python autograd
checkpoint function that TorchScript cannot serialise; for inference its no-checkpoint path is numerically
identical, and it is used while tracing.
"""
import argparse
import json
import logging
import os
import random
import sys
import types

import torch
import yaml

# The official U-Net initialises its output convolutions to zero; random weights get this much noise on every
# parameter so that a randomly initialised model's ε is not identically zero.
RANDOM_INIT_NOISE_STD = 0.02


def import_official_unet(official_dir):
    """The official modules the export needs: (multimodal_unet, multimodal_script_util).

    With official_dir, the packages above mmdisco/models/diffusion/mmdiffusion are not executed (their __init__s
    import diffusers and transformers) and, where lightning is absent, the official logger (a lightning
    RankedLogger, used only to log) is a plain logging adapter."""
    if official_dir is not None:
        sys.path.insert(0, os.path.abspath(official_dir))
        models = os.path.join(os.path.abspath(official_dir), "mmdisco", "models")
        for name, path in (("mmdisco.models", models), ("mmdisco.models.diffusion", os.path.join(models, "diffusion"))):
            package = types.ModuleType(name)
            package.__path__ = [path]
            sys.modules[name] = package
        try:
            import mmdisco.utils.logger  # noqa: F401
        except ImportError:
            logger = types.ModuleType("mmdisco.utils.logger")
            logger.RankedLogger = lambda name=__name__, rank_zero_only=False, extra=None: logging.LoggerAdapter(
                logging.getLogger(name), extra or {})
            sys.modules["mmdisco.utils.logger"] = logger
    from mmdisco.models.diffusion.mmdiffusion import multimodal_script_util, multimodal_unet
    return multimodal_unet, multimodal_script_util


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument("--ckpt", help="MM-Diffusion base checkpoint (state dict)")
    weights.add_argument("--random-init", type=int, metavar="SEED", help="seeded random weights instead of a checkpoint")
    parser.add_argument("--model-config", required=True, help="the official conf/model/mm_diffusion/base.yaml")
    parser.add_argument("--official-dir", help="an extracted copy of the official code (default: import it from PYTHONPATH)")
    parser.add_argument("--batch", type=int, default=1, help="batch size the module is traced for")
    parser.add_argument("--seed", type=int, default=803, help="seeds the window shifts the trace records")
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args()

    multimodal_unet, script_util = import_official_unet(args.official_dir)
    with open(args.model_config) as f:
        config = yaml.safe_load(f)
    model_flags = {k: v for k, v in config["model_flags"].items() if k != "_target_"}
    # base.yaml lists only the flags it changes; the rest are the official defaults (DiffusionFlags' defaults).
    diffusion_flags = {**script_util.diffusion_defaults(),
                       **{k: v for k, v in config["diffusion_flags"].items() if k != "_target_"}}
    if args.random_init is not None:
        torch.manual_seed(args.random_init)
    unet, _ = script_util.create_model_and_diffusion(**model_flags, **diffusion_flags)
    if args.ckpt is not None:
        unet.load_state_dict(torch.load(args.ckpt, map_location="cpu"), strict=True)
    else:
        noise = torch.Generator().manual_seed(args.random_init + 1)
        with torch.no_grad():
            for p in unet.parameters():
                p.add_(RANDOM_INIT_NOISE_STD * torch.randn(p.shape, generator=noise))
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
        "schedule": {"kind": diffusion_flags["noise_schedule"], "timesteps": diffusion_flags["diffusion_steps"]},
        "media": {"sampleRate": 16000, "fps": 10},
    }
    with open(os.path.join(args.out, "joint.json"), "w") as f:
        json.dump(joint, f, indent=2)
    export = {
        "weights": {"checkpoint": os.path.abspath(args.ckpt)} if args.ckpt is not None else
                   {"randomInit": args.random_init, "noiseStd": RANDOM_INIT_NOISE_STD},
        "modelConfig": os.path.abspath(args.model_config),
        "modelFlags": model_flags,
        "diffusionFlags": diffusion_flags,
        "parameters": sum(p.numel() for p in unet.parameters()),
        "traceSeed": args.seed,
        "torch": torch.__version__,
    }
    with open(os.path.join(args.out, "export.json"), "w") as f:
        json.dump(export, f, indent=2)
    print(f"wrote {args.out}/module.pt, joint.json and export.json ({export['parameters']:,} parameters)")


if __name__ == "__main__":
    main()
