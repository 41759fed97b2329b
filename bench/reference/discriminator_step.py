"""Plain PyTorch reference of the MMDisCo discriminator (spec §3) and its training step (spec §2.4).

The same module (released key names, so parameter counts compare one to one), the same loss (BCE on a real and
a fake batch + λ_den · denoising loss through the input gradient, double backward), AdamW, and the same guided
sampling step (forward + input gradient), for side-by-side timing with bench/discriminatorStep.ts.

  python3 bench/reference/discriminator_step.py --json '{"preset": "mmdiffusion", "frames": 4, ...}'

prints one JSON object: per eager mode (fp32, bf16 autocast, channels-last; TF32 on CUDA, cudnn.benchmark on;
AdamW's per-parameter loop, foreach or fused)
the median milliseconds per training step and its phases, guidance call and forward, peak memory on CUDA; the
best of them; and, with "profile": true, the top ops of the best mode's training step.
"""
import argparse
import resource
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "audioldm-animatediff": dict(video_channels=4, audio_channels=8, audio_conv="2d", max_dilation=1, blocks=4,
                                 video_text_dim=768, audio_text_dim=512, fusion="A"),
    "auffusion-videocrafter2": dict(video_channels=4, audio_channels=4, audio_conv="2d", max_dilation=1, blocks=4,
                                    video_text_dim=1024, audio_text_dim=768, fusion="B"),
    "mmdiffusion": dict(video_channels=3, audio_channels=1, audio_conv="1d", max_dilation=10, blocks=2,
                        video_text_dim=0, audio_text_dim=0, fusion="A"),
}


def sinusoid(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64, device=t.device) / (half - 1))
    args = t.double()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class Projection(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear_1 = nn.Linear(dim, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, t):
        return self.linear_2(F.silu(self.linear_1(sinusoid(t, self.linear_1.in_features).to(self.linear_1.weight.dtype))))


class TimeEmbed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.projection = Projection(dim)

    def forward(self, t):
        return self.projection(t)


class GN(nn.Module):
    def __init__(self, channels, affine):
        super().__init__()
        self.GroupNorm = nn.GroupNorm(32, channels, affine=affine)

    def forward(self, x):
        return self.GroupNorm(x.float()).to(x.dtype) if x.dtype not in (torch.float32, torch.float64) else self.GroupNorm(x)


class VideoConv(nn.Module):  # (B, C, F, H, W), per-frame k×k then per-pixel k-tap
    def __init__(self, cin, cout, k):
        super().__init__()
        self.video_conv_spatial = nn.Conv2d(cin, cout, k, padding="same")
        self.video_conv_temporal = nn.Conv1d(cout, cout, k, padding="same")

    def forward(self, x):
        b, c, f, h, w = x.shape
        y = self.video_conv_spatial(x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w))
        c2 = y.shape[1]
        y = y.reshape(b, f, c2, h, w).permute(0, 3, 4, 2, 1).reshape(b * h * w, c2, f)
        y = self.video_conv_temporal(y)
        return y.reshape(b, h, w, c2, f).permute(0, 3, 4, 1, 2)


class Named(nn.Module):
    def __init__(self, name, module):
        super().__init__()
        self.add_module(name, module)
        self.inner = [module]

    def forward(self, x):
        return self.inner[0](x)


def audio_conv(one_d, cin, cout, k, dilation=1):
    if one_d:
        return nn.Conv1d(cin, cout, k, padding="same", dilation=dilation)
    return nn.Conv2d(cin, cout, k, padding="same")


class ScaleShift(nn.Module):
    def __init__(self, channels, emb):
        super().__init__()
        self.norm = GN(channels, False)
        self.projection = nn.Sequential(nn.SiLU(), nn.Linear(emb, 2 * channels))

    def forward(self, h, e):
        s, b = self.projection(e).chunk(2, 1)
        shape = (h.shape[0], h.shape[1]) + (1,) * (h.dim() - 2)
        return self.norm(h) * (1 + s.reshape(shape)) + b.reshape(shape)


