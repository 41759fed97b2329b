/**
 * Base-model training with the forward pass in bf16 autocast on a CPU (runtime.cpuPrecision 'bf16'): the losses
 * track the fp32 run's without being equal to them, and a bad value is named.
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
