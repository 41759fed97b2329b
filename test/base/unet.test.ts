/**
 * Base-model U-Nets through the addon: shapes (including sizes that are not multiples of the down-sampling),
 * exact training-state round trips, profiled training, EMA as the sampling weights, and the Griffin-Lim inverse of
 * the log-mel.
 */
import { strict as assert } from 'node:assert';
import { MelSpectrogram } from '../../ts/media/melspec';
import { native, tensor, type EpsModelOptions } from '../../ts/native';

const tinyVideo: EpsModelOptions = {
  network: { kind: 'video-unet', inChannels: 1, baseChannels: 8, channelMult: [1, 2], resBlocks: 1, timeDim: 16, groups: 4, midAttention: true },
  schedule: { kind: 'cosine' },
  optimizer: { lr: 1e-3, gradClip: 1 },
  ema: { decay: 0.9 },
  threads: 1,
  seed: 5,
};

const tinyAudio: EpsModelOptions = {
  ...tinyVideo,
  network: { kind: 'audio-unet', inChannels: 1, baseChannels: 8, channelMult: [1, 2, 2], resBlocks: 1, timeDim: 16, groups: 4, midAttention: false },
};

function noise(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

describe('base-model U-Nets', function () {
  this.timeout(60_000);

  it('predict ε with the input shape for video (B, F, C, H, W) and audio (B, C, L, M), odd sizes included', async () => {
    const cases: [EpsModelOptions, number[]][] = [
      [tinyVideo, [2, 4, 1, 8, 8]],
      [tinyVideo, [1, 3, 1, 7, 10]],
      [tinyAudio, [2, 1, 160, 32]],
      [tinyAudio, [1, 1, 37, 13]],
    ];
    for (const [options, shape] of cases) {
      const model = new native.EpsModel(options);
      const { eps } = await model.eps(tensor(noise(shape, 1), shape), 500);
      assert.deepEqual(eps.shape, shape);
      assert.ok(eps.data.every(Number.isFinite));
    }
  });

  it('rejects a network whose GroupNorm groups do not divide its widths, naming the option', () => {
    assert.throws(
      () => new native.EpsModel({ ...tinyVideo, network: { ...tinyVideo.network, groups: 3 } as EpsModelOptions['network'] }),
      /network\.groups/,
    );
  });

  it('resumes exactly from a saved training state (weights, EMA, optimiser, random stream)', async () => {
    const shape = [4, 1, 24, 16];
    const batches = [0, 1, 2, 3, 4].map((i) => tensor(noise(shape, 10 + i), shape));
    const uninterrupted = new native.EpsModel(tinyAudio);
    const first: number[] = [];
    for (const b of batches) first.push((await uninterrupted.trainSteps(b, 4)).losses.data[0]);

    const interrupted = new native.EpsModel(tinyAudio);
    for (const b of batches.slice(0, 2)) await interrupted.trainSteps(b, 4);
    const { state, step } = await interrupted.trainingState();
    assert.equal(step, 2);
    const resumed = new native.EpsModel({ ...tinyAudio, seed: 99 }); // different init: the state must override it
    assert.equal((await resumed.loadTrainingState(state)).step, 2);
    const second: number[] = [];
    for (const b of batches.slice(2)) second.push((await resumed.trainSteps(b, 4)).losses.data[0]);
    assert.deepEqual(second, first.slice(2));

    const [a, b] = [await uninterrupted.parameters(), await resumed.parameters()];
    for (const name of Object.keys(a)) assert.deepEqual(b[name].data, a[name].data, name);
  });

  it('profileSteps trains as trainSteps does and reports the convolutions of each step, largest first', async () => {
    const shape = [4, 1, 24, 16];
    const batches = [0, 1].map((i) => tensor(noise(shape, 20 + i), shape));
    const [plain, profiled] = [new native.EpsModel(tinyAudio), new native.EpsModel(tinyAudio)];
    for (const b of batches) await plain.trainSteps(b, 4);
    await profiled.trainSteps(batches[0], 4);
    const ops = await profiled.profileSteps(batches[1], 4);
    const [a, b] = [await plain.parameters(), await profiled.parameters()];
    for (const name of Object.keys(a)) assert.deepEqual(b[name].data, a[name].data, name);
    assert.equal((await profiled.trainingState()).step, 2);
    const conv = ops.find((op) => op.name === 'aten::convolution_backward');
    assert.ok(conv && conv.calls > 0 && conv.selfMs > 0, ops.map((op) => op.name).join(', '));
    assert.ok(ops.every((op, i) => i === 0 || op.selfMs <= ops[i - 1].selfMs), 'sorted by self time');
    assert.throws(() => profiled.profileSteps(tensor(noise([3, 1, 24, 16], 1), [3, 1, 24, 16]), 2), /profileSteps: .*multiple/);
  });

  it('samples with the EMA weights, which trail the trained weights', async () => {
    const shape = [4, 2, 1, 8, 8];
    const withEma = new native.EpsModel(tinyVideo);
    const withoutEma = new native.EpsModel({ ...tinyVideo, ema: undefined });
    const start = await withEma.parameters();
    for (let i = 0; i < 3; i++) {
      const b = tensor(noise(shape, 20 + i), shape);
      await withEma.trainSteps(b, 4);
      await withoutEma.trainSteps(b, 4);
    }
    const [ema, trained] = [await withEma.parameters(), await withoutEma.parameters()];
    const name = 'input.spatial.weight';
    const moved = (p: ArrayLike<number>) => Array.from(p).reduce((s, v, i) => s + Math.abs(v - start[name].data[i]), 0);
    assert.ok(moved(ema[name].data) > 0, 'the EMA moves');
    assert.ok(moved(ema[name].data) < moved(trained[name].data), 'the EMA moves less than the trained weights');
    // Loading parameters sets the weights it samples with.
    await withoutEma.loadParameters(ema);
    const x = tensor(noise(shape, 7), shape);
    assert.deepEqual((await withoutEma.eps(x, 300)).eps.data, (await withEma.eps(x, 300)).eps.data);
  });

  it('with x0Range, keeps the clean sample implied by ε inside the range', async () => {
    const shape = [2, 1, 16, 8];
    const clipped = new native.EpsModel({ ...tinyAudio, x0Range: [-0.5, 0.5] });
    const alphaBar = native.scheduleAlphaBar({ kind: 'cosine' }).data;
    const x = noise(shape, 3).map((v) => 4 * v);
    for (const t of [5, 500, 990]) {
      const { eps } = await clipped.eps(tensor(x, shape), t);
      const [signal, sigma] = [Math.sqrt(alphaBar[t]), Math.sqrt(1 - alphaBar[t])];
      for (let i = 0; i < x.length; i++) {
        const x0 = (x[i] - sigma * eps.data[i]) / signal;
        assert.ok(x0 >= -0.5 - 1e-3 && x0 <= 0.5 + 1e-3, `t=${t}: x0 ${x0}`);
      }
    }
    assert.throws(() => new native.EpsModel({ ...tinyAudio, x0Range: [1, -1] }), /x0Range/);
  });

  it('Griffin-Lim turns a log-mel back into a waveform whose log-mel is close to it', () => {
    const cfg = { sampleRate: 16000, nFft: 512, hop: 160, melBins: 32 };
    const mel = new MelSpectrogram(cfg);
    const samples = 16000 * 0.4;
    const signal = Float32Array.from({ length: samples }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.3 * Math.sin((2 * Math.PI * 1250 * i) / 16000));
    const logMel = mel.compute(signal);
    const frames = mel.frameCount(samples);
    const wave = native.griffinLim({
      logMel: tensor(logMel, [1, frames, cfg.melBins]),
      filterbank: tensor(mel.filterbank(), [cfg.melBins, cfg.nFft / 2 + 1]),
      nFft: cfg.nFft,
      hop: cfg.hop,
      iterations: 32,
    });
    assert.deepEqual(wave.shape, [1, frames * cfg.hop]);
    const again = mel.compute(wave.data);
    // Compare where there is energy (the sinusoids' bins), in log units.
    let err = 0;
    let count = 0;
    for (let i = 0; i < logMel.length; i++) {
      if (logMel[i] > Math.log(1)) {
        err += Math.abs(again[i] - logMel[i]);
        count++;
      }
    }
    assert.ok(count > 0);
    assert.ok(err / count < 0.5, `mean |Δ log-mel| ${(err / count).toFixed(3)} on energetic bins`);
  });
});