class ResBlock(nn.Module):
    def __init__(self, cfg, cin, cout, down, dilation, width_t):
        super().__init__()
        self.down, self.one_d = down, cfg["audio_conv"] == "1d"
        for prefix, video in (("video", True), ("audio", False)):
            conv = VideoConv(cin, cout, 3) if video else Named("audio_conv", audio_conv(self.one_d, cin, cout, 3, dilation))
            setattr(self, f"{prefix}_in_layers", nn.ModuleList([GN(cin, True), nn.SiLU(), conv]))
            pw = nn.Conv3d(cout, cout, 1) if video else audio_conv(self.one_d, cout, cout, 1)
            nn.init.zeros_(pw.weight)
            nn.init.zeros_(pw.bias)
            name = "video_conv" if video else "audio_conv"
            setattr(self, f"{prefix}_out_layers",
                    nn.ModuleList([ScaleShift(cout, width_t), nn.SiLU(), nn.Identity(), Named(name, pw)]))
            if cin != cout:
                skip = nn.Conv3d(cin, cout, 1) if video else audio_conv(self.one_d, cin, cout, 1)
                setattr(self, f"{prefix}_skip_connection", Named(name, skip))

    def branch(self, prefix, x, e, video):
        ins, outs = getattr(self, f"{prefix}_in_layers"), getattr(self, f"{prefix}_out_layers")
        h = ins[2](F.silu(ins[0](x)))
        if self.down:
            pool = (lambda y: F.avg_pool3d(y, (1, 2, 2))) if video else (
                (lambda y: F.avg_pool1d(y, 4)) if self.one_d else (lambda y: F.avg_pool2d(y, (1, 2))))
            h, x = pool(h), pool(x)
        h = outs[3](F.silu(outs[0](h, e)))
        skip = getattr(self, f"{prefix}_skip_connection", None)
        return (skip(x) if skip is not None else x) + h

    def forward(self, v, a, ev, ea):
        return self.branch("video", v, ev, True), self.branch("audio", a, ea, False)


class InputBlock(nn.Module):
    def __init__(self, cfg, width):
        super().__init__()
        self.video_conv = VideoConv(cfg["video_channels"], width, 3)
        self.audio_conv = Named("audio_conv", audio_conv(cfg["audio_conv"] == "1d", cfg["audio_channels"], width, 3))

    def forward(self, v, a):
        return self.video_conv(v), self.audio_conv(a)


class FeatureExtractor(nn.Module):
    def __init__(self, cfg, width, mult, time_dim):
        super().__init__()
        blocks = [InputBlock(cfg, width)]
        ch, k = width, 0
        for level, m in enumerate(mult):
            for _ in range(cfg["blocks"]):
                k += 1
                blocks.append(ResBlock(cfg, ch, width * m, False, 2 ** (k % cfg["max_dilation"]), time_dim))
                ch = width * m
            if level + 1 < len(mult):
                k += 1
                blocks.append(ResBlock(cfg, ch, ch, True, 2 ** (k % cfg["max_dilation"]), time_dim))
        self.input_blocks = nn.ModuleList([nn.ModuleList([b]) for b in blocks])
        self.out_channels = ch

    def forward(self, v, a, ev, ea):
        v, a = self.input_blocks[0][0](v, a)
        for blk in self.input_blocks[1:]:
            v, a = blk[0](v, a, ev, ea)
        return v, a


class Attention(nn.Module):
    def __init__(self, width, heads=8, dim=64):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.to_q = nn.Linear(width, heads * dim, bias=False)
        self.to_k = nn.Linear(width, heads * dim, bias=False)
        self.to_v = nn.Linear(width, heads * dim, bias=False)
        self.to_out = nn.Linear(heads * dim, width)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = (f(x).reshape(b, n, self.heads, self.dim).transpose(1, 2) for f in (self.to_q, self.to_k, self.to_v))
        w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.dim), -1)  # math path: double backward works
        return self.to_out((w @ v).transpose(1, 2).reshape(b, n, -1))


