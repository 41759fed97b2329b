/**
 * `eval discriminator`: on the tiny pairs, whose class is a band of the log-mel and a row of the video, a
 * class-conditioned discriminator trained with one-modality mismatched negatives learns the class in each tower,
 * and the probe shows it; the probe's matched case is the discriminator's logit on pairs noised with q(x_t | x_0);
 * bad input fails naming the flag.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { normalise } from '../../ts/base/modality';
import { trainBase } from '../../ts/base/train';
import { GuidanceConfigSchema } from '../../ts/config/guidance';
import { validateConfig } from '../../ts/config/load';
import { ShardReader } from '../../ts/data';
import { probeDiscriminator } from '../../ts/eval/discriminatorProbe';
import { type BasePair, loadBasePair, PAIR_TENSORS } from '../../ts/guidance/basePair';
import { classConditions } from '../../ts/guidance/conditioning';
import { loadGuidance } from '../../ts/guidance/sample';
import { trainGuidance } from '../../ts/guidance/train';
import { native, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';
import { tinyBaseConfig, writeTinyPairs } from '../fixtures/tinyPairs';

describe('eval discriminator: what a trained discriminator tells apart', function () {
  this.timeout(300_000);
  let root = '';
  let real = '';
  let run = '';
  let bases: BasePair;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'mmdisco-probe-'));
    real = path.join(root, 'real');
    await writeTinyPairs(real, 32);
    const dirs = { audio: path.join(root, 'base-audio'), video: path.join(root, 'base-video') };
    for (const modality of ['audio', 'video'] as const) await trainBase({ out: dirs[modality], config: tinyBaseConfig(modality), dataDir: real });
    bases = await loadBasePair(dirs.audio, dirs.video, { threads: 1 });
    run = path.join(root, 'guidance');
    const config = validateConfig(GuidanceConfigSchema, {
      discriminator: { width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A', audioConv: '1d' },
      conditioning: { column: 'label', classes: 8, dropout: 0.1, mismatch: 0.9, projection: true },
      training: { steps: 300, batchSize: 16, lr: 3e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0, checkpointEvery: 300, logEvery: 100, seed: 0 },
      runtime: { device: 'cpu', threads: 1 },
    }, 'test');
    await trainGuidance({ out: run, config, real, fake: real, audioBase: dirs.audio, videoBase: dirs.video });
  });
  after(() => root && rmSync(root, { recursive: true, force: true }));

  const probe = async (opts: { pairs?: number; column?: string; seed?: number; timesteps?: number[] } = {}) => {
    const { discriminator, conditioning } = await loadGuidance(run, bases);
    return probeDiscriminator({
      discriminator, conditioning, bases, data: real, column: opts.column ?? 'label', pairs: opts.pairs ?? 16, timesteps: opts.timesteps ?? [10, 60], seed: opts.seed ?? 3,
    });
  };

  it('a wrong class, a wrong audio and a wrong video each lower the logit of a discriminator trained to see them', async () => {
    const report = await probe();
    assert.deepEqual(Object.keys(report.meanLogit), ['matched', 'wrong class', 'wrong audio', 'wrong video', 'null condition']);
    const matched = report.meanLogit.matched[0];
    for (const name of ['wrong class', 'wrong audio', 'wrong video']) {
      assert.ok(report.meanLogit[name][0] < matched - 1, `${name}: ${report.meanLogit[name][0]} vs matched ${matched}`);
    }
  });

  it('matched is the mean logit of the pairs noised with q(x_t | x_0) from the seed\'s draws; the same seed repeats it', async () => {
    const report = await probe({ pairs: 8, seed: 9 });
    assert.deepEqual(await probe({ pairs: 8, seed: 9 }), report);
    const reader = new ShardReader(real, { batchSize: 8, seed: 0, shuffle: false });
    const batch = (await reader.epoch(0).next()).value!;
    const { discriminator } = await loadGuidance(run, bases);
    const rng = new Rng(9);
    for (const [i, t] of [10, 60].entries()) {
      const noised = (m: 'audio' | 'video') => {
        const x0 = normalise(bases[m].checkpoint.normalisation, batch.tensors[PAIR_TENSORS[m]]);
        const alphaBar = native.scheduleAlphaBar(bases[m].checkpoint.config.model.schedule).data[t];
        return tensor(x0.map((x) => Math.sqrt(alphaBar) * x + Math.sqrt(1 - alphaBar) * rng.gaussian()), [8, ...bases[m].inputShape]);
      };
      const [a, v] = [noised('audio'), noised('video')];
      const { logit } = await discriminator.logit(a, v, tensor(new Int32Array(8).fill(t), [8]), classConditions(batch.meta.label as number[], 8));
      const mean = Array.from(logit.data).reduce((s, x) => s + x, 0) / 8;
      assert.ok(Math.abs(report.meanLogit.matched[i] - mean) < 1e-5, `t=${t}: ${report.meanLogit.matched[i]} vs ${mean}`);
    }
  });

  it('bad input fails naming the flag', async () => {
    await assert.rejects(probe({ column: 'digit' }), /no meta column 'digit' \(--column\); it has: label/);
    await assert.rejects(probe({ pairs: 64 }), /holds 32 pairs, fewer than --pairs 64/);
    await assert.rejects(probe({ timesteps: [10, 100] }), /--t 100: the base models' timesteps are the integers 0 … 99/);
  });
});
