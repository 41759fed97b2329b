/**
 * The discriminator trainer's bf16 autocast (training.precision 'bf16'): the forward passes run in bf16, the step's
 * loss and parameter gradient (double backward included) stay close to the fp32 step's, and a short training run
 * tracks the fp32 run's losses. The discriminator's guidance in bf16 autocast (its `precision`, `sample
 * --guidance-precision`): logit, residuals (CFG included) and a guided sampling run stay close to fp32's.
 */
import assert from 'node:assert/strict';
import {
  native,
  tensor,
  type DiscriminatorBatch,
  type DiscriminatorDraw,
  type MmdiscoDiscriminatorNetwork,
  type ScheduleOptions,
  type Tensor,
} from '../../ts/native';
import { Rng } from '../../ts/util/random';

const schedule: ScheduleOptions = { kind: 'linear' };
const network: MmdiscoDiscriminatorNetwork = {
  kind: 'mmdisco', width: 32, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, videoChannels: 3, audioChannels: 1,
  audioConv: '1d', maxDilation: 3, fusion: 'B', videoTextDim: 0, audioTextDim: 0,
  fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, fusionHeadDim: 8, fusionMaxTokens: 64,
};
const video = [2, 3, 8, 8];
const audio = [1, 64];
const B = 4;
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function gaussian(rng: Rng, shape: number[]): Tensor<Float32Array> {
  return tensor(rng.fillGaussian(new Float32Array(numel(shape))), shape);
}

/** A discriminator (same seed: same weights) with its trainer in the given precision. */
function trainer(precision: 'fp32' | 'bf16') {
  const disc = new native.Discriminator({ network, audioSchedule: schedule, videoSchedule: schedule, seed: 3, threads: 1 });
  const base = (dim: number, seed: number) =>
    new native.EpsModel({ network: { kind: 'mlp', dim, hidden: 8, blocks: 1 }, schedule, seed, threads: 1 });
  return new native.DiscriminatorTrainer(disc, base(numel(audio), 1), base(numel(video), 2), {
    lambdaDenoising: 1,
    optimizer: { lr: 1e-3 },
    seed: 5,
    precision,
  });
}

function batchOf(rng: Rng, rows: number): DiscriminatorBatch {
  return {
    realAudio: gaussian(rng, [rows, ...audio]), realVideo: gaussian(rng, [rows, ...video]),
    fakeAudio: gaussian(rng, [rows, ...audio]), fakeVideo: gaussian(rng, [rows, ...video]),
  };
}

function relativeDifference(x: Tensor, y: Tensor): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < x.data.length; i++) {
    diff += (Number(x.data[i]) - Number(y.data[i])) ** 2;
    norm += Number(y.data[i]) ** 2;
  }
  return Math.sqrt(diff / norm);
}

describe('discriminator training in bf16 autocast', function () {
  it('gives the fp32 loss and parameter gradient (double backward included) to bf16 precision, not bit for bit', async () => {
    const rng = new Rng(11);
    const batch = batchOf(rng, B);
    const draw: DiscriminatorDraw = {
      tReal: tensor(new Int32Array([30, 250, 600, 900]), [B]), tFake: tensor(new Int32Array([80, 400, 700, 990]), [B]),
      noiseRealAudio: gaussian(rng, [B, ...audio]), noiseRealVideo: gaussian(rng, [B, ...video]),
      noiseFakeAudio: gaussian(rng, [B, ...audio]), noiseFakeVideo: gaussian(rng, [B, ...video]),
    };
    const fp32 = await trainer('fp32').lossAndGradient(batch, draw);
    const bf16 = await trainer('bf16').lossAndGradient(batch, draw);
    assert.ok(Math.abs(bf16.bce - fp32.bce) <= 2e-2 * fp32.bce, `bce ${bf16.bce} vs ${fp32.bce}`);
    assert.ok(Math.abs(bf16.denoising - fp32.denoising) <= 2e-2 * fp32.denoising, `denoising ${bf16.denoising} vs ${fp32.denoising}`);
    const gradientDifference = relativeDifference(bf16.gradient, fp32.gradient);
    assert.ok(gradientDifference > 0, 'bf16 autocast changed nothing: the forward passes did not run in bf16');
    assert.ok(gradientDifference < 5e-2, `parameter gradients differ by ${gradientDifference} (relative L2)`);
  });

  it('a short training run tracks the fp32 run', async () => {
    const steps = 40;
    const data = batchOf(new Rng(12), steps * B);
    const [fp32, bf16] = await Promise.all([trainer('fp32').trainSteps(data, B), trainer('bf16').trainSteps(data, B)]);
    const mean = (t: Tensor, from: number, to: number) => Array.from(t.data).slice(from, to).reduce((s, x) => s + Number(x), 0) / (to - from);
    // Both learn (the BCE of the last ten steps is below the first ten's) and end within 5 % of each other.
    for (const run of [fp32, bf16]) assert.ok(mean(run.bce, steps - 10, steps) < mean(run.bce, 0, 10), `bce ${mean(run.bce, 0, 10)} → ${mean(run.bce, steps - 10, steps)}`);
    const [a, b] = [mean(fp32.bce, steps - 10, steps), mean(bf16.bce, steps - 10, steps)];
    assert.ok(Math.abs(a - b) <= 0.05 * a, `last-ten bce: fp32 ${a}, bf16 ${b}`);
  });

  it('refuses an unknown precision, naming the option', () => {
    assert.throws(() => trainer('fp16' as 'fp32'), /precision.*must be 'fp32' or 'bf16'/);
  });
});