class FF(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(nn.Sequential(nn.Linear(width, 4 * width), nn.GELU()), nn.Identity(),
                                 nn.Linear(4 * width, width))


class Layers(nn.Module):
    def __init__(self, width, n):
        super().__init__()
        mods = []
        for _ in range(n):
            mods.append(nn.ModuleList([nn.LayerNorm(width), Attention(width)]))
            mods.append(nn.ModuleList([nn.LayerNorm(width), FF(width)]))
        self.layers = nn.ModuleList(mods)


class PosEmb(nn.Module):
    def __init__(self, n, width):
        super().__init__()
        self.emb = nn.Embedding(n, width)
        nn.init.normal_(self.emb.weight, std=0.02)


class Transformer(nn.Module):
    def __init__(self, width=256, layers=5, max_tokens=128):
        super().__init__()
        self.cls_emb = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.pos_emb = PosEmb(max_tokens, width)
        self.attn_layers = Layers(width, layers)
        self.norm = nn.LayerNorm(width)
        self.out_layer = nn.Linear(width, width)

    def forward(self, tokens):
        x = torch.cat([self.cls_emb.expand(tokens.shape[0], -1, -1), tokens], 1)
        x = x + self.pos_emb.emb.weight[: x.shape[1]][None]
        for i in range(0, len(self.attn_layers.layers), 2):
            ln, att = self.attn_layers.layers[i]
            x = x + att(ln(x))
            ln, ff = self.attn_layers.layers[i + 1]
            x = x + ff.net(ln(x))
        return self.out_layer(self.norm(x))[:, 0]


class FusionModel(nn.Module):
    def __init__(self, features, time_dim, width=256):
        super().__init__()
        self.fm_video_in = nn.Linear(features, width)
        self.fm_audio_in = nn.Linear(features, width)
        self.fm_time_in = nn.Linear(time_dim, width)
        self.fm = Transformer(width)


class Discriminator(nn.Module):
    def __init__(self, cfg, width=128, mult=(1, 2, 4), time_dim=128):
        super().__init__()
        self.cfg = cfg
        self.time_embed = TimeEmbed(time_dim)
        if cfg["video_text_dim"]:
            self.video_text_embed = nn.Linear(cfg["video_text_dim"], time_dim)
        if cfg["audio_text_dim"]:
            self.audio_text_embed = nn.Linear(cfg["audio_text_dim"], time_dim)
        self.feature_extractor = FeatureExtractor(cfg, width, mult, time_dim)
        c = self.feature_extractor.out_channels
        if cfg["fusion"] == "A":
            self.last_linear = nn.Linear(2 * c, 1)
        else:
            self.fusion_model = FusionModel(c, time_dim)
            self.last_linear = nn.Linear(256, 1)

    def forward(self, video, audio, t, text_v=None, text_a=None):  # video (B,F,C,H,W)
        e_t = self.time_embed(t)
        e_v = e_t + self.video_text_embed(text_v) if text_v is not None else e_t
        e_a = e_t + self.audio_text_embed(text_a) if text_a is not None else e_t
        fv, fa = self.feature_extractor(video.transpose(1, 2), audio, e_v, e_a)
        vf = fv.mean((3, 4)).transpose(1, 2)
        af = (fa if self.cfg["audio_conv"] == "1d" else fa.mean(3)).transpose(1, 2)
        if self.cfg["fusion"] == "A":
            return self.last_linear(torch.cat([vf.mean(1), af.mean(1)], 1)).squeeze(1)
        fm = self.fusion_model
        tokens = torch.cat([fm.fm_time_in(e_t)[:, None], fm.fm_video_in(vf), fm.fm_audio_in(af)], 1)
        return self.last_linear(fm.fm(tokens)).squeeze(1)


class MlpEps(nn.Module):
    """The frozen stand-in base model of the benchmark (the same as the native 'mlp' EpsModel)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.time_embed = TimeEmbed(64)
        self.time_embed.projection.linear_1 = nn.Linear(64, hidden)
        self.time_embed.projection.linear_2 = nn.Linear(hidden, hidden)
        self.input = nn.Linear(dim, hidden)
        self.block = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.output = nn.Linear(hidden, dim)

    def forward(self, x, t):
        flat = x.reshape(x.shape[0], -1)
        h = self.input(flat) + self.time_embed(t)
        h = h + self.block(h)
        return self.output(F.silu(h)).reshape(x.shape)


def linear_alpha_bar(device):
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0).to(device)


def smoothed_logit(h):
    p = torch.sigmoid(h)
    return torch.log(p + 1e-5) - torch.log(1 - p + 1e-5)


def expand(x, like):
    return x.reshape((-1,) + (1,) * (like.dim() - 1)).to(like.dtype)


def write_safetensors(path, tensors, dtype=torch.float32):
    """Minimal safetensors writer (F32 or F64), so the reference needs nothing beyond torch."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(dtype).contiguous().cpu().numpy().tobytes()
        code = "F32" if dtype == torch.float32 else "F64"
        header[name] = {"dtype": code, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header)
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text.encode())
        for blob in blobs:
            f.write(blob)


