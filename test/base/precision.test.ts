/**
 * Base-model training with the forward pass in bf16 autocast on a CPU (runtime.cpuPrecision 'bf16'): the losses
 * track the fp32 run's without being equal to them, and a bad value is named. Sampling in bf16 autocast
 * (samplingPrecision, `--base-precision`): ε̂ and the samples track fp32's, in fp32, without being equal.
 */
import assert from 'node:assert/strict';
import { native, tensor, type EpsModelOptions } from '../../ts/native';

const options: EpsModelOptions = {
  network: { kind: 'audio-unet', inChannels: 1, baseChannels: 8, channelMult: [1, 2], resBlocks: 1, timeDim: 16, groups: 4, midAttention: true },
  schedule: { kind: 'cosine' },
  optimizer: { lr: 2e-3 },
  seed: 4,
  threads: 1,
};

describe('base-model training in bf16 autocast on a CPU', function () {
  it('tracks the fp32 losses, not bit for bit', async () => {
    const steps = 40;
    const batch = 8;
    const x0 = tensor(Float32Array.from({ length: steps * batch * 128 }, (_, i) => Math.sin(i * 0.37) * Math.cos(i * 0.011)), [steps * batch, 1, 16, 8]);
    const run = async (cpuPrecision: 'fp32' | 'bf16') => Array.from((await new native.EpsModel({ ...options, cpuPrecision }).trainSteps(x0, batch)).losses.data);
    const [fp32, bf16] = [await run('fp32'), await run('bf16')];
    assert.notDeepEqual(bf16, fp32, 'bf16 autocast changed nothing: the forward pass did not run in bf16');
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    for (const losses of [fp32, bf16]) assert.ok(mean(losses.slice(-10)) < mean(losses.slice(0, 10)), 'the loss falls');
    const [a, b] = [mean(fp32.slice(-10)), mean(bf16.slice(-10))];
    assert.ok(Math.abs(a - b) <= 0.05 * a, `last-ten losses: fp32 ${a}, bf16 ${b}`);
  });

  it('refuses an unknown precision, naming the option', () => {
    assert.throws(() => new native.EpsModel({ ...options, cpuPrecision: 'fp16' as 'fp32' }), /cpuPrecision.*must be 'bf16' or 'fp32'/);
  });
});

describe('base-model sampling in bf16 autocast', function () {
  const relativeL2 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let [d, n] = [0, 0];
    for (let i = 0; i < a.length; i++) [d, n] = [d + (a[i] - b[i]) ** 2, n + b[i] ** 2];
    return Math.sqrt(d / n);
  };
  // Trained a little, so that ε̂ is not an initialisation's near-constant.
  const trained = async (samplingPrecision: 'fp32' | 'bf16') => {
    const model = new native.EpsModel({ ...options, samplingPrecision });
    const x0 = tensor(Float32Array.from({ length: 16 * 128 }, (_, i) => Math.sin(i * 0.37) * Math.cos(i * 0.011)), [16, 1, 16, 8]);
    await model.trainSteps(x0, 8);
    return model;
  };

  it('gives ε̂ in fp32 within 2 % of the fp32 model\'s, not bit for bit', async () => {
    const [fp32, bf16] = [await trained('fp32'), await trained('bf16')];
    const x = tensor(Float32Array.from({ length: 4 * 128 }, (_, i) => Math.cos(i * 0.21)), [4, 1, 16, 8]);
    const t = tensor(Int32Array.from([10, 300, 600, 900]), [4]);
    const [a, b] = [(await fp32.eps(x, t)).eps, (await bf16.eps(x, t)).eps];
    assert.ok(b.data instanceof Float32Array, 'ε̂ comes back in the model dtype');
    assert.notDeepEqual(Array.from(b.data), Array.from(a.data), 'bf16 autocast changed nothing: the forward pass did not run in bf16');
    const error = relativeL2(b.data, a.data);
    assert.ok(error < 0.02, `ε̂ relative L2 error ${error}`);
  });

  it('samples close to the fp32 samples from the same noise', async () => {
    const draw = async (precision: 'fp32' | 'bf16') =>
      (await native.sample({ sources: [await trained(precision)], shapes: [[1, 16, 8]], n: 4, sampler: 'ddim', steps: 10, seed: 3 })).x0;
    const [a, b] = [await draw('fp32'), await draw('bf16')];
    assert.notDeepEqual(Array.from(b.data), Array.from(a.data));
    const error = relativeL2(b.data, a.data);
    assert.ok(error < 0.05, `samples relative L2 error ${error}`);
  });

  it('refuses an unknown sampling precision, naming the option', () => {
    assert.throws(() => new native.EpsModel({ ...options, samplingPrecision: 'fp16' as 'fp32' }), /samplingPrecision.*must be 'bf16' or 'fp32'/);
  });
});
