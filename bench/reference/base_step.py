"""Plain-PyTorch reference of the base-model U-Nets (native/src/models/unet.cpp) and their training step
(ε-prediction MSE at uniform t, AdamW, gradient clipping, EMA), for bench/baseStep.ts.

Same architecture, parameter for parameter; the same config file (configs/base/*.json). Prints one JSON object:
per eager mode (fp32, bf16 autocast, AdamW's per-parameter loop, foreach and fused; TF32 on CUDA) training pairs/s
and sampling pairs/s (DDIM-style loop of network evaluations), medians of timed repeats, and the best of each; with
--profile, the top ops of the fastest training mode (discriminator_step.top_ops).

  python3 bench/reference/base_step.py --config configs/base/spoken-mnist-audio.json --input-shape 1,160,32 \
      --threads 2 --train-steps 10 --sample-n 8 --sample-steps 10 [--device cuda] [--profile]
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from discriminator_step import top_ops


def sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64, device=t.device) / (half - 1))
    args = t.to(torch.float64)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], 1).float()


class SpatialConv(torch.nn.Module):
    def __init__(self, video, cin, cout, k=3, kt=3):
        super().__init__()
        p = k // 2
        if not video:
            self.conv = torch.nn.Conv2d(cin, cout, k, padding=p)
            self.spatial = self.temporal = None
        else:
            self.conv = None
            self.spatial = torch.nn.Conv3d(cin, cout, (1, k, k), padding=(0, p, p))
            self.temporal = torch.nn.Conv3d(cout, cout, (kt, 1, 1), padding=(kt // 2, 0, 0)) if k > 1 else None
        self.layout = torch.contiguous_format  # see UNet.layout

    def forward(self, x):
        if self.conv is not None:
            return self.conv(x)
        h = self.spatial(x)
        return self.temporal(h.contiguous(memory_format=self.layout)) if self.temporal is not None else h


def gn(x, norm):
    return norm(x.float()).to(x.dtype)


class ResBlock(torch.nn.Module):
    def __init__(self, video, cin, cout, emb, groups, kt):
        super().__init__()
        self.norm_1 = torch.nn.GroupNorm(groups, cin)
        self.conv_1 = SpatialConv(video, cin, cout, 3, kt)
        self.modulation = torch.nn.Linear(emb, 2 * cout)
        self.norm_2 = torch.nn.GroupNorm(groups, cout)
        self.conv_2 = SpatialConv(video, cout, cout, 3, kt)
        self.skip = SpatialConv(video, cin, cout, 1, kt) if cin != cout else None

    def forward(self, x, e):
        h = self.conv_1(F.silu(gn(x, self.norm_1)))
        s, b = self.modulation(F.silu(e)).chunk(2, 1)
        shape = (h.shape[0], h.shape[1]) + (1,) * (h.dim() - 2)
        h = gn(h, self.norm_2) * (1 + s.view(shape)) + b.view(shape)
        h = self.conv_2(F.silu(h))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(torch.nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm = torch.nn.GroupNorm(groups, c)
        self.qkv = torch.nn.Linear(c, 3 * c)
        self.out = torch.nn.Linear(c, c)

    def forward(self, x):
        b, c = x.shape[:2]
        tokens = gn(x, self.norm).reshape(b, c, -1).transpose(1, 2)
        q, k, v = self.qkv(tokens).chunk(3, -1)
        return x + self.out(F.scaled_dot_product_attention(q, k, v)).transpose(1, 2).reshape(x.shape)


class UNet(torch.nn.Module):
    def __init__(self, video, cin, n):
        super().__init__()
        self.video = video
        base, mult, blocks, groups = n["baseChannels"], n["channelMult"], n["resBlocks"], n["groups"]
        kt = n.get("temporalKernel", 3)
        emb = 4 * base
        self.time_dim = n["timeDim"]
        self.levels = len(mult)
        self.blocks = blocks
        self.time_1 = torch.nn.Linear(self.time_dim, emb)
        self.time_2 = torch.nn.Linear(emb, emb)
        self.input = SpatialConv(video, cin, base, 3, kt)
        self.down = torch.nn.ModuleList()
        skips, ch = [base], base
        for level, m in enumerate(mult):
            for _ in range(blocks):
                self.down.append(ResBlock(video, ch, base * m, emb, groups, kt))
                ch = base * m
                skips.append(ch)
            if level + 1 < len(mult):
                skips.append(ch)
        self.mid_1 = ResBlock(video, ch, ch, emb, groups, kt)
        self.mid_attention = Attention(ch, groups) if n["midAttention"] else None
        self.mid_2 = ResBlock(video, ch, ch, emb, groups, kt)
        self.up = torch.nn.ModuleList()
        self.upsample_convs = torch.nn.ModuleList()
        for level in reversed(range(len(mult))):
            for _ in range(blocks + 1):
                self.up.append(ResBlock(video, ch + skips.pop(), base * mult[level], emb, groups, kt))
                ch = base * mult[level]
            if level > 0:
                self.upsample_convs.append(SpatialConv(video, ch, ch, 3, kt))
        self.output_norm = torch.nn.GroupNorm(groups, ch)
        self.output = SpatialConv(video, ch, cin, 3, kt)
        # The activations' layout. Channels-last needs them converted where an op gives a contiguous output (the
        # input convolution, which reads one channel, and its spatial half; avg_pool3d), or mixed residual sums and
        # concatenations fall back to contiguous and every convolution reorders (the native U-Net keeps the layout
        # at the same places).
        self.layout = torch.contiguous_format

    def forward(self, x_t, t):
        x = x_t.permute(0, 2, 1, 3, 4) if self.video else x_t
        multiple = 2 ** (self.levels - 1)
        rows, cols = x.shape[-2:]
        pr, pc = (-rows) % multiple, (-cols) % multiple
        if pr or pc:
            x = F.pad(x, (0, pc, 0, pr))
        e = self.time_2(F.silu(self.time_1(sinusoidal(t, self.time_dim).to(x.dtype))))
        h = self.input(x).contiguous(memory_format=self.layout)
        skips, i = [h], 0
        for level in range(self.levels):
            for _ in range(self.blocks):
                h = self.down[i](h, e)
                i += 1
                skips.append(h)
            if level + 1 < self.levels:
                h = (F.avg_pool3d(h, (1, 2, 2)) if self.video else F.avg_pool2d(h, 2)).contiguous(memory_format=self.layout)
                skips.append(h)
        h = self.mid_1(h, e)
        if self.mid_attention is not None:
            h = self.mid_attention(h)
        h = self.mid_2(h, e)
        i, u = 0, 0
        for level in reversed(range(self.levels)):
            for _ in range(self.blocks + 1):
                h = self.up[i](torch.cat([h, skips.pop()], 1), e)
                i += 1
            if level > 0:
                size = list(h.shape[2:])
                size[-1] *= 2
                size[-2] *= 2
                h = self.upsample_convs[u](F.interpolate(h, size=size, mode="nearest").contiguous(memory_format=self.layout))
                u += 1
        eps = self.output(F.silu(gn(h, self.output_norm)))
        if pr or pc:
            eps = eps[..., :rows, :cols]
        return eps.permute(0, 2, 1, 3, 4).contiguous() if self.video else eps.contiguous()


def cosine_alpha_bar(T, s=0.008):
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return torch.tensor([min(f((t + 1) / T) / f(0), 1.0) for t in range(T)], dtype=torch.float64).clamp(min=1e-5)


# The eager modes a user would pick on each device; the benchmark compares native against the fastest of them, for
# training and for sampling separately. Channels-last puts the network's weights (and so its activations) in
# channels-last (3-D for the video U-Net).
MODES = {"cpu": ("fp32", "bf16-autocast", "fp32+foreach-adamw", "fp32+fused-adamw", "fp32+channels-last",
                 "bf16-autocast+channels-last"),
         "cuda": ("fp32", "tf32", "bf16-autocast", "bf16-autocast+fused-adamw", "bf16-autocast+channels-last")}


def run_mode(a, cfg, mode, dev):
    """Training and sampling pairs/s of one eager mode, and its training step (for the profile)."""
    precision, *options = mode.split("+")
    adamw = next((o for o in options if o.endswith("adamw")), "")
    video = cfg["modality"] == "video"
    shape = [int(s) for s in a.input_shape.split(",")]
    cin = shape[1] if video else shape[0]
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    net = UNet(video, cin, cfg["network"]).to(dev)
    ema = UNet(video, cin, cfg["network"]).to(dev)
    ema.load_state_dict(net.state_dict())
    if "channels-last" in options:
        layout = torch.channels_last_3d if video else torch.channels_last
        net, ema = net.to(memory_format=layout), ema.to(memory_format=layout)
        for m in (*net.modules(), *ema.modules()):
            if isinstance(m, (UNet, SpatialConv)):
                m.layout = layout
    tr = cfg["training"]
    batch = a.batch or tr["batchSize"]
    kind = {"foreach-adamw": {"foreach": True}, "fused-adamw": {"fused": True}}.get(adamw, {"foreach": False})
    opt = torch.optim.AdamW(net.parameters(), lr=tr["lr"], weight_decay=tr["weightDecay"], **kind)
    alpha_bar = cosine_alpha_bar(cfg["schedule"].get("timesteps", 1000)).to(dev)
    x0 = torch.randn([batch] + shape, device=dev)
    cast = lambda: torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == "bf16-autocast")

    def step():
        t = torch.randint(0, len(alpha_bar), (batch,), device=dev)
        noise = torch.randn_like(x0)
        ab = alpha_bar[t].float().view([-1] + [1] * len(shape))
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        with cast():
            pred = net(x_t, t)
        loss = F.mse_loss(pred.float(), noise)
        opt.zero_grad()
        loss.backward()
        if tr["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), tr["gradClip"])
        opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1 - tr["emaDecay"])
        return loss.item()

    def timed(fn, repeats):
        times = []
        for i in range(a.warmup + repeats):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if i >= a.warmup:
                times.append(time.perf_counter() - start)
        return statistics.median(times)

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train_s = timed(step, a.train_steps)
    peak_mib = torch.cuda.max_memory_allocated() / 2 ** 20 if dev.type == "cuda" else None
    ema.eval()
    x = torch.randn([a.sample_n] + shape, device=dev)

    def sample():
        with torch.no_grad(), cast():
            h = x
            for s in range(a.sample_steps):
                t = torch.full((a.sample_n,), 999 - s * (1000 // a.sample_steps), dtype=torch.int64, device=dev)
                h = h - 0.01 * ema(h, t).float()
        return h

    sample_s = timed(sample, 3)
    return {"mode": mode, "parameters": sum(p.numel() for p in net.parameters()), "batch": batch,
            "trainPairsPerSecond": batch / train_s, "samplePairsPerSecond": a.sample_n / sample_s,
            "peakMemoryMiB": peak_mib}, step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--input-shape", required=True, help="one model input without the batch axis, e.g. 8,1,16,16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=0, help="default: the config's batch size")
    p.add_argument("--train-steps", type=int, default=10)
    p.add_argument("--sample-n", type=int, default=8)
    p.add_argument("--sample-steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--modes", help="comma-separated eager modes (default: every mode of the device)")
    p.add_argument("--profile", action="store_true", help="also the top ops of the fastest mode's training step")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config))
    dev = torch.device(a.device)
    runs = [run_mode(a, cfg, mode, dev) for mode in (a.modes.split(",") if a.modes else MODES[dev.type])]
    modes = [m for m, _ in runs]
    best_train, best_step = max(runs, key=lambda run: run[0]["trainPairsPerSecond"])
    best_sample = max(modes, key=lambda m: m["samplePairsPerSecond"])
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(dev),
        "parameters": modes[0]["parameters"],
        "batch": modes[0]["batch"],
        "sampleN": a.sample_n,
        "sampleSteps": a.sample_steps,
        "bestTrainMode": best_train["mode"],
        "trainPairsPerSecond": best_train["trainPairsPerSecond"],
        "bestSampleMode": best_sample["mode"],
        "samplePairsPerSecond": best_sample["samplePairsPerSecond"],
        "modes": modes,
        "topOps": top_ops(best_step, dev) if a.profile else None,
        # CUDA: the allocator's high-water mark over the training steps of every mode; CPU: the process's peak
        # resident set over every mode (ru_maxrss is in KiB on Linux).
        "peakMemoryMiB": max(m["peakMemoryMiB"] for m in modes) if dev.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