def export(o):
    """Random weights and inputs with the reference's h and input gradient of Σℓ, for a native parity check."""
    torch.manual_seed(o.get("seed", 0))
    cfg = dict(PRESETS[o["preset"]], **o.get("overrides", {}))
    disc = Discriminator(cfg).double()
    # Weights are written as float32: computing with float32-representable values makes the check exact.
    with torch.no_grad():  # also moves off the zero-initialised 1×1 convs, so every layer shows in the output
        for p in disc.parameters():
            p.copy_((p + 0.02 * torch.randn_like(p)).float().double())

    def randn(*shape):
        return torch.randn(*shape).double()

    b = o["batch"]
    video = randn(b, o["frames"], cfg["video_channels"], o["size"], o["size"]).requires_grad_(True)
    audio_shape = (b, cfg["audio_channels"], o["audioSamples"]) if cfg["audio_conv"] == "1d" else (b, cfg["audio_channels"], o["melFrames"], o["audioSamples"])
    audio = randn(*audio_shape).requires_grad_(True)
    t = torch.tensor(o["t"])
    text_v = randn(b, 3, cfg["video_text_dim"]) if cfg["video_text_dim"] else None
    text_a = randn(b, cfg["audio_text_dim"]) if cfg["audio_text_dim"] else None
    h = disc(video, audio, t, None if text_v is None else text_v.mean(1), text_a)
    ga, gv = torch.autograd.grad(smoothed_logit(h).sum(), (audio, video))
    write_safetensors(o["weights"], dict(disc.state_dict()))
    io = {"video": video, "audio": audio, "h": h, "gradAudio": ga, "gradVideo": gv}
    if text_v is not None:
        io["textVideo"] = text_v
    if text_a is not None:
        io["textAudio"] = text_a
    write_safetensors(o["io"], io, torch.float64)
    print(json.dumps({"parameterCount": sum(p.numel() for p in disc.parameters())}))


# The eager modes a user would pick on each device; the benchmark compares native against the fastest. A mode is
# "<precision>" or "<precision>+<optimiser>": AdamW's per-parameter loop (torch's default on CPU) unless it names
# the multi-tensor (foreach) or the fused AdamW.
MODES = {"cpu": ("fp32", "bf16-autocast", "channels-last", "fp32+foreach-adamw", "fp32+fused-adamw",
                 "channels-last+fused-adamw"),
         "cuda": ("fp32", "tf32", "bf16-autocast", "channels-last-tf32", "tf32+fused-adamw")}
ADAMW_IMPLEMENTATIONS = {"adamw": dict(foreach=False), "foreach-adamw": dict(foreach=True),
                         "fused-adamw": dict(fused=True)}