describe('guidance in bf16 autocast', function () {
  const discriminator = (precision: 'fp32' | 'bf16', textDims = 0) =>
    new native.Discriminator({
      network: { ...network, videoTextDim: textDims, audioTextDim: textDims },
      audioSchedule: schedule, videoSchedule: schedule, seed: 3, threads: 1, precision,
    });
  const rng = new Rng(21);
  const a = gaussian(rng, [B, ...audio]);
  const v = gaussian(rng, [B, ...video]);
  const t = tensor(new Int32Array([30, 250, 600, 900]), [B]);

  it('gives the fp32 logit and residuals to bf16 precision, returned in fp32', async () => {
    const [fp32, bf16] = [discriminator('fp32'), discriminator('bf16')];
    const logits = [(await fp32.logit(a, v, t)).logit, (await bf16.logit(a, v, t)).logit];
    assert.ok(logits[1].data instanceof Float32Array);
    const logitDifference = relativeDifference(logits[1], logits[0]);
    assert.ok(logitDifference > 0 && logitDifference < 2e-2, `logits differ by ${logitDifference} (relative L2)`);
    const [r32, r16] = [await fp32.residuals(a, v, t), await bf16.residuals(a, v, t)];
    for (const m of ['audio', 'video'] as const) {
      assert.ok(r16[m].data instanceof Float32Array);
      const difference = relativeDifference(r16[m], r32[m]);
      assert.ok(difference > 0, `${m}: bf16 autocast changed nothing`);
      assert.ok(difference < 5e-2, `${m} residuals differ by ${difference} (relative L2)`);
    }
  });

  it('keeps the residual CFG of a conditioned discriminator close to fp32', async () => {
    const [fp32, bf16] = [discriminator('fp32', 4), discriminator('bf16', 4)];
    const oneHot = (k: number) => tensor(new Float32Array(B * 4).map((_, i) => (i % 4 === k ? 1 : 0)), [B, 4]);
    const condition = { audio: oneHot(1), video: oneHot(1) };
    const cfg = { nullCondition: { audio: oneHot(0), video: oneHot(0) }, scales: { audio: 3, video: 2 } };
    const [r32, r16] = [await fp32.residuals(a, v, t, condition, cfg), await bf16.residuals(a, v, t, condition, cfg)];
    for (const m of ['audio', 'video'] as const) {
      const difference = relativeDifference(r16[m], r32[m]);
      assert.ok(difference > 0 && difference < 5e-2, `${m} CFG residuals differ by ${difference} (relative L2)`);
    }
  });

  it('guides a sampling run to within bf16 precision of the fp32 one', async () => {
    const bases = [audio, video].map(
      (shape, i) => new native.EpsModel({ network: { kind: 'mlp', dim: numel(shape), hidden: 8, blocks: 1 }, schedule, seed: i + 1, threads: 1 }),
    );
    const options = { sources: bases, shapes: [audio, video], n: B, steps: 8, sampler: 'ddim' as const, seed: 4 };
    const unguided = await native.sample(options);
    // The random discriminator's video gradient is tiny per element; λ_v = 400 makes its shift measurable.
    const [g32, g16] = [
      await native.sample({ ...options, critic: discriminator('fp32'), lambdas: [4, 400] }),
      await native.sample({ ...options, critic: discriminator('bf16'), lambdas: [4, 400] }),
    ];
    for (const key of ['x0', 'x1']) {
      // The guidance moved the samples, and bf16 moved them by nearly the same amount.
      const shift = relativeDifference(g32[key], unguided[key]);
      const precisionError = relativeDifference(g16[key], g32[key]);
      assert.ok(shift > 1e-3, `${key}: guidance moved the samples by only ${shift}`);
      assert.ok(precisionError > 0 && precisionError < 0.05 * shift, `${key}: bf16 off by ${precisionError} against a guidance shift of ${shift}`);
    }
  });

  it('refuses an unknown precision, naming the option', () => {
    assert.throws(() => discriminator('fp16' as 'fp32'), /precision.*must be 'fp32' or 'bf16'/);
  });
});

describe('peak device memory', function () {
  it('is the process resident set on a CPU (null from the allocator) and names a bad device', () => {
    assert.equal(native.peakAllocatedBytes('cpu'), null);
    assert.equal(native.peakAllocatedBytes('cpu', { reset: true }), null);
    assert.throws(() => native.peakAllocatedBytes(3 as unknown as string), /peakAllocatedBytes: device must be a string/);
    assert.throws(() => native.peakAllocatedBytes('gpu:0'), /peakAllocatedBytes/);
  });
});
