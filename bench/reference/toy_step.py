"""Plain PyTorch reference of mmdisco's toy training steps: the same MLP ε-network, toy discriminator and losses
(ε-MSE; BCE + λ_den · denoising loss with double backward), timed on the same torch build and thread count.

    python3 bench/reference/toy_step.py --task base|discriminator --batch B --steps N --threads T --repeats R
prints one JSON line: {"task", "pairs_per_second": [...], "parameters"}.
"""
import argparse
import json
import math
import time

import torch
from torch import nn
import torch.nn.functional as F


def sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64, device=t.device) / (half - 1))
    args = t.to(torch.float64)[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], 1).float()


class TimeEmbedding(nn.Module):
    def __init__(self, sinusoid_dim, out_dim):
        super().__init__()
        self.dim = sinusoid_dim
        self.linear_1 = nn.Linear(sinusoid_dim, out_dim)
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, t):
        return self.linear_2(F.silu(self.linear_1(sinusoidal(t, self.dim))))


class MlpEpsNet(nn.Module):
    def __init__(self, dim, hidden, blocks, time_dim):
        super().__init__()
        self.time_embed = TimeEmbedding(time_dim, hidden)
        self.input = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)) for _ in range(blocks))
        self.output = nn.Linear(hidden, dim)

    def forward(self, x, t):
        h = self.input(x) + self.time_embed(t)
        for block in self.blocks:
            h = h + block(h)
        return self.output(F.silu(h))


class Tower(nn.Module):
    def __init__(self, in_dim, hidden, blocks):
        super().__init__()
        self.input = nn.Linear(in_dim, hidden)
        self.inner = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(blocks))
        self.modulation = nn.ModuleList(nn.Linear(hidden, 2 * hidden) for _ in range(blocks))
        self.outer = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(blocks))

    def forward(self, x, e_t):
        h = self.input(x)
        e = F.silu(e_t)
        for inner, mod, outer in zip(self.inner, self.modulation, self.outer):
            s, b = mod(e).chunk(2, 1)
            u = inner(F.silu(h)) * (1 + s) + b
            h = h + outer(F.silu(u))
        return F.silu(h)


class ToyDiscriminator(nn.Module):
    def __init__(self, audio_dim, video_dim, hidden, blocks, time_dim):
        super().__init__()
        self.time_embed = TimeEmbedding(time_dim, hidden)
        self.audio_tower = Tower(audio_dim, hidden, blocks)
        self.video_tower = Tower(video_dim, hidden, blocks)
        self.fusion = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                    nn.Linear(hidden, 1))

    def forward(self, a, v, t):
        e = self.time_embed(t)
        return self.fusion(torch.cat([self.audio_tower(a, e), self.video_tower(v, e)], 1)).squeeze(1)


def linear_alpha_bar(T=1000):
    return torch.cumprod(1 - torch.linspace(1e-4, 0.02, T, dtype=torch.float64), 0)


def cosine_alpha_bar(T=1000, s=0.008):
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    betas = torch.tensor([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def smoothed_logit(h):
    p = torch.sigmoid(h)
    return torch.log(p + 1e-5) - torch.log(1 - p + 1e-5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--task', choices=['base', 'discriminator'], required=True)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--hidden', type=int, default=128)
    ap.add_argument('--base-blocks', type=int, default=3)
    ap.add_argument('--disc-blocks', type=int, default=2)
    ap.add_argument('--time-dim', type=int, default=64)
    ap.add_argument('--device', default='cpu')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    torch.set_default_device(dev)
    sa = linear_alpha_bar().to(dev)
    sv = cosine_alpha_bar().to(dev)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    B, dim = args.batch, 2

    def q_sample(abar, x0, t, noise):
        a = abar[t].float()[:, None]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise, (1 - a).sqrt()

    if args.task == 'base':
        model = MlpEpsNet(dim, args.hidden, args.base_blocks, args.time_dim)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0)

        def step(x0):
            t = torch.randint(0, 1000, (B,))
            noise = torch.randn_like(x0)
            x_t, _ = q_sample(sa, x0, t, noise)
            loss = F.mse_loss(model(x_t, t), noise)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        data = [torch.randn(B, dim) for _ in range(args.steps)]
        run = lambda: [step(x) for x in data]
        params = sum(p.numel() for p in model.parameters())
    else:
        disc = ToyDiscriminator(dim, dim, args.hidden, args.disc_blocks, args.time_dim)
        base_a = MlpEpsNet(dim, args.hidden, args.base_blocks, args.time_dim).requires_grad_(False)
        base_v = MlpEpsNet(dim, args.hidden, args.base_blocks, args.time_dim).requires_grad_(False)
        opt = torch.optim.AdamW(disc.parameters(), lr=1e-3, weight_decay=0)

        def step(ra, rv, fa, fv):
            tr = torch.randint(0, 1000, (B,))
            tf = torch.randint(0, 1000, (B,))
            na, nv = torch.randn_like(ra), torch.randn_like(rv)
            a_t, sig_a = q_sample(sa, ra, tr, na)
            v_t, sig_v = q_sample(sv, rv, tr, nv)
            af, _ = q_sample(sa, fa, tf, torch.randn_like(fa))
            vf, _ = q_sample(sv, fv, tf, torch.randn_like(fv))
            a = a_t.detach().requires_grad_(True)
            v = v_t.detach().requires_grad_(True)
            h_real = disc(a, v, tr)
            ga, gv = torch.autograd.grad(smoothed_logit(h_real).sum(), (a, v), create_graph=True)
            with torch.no_grad():
                ea, ev = base_a(a_t, tr), base_v(v_t, tr)
            den = F.mse_loss(ea - sig_a * ga, na) + F.mse_loss(ev - sig_v * gv, nv)
            h_fake = disc(af, vf, tf)
            bce = F.softplus(-h_real).mean() + F.softplus(h_fake).mean()
            loss = bce + 1.0 * den
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(disc.parameters(), 1.0)
            opt.step()
        data = [[torch.randn(B, dim) for _ in range(4)] for _ in range(args.steps)]
        run = lambda: [step(*x) for x in data]
        params = sum(p.numel() for p in disc.parameters())

    run()  # warm-up
    rates = []
    for _ in range(args.repeats):
        sync()
        start = time.perf_counter()
        run()
        sync()
        rates.append(args.steps * B / (time.perf_counter() - start))
    print(json.dumps({'task': args.task, 'pairs_per_second': rates, 'parameters': params}))


if __name__ == '__main__':
    main()
