/**
 * The discriminator's input gradient (which becomes the guidance residual) and the parameter gradient of the
 * training loss (which needs double backward through that input gradient) against central finite differences,
 * in float64.
 */
import assert from 'node:assert/strict';
import type { CoupledGaussianMixture } from '../../ts/core/mixture';
import { DiscriminatorDraw, ScheduleOptions, Tensor, native, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';

const audioSchedule: ScheduleOptions = { kind: 'linear' };
const videoSchedule: ScheduleOptions = { kind: 'cosine' };
const mixture: CoupledGaussianMixture = {
  weights: [0.5, 0.5],
  audio: { means: [[-1.5, 0], [1.5, 0]], std: [0.4, 0.4] },
  video: { means: [[0, 1.5], [0, -1.5]], std: [0.4, 0.4] },
};

function gaussian(rng: Rng, n: number, shape: number[]): Tensor<Float64Array> {
  return tensor(rng.fillGaussian(new Float64Array(n)), shape);
}

/** CPU always; CUDA too where this build and machine have it. */
const devices = ['cpu', ...(native.runtimeInfo().cudaAvailable ? ['cuda'] : [])];

function makeDiscriminator(fusion: 'joint' | 'additive', device = 'cpu') {
  return new native.Discriminator({
    device,
    dtype: 'float64',
    seed: 7,
    threads: 1,
    network: { kind: 'toy-mlp', audioDim: 2, videoDim: 3, hidden: 16, blocks: 2, timeDim: 8, fusion },
    audioSchedule,
    videoSchedule,
  });
}

for (const device of devices) describe(`discriminator gradients (float64, ${device})`, function () {
  it('residuals equal −σ_t times the central finite difference of the summed smoothed logit', async () => {
    const disc = makeDiscriminator('joint', device);
    const rng = new Rng(1);
    const B = 3;
    const a = gaussian(rng, B * 2, [B, 2]);
    const v = gaussian(rng, B * 3, [B, 3]);
    const t = tensor(Int32Array.from([10, 400, 900]), [B]);
    const { audio, video } = await disc.residuals(a, v, t);
    const sigma = (schedule: ScheduleOptions, step: number) => Math.sqrt(1 - native.scheduleAlphaBar(schedule).data[step]);
    const sumLogit = async (aa: Tensor, vv: Tensor) => Array.from((await disc.logit(aa, vv, t)).logit.data).reduce((s, x) => s + x, 0);
    const h = 1e-6;
    for (const [which, x, r, schedule, dim] of [
      ['audio', a, audio, audioSchedule, 2],
      ['video', v, video, videoSchedule, 3],
    ] as const) {
      for (let i = 0; i < x.data.length; i++) {
        const plus = { data: Float64Array.from(x.data), shape: x.shape };
        const minus = { data: Float64Array.from(x.data), shape: x.shape };
        plus.data[i] += h;
        minus.data[i] -= h;
        const fd =
          which === 'audio'
            ? ((await sumLogit(plus, v)) - (await sumLogit(minus, v))) / (2 * h)
            : ((await sumLogit(a, plus)) - (await sumLogit(a, minus))) / (2 * h);
        const expected = -sigma(schedule, t.data[Math.floor(i / dim)]) * fd;
        assert.ok(Math.abs(r.data[i] - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${which}[${i}]: ${r.data[i]} vs ${expected}`);
      }
    }
  });

  it('the training loss gradient (BCE + denoising, double backward) matches finite differences', async () => {
    const disc = makeDiscriminator('joint', device);
    const bases = (['audio', 'video'] as const).map(
      (modality) =>
        new native.AnalyticEps({
          device,
          dtype: 'float64',
          mixture: { ...mixture, video: { ...mixture.video, means: mixture.video.means.map((m) => [...m, 0.5]) } },
          modality,
          schedule: modality === 'audio' ? audioSchedule : videoSchedule,
        }),
    );
    const trainer = new native.DiscriminatorTrainer(disc, bases[0], bases[1], { lambdaDenoising: 0.7 });
    const rng = new Rng(2);
    const B = 4;
    const batch = {
      realAudio: gaussian(rng, B * 2, [B, 2]),
      realVideo: gaussian(rng, B * 3, [B, 3]),
      fakeAudio: gaussian(rng, B * 2, [B, 2]),
      fakeVideo: gaussian(rng, B * 3, [B, 3]),
    };
    const draw: DiscriminatorDraw = {
      tReal: tensor(Int32Array.from([3, 150, 600, 980]), [B]),
      tFake: tensor(Int32Array.from([50, 300, 700, 999]), [B]),
      noiseRealAudio: gaussian(rng, B * 2, [B, 2]),
      noiseRealVideo: gaussian(rng, B * 3, [B, 3]),
      noiseFakeAudio: gaussian(rng, B * 2, [B, 2]),
      noiseFakeVideo: gaussian(rng, B * 3, [B, 3]),
    };
    const { gradient, denoising } = await trainer.lossAndGradient(batch, draw);
    assert.ok(denoising > 0, 'the denoising term takes part in the loss');
    const { values } = await disc.flatParameters();
    const base = Float64Array.from(values.data);
    const h = 1e-5;
    let checked = 0;
    for (let k = 0; k < 40; k++) {
      const i = rng.int(base.length);
      const at = async (delta: number) => {
        const p = Float64Array.from(base);
        p[i] += delta;
        await disc.setFlatParameters(tensor(p, [p.length]));
        return (await trainer.lossAndGradient(batch, draw)).total;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      const g = gradient.data[i];
      assert.ok(Math.abs(g - fd) <= 1e-5 * Math.max(1, Math.abs(fd)), `parameter ${i}: autograd ${g} vs finite difference ${fd}`);
      if (Math.abs(fd) > 1e-6) checked++;
    }
    assert.ok(checked >= 10, `only ${checked} of the sampled parameters had a non-zero gradient`);
  });

  it('an additive fusion gives an audio residual that ignores the video input up to the shared sigmoid', async () => {
    // h = g_a(a) + g_v(v): ∇_a ℓ depends on v only through the smoothing factor of §1.5, so its direction is fixed.
    const disc = makeDiscriminator('additive', device);
    const rng = new Rng(3);
    const a = gaussian(rng, 2, [1, 2]);
    const t = 200;
    const r1 = (await disc.residuals(a, gaussian(rng, 3, [1, 3]), t)).audio.data;
    const r2 = (await disc.residuals(a, gaussian(rng, 3, [1, 3]), t)).audio.data;
    const cos = (r1[0] * r2[0] + r1[1] * r2[1]) / Math.hypot(r1[0], r1[1]) / Math.hypot(r2[0], r2[1]);
    assert.ok(Math.abs(cos - 1) < 1e-9, `directions differ: cosine ${cos}`);
  });
});
