/**
 * The discriminator trainer's bf16 autocast (training.precision 'bf16'): the forward passes run in bf16, the step's
 * loss and parameter gradient (double backward included) stay close to the fp32 step's, and a short training run
 * tracks the fp32 run's losses.
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