def run_mode(o, mode, device):
    """Times one eager mode (the training step with its phases, the guidance call, the forward pass); returns the
    timings and the mode's training step, for profiling."""
    precision, _, adamw = mode.partition("+")
    tf32 = device.type == "cuda" and precision != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = device.type == "cuda"
    torch.manual_seed(0)
    cfg = PRESETS[o["preset"]]
    disc = Discriminator(cfg).to(device)
    if precision.startswith("channels-last"):
        for module in disc.modules():  # the 4-D (per-frame) convolution weights; other ranks have no such format
            if isinstance(module, nn.Conv2d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)
    b, f, s, n = o["batch"], o["frames"], o["size"], o["audioSamples"]
    video_shape = (b, f, cfg["video_channels"], s, s)
    audio_shape = (b, cfg["audio_channels"], n) if cfg["audio_conv"] == "1d" else (b, cfg["audio_channels"], o["melFrames"], n)
    audio_base = MlpEps(math.prod(audio_shape[1:]), o["baseHidden"]).to(device).requires_grad_(False)
    video_base = MlpEps(math.prod(video_shape[1:]), o["baseHidden"]).to(device).requires_grad_(False)
    opt = torch.optim.AdamW(disc.parameters(), lr=1e-4, weight_decay=0.0, **ADAMW_IMPLEMENTATIONS[adamw or "adamw"])
    alpha_bar = linear_alpha_bar(device)
    lam = o["lambdaDenoising"]
    cast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16-autocast")

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def q_sample(x0, t, noise):
        ab = alpha_bar[t]
        return expand(ab.sqrt(), x0) * x0 + expand((1 - ab).sqrt(), x0) * noise

    def train_step(marks=None, lam=lam):
        """One training step; lam = 0 leaves the denoising term out (no input gradient, no double backward)."""
        mark = (lambda name: (sync(), marks.append((name, time.perf_counter())))) if marks is not None else (lambda name: None)
        mark("start")
        ra, rv = torch.randn(audio_shape, device=device), torch.randn(video_shape, device=device)
        fa, fv = torch.randn(audio_shape, device=device), torch.randn(video_shape, device=device)
        tr, tf = torch.randint(0, 1000, (b,), device=device), torch.randint(0, 1000, (b,), device=device)
        na, nv = torch.randn_like(ra), torch.randn_like(rv)
        # Leaves with a gradient only for the denoising term's input gradient, as native's.
        a = q_sample(ra, tr, na).detach().requires_grad_(bool(lam))
        v = q_sample(rv, tr, nv).detach().requires_grad_(bool(lam))
        with cast:
            h_real = disc(v, a, tr).float()
        mark("forward")
        den = 0
        if lam:
            ga, gv = torch.autograd.grad(smoothed_logit(h_real).sum(), (a, v), create_graph=True)
            mark("inputGradient")
            sig = (1 - alpha_bar[tr]).sqrt()
            with torch.no_grad():
                ea, ev = audio_base(a, tr), video_base(v, tr)
            den = F.mse_loss(ea - expand(sig, a) * ga, na) + F.mse_loss(ev - expand(sig, v) * gv, nv)
        with cast:
            h_fake = disc(q_sample(fv, tf, torch.randn_like(fv)), q_sample(fa, tf, torch.randn_like(fa)), tf).float()
        loss = F.softplus(-h_real).mean() + F.softplus(h_fake).mean() + lam * den
        mark("forward")
        opt.zero_grad()
        loss.backward()
        mark("backward")
        opt.step()
        mark("optimizer")
        return loss.item()

    def guidance():
        a = torch.randn(audio_shape, device=device, requires_grad=True)
        v = torch.randn(video_shape, device=device, requires_grad=True)
        t = torch.full((b,), 500, device=device)
        with cast:
            h = disc(v, a, t).float()
        ga, gv = torch.autograd.grad(smoothed_logit(h).sum(), (a, v))
        return ga.sum().item() + gv.sum().item()

    def forward():
        with torch.no_grad(), cast:
            return disc(torch.randn(video_shape, device=device), torch.randn(audio_shape, device=device),
                        torch.full((b,), 500, device=device)).sum().item()

    def timed(fn, repeats):
        fn()
        times = []
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    def phases(repeats, lam=lam):
        """Median milliseconds per phase of the training step (synchronised between phases on CUDA)."""
        per_phase = {}
        for _ in range(repeats):
            marks = []
            train_step(marks, lam)
            step = {}
            for (_, before), (name, after) in zip(marks, marks[1:]):
                step[name] = step.get(name, 0.0) + (after - before) * 1000
            for name, ms in step.items():
                per_phase.setdefault(name, []).append(ms)
        return {name: statistics.median(values) for name, values in per_phase.items()}

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    out = {"mode": mode, "trainStepMs": timed(train_step, o["repeats"])}
    if device.type == "cuda":
        out["peakMemoryMiB"] = torch.cuda.max_memory_allocated() / 2 ** 20
    if o.get("phases", True):
        out["phasesMs"] = phases(o["repeats"])
        # Without the denoising term: its backward is first-order only, so the difference of the two backwards is
        # what the double backward costs.
        out["firstOrderPhasesMs"] = phases(o["repeats"], lam=0)
    out["guidanceMs"] = timed(guidance, o["repeats"])
    out["forwardMs"] = timed(forward, o["repeats"])
    out["parameterCount"] = sum(p.numel() for p in disc.parameters())
    return out, train_step


def top_ops(train_step, device, steps=3, count=12):
    """The ops that take the most self time in the training step (per step), from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            train_step()
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)
    total = sum(getattr(e, key) for e in events) or 1
    return [{"name": e.key, "selfMsPerStep": getattr(e, key) / 1000 / steps, "share": getattr(e, key) / total,
             "calls": e.count // steps} for e in events[:count]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True, help="bench options (see bench/discriminatorStep.ts)")
    parser.add_argument("--export", action="store_true", help="write weights and reference outputs instead of timing")
    parsed = parser.parse_args()
    o = json.loads(parsed.json)
    if parsed.export:
        return export(o)
    torch.set_num_threads(o["threads"])
    device = torch.device(o["device"])
    runs = [run_mode(o, mode, device) for mode in o.get("modes") or MODES[device.type]]
    modes = [m for m, _ in runs]
    best, best_step = min(runs, key=lambda run: run[0]["trainStepMs"])
    profile = top_ops(best_step, device) if o.get("profile") else None
    out = {
        "parameterCount": best["parameterCount"],
        "bestMode": best["mode"],
        "trainStepMs": best["trainStepMs"],
        "guidanceMs": min(m["guidanceMs"] for m in modes),
        "forwardMs": min(m["forwardMs"] for m in modes),
        "modes": modes,
        "topOps": profile,
        # The process's peak resident set over every mode (ru_maxrss is in KiB on Linux).
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torchVersion": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
