/**
 * `eval discriminator`: on the tiny pairs, whose class is a band of the log-mel and a row of the video, a
 * class-conditioned discriminator trained with one-modality mismatched negatives learns the class in each tower,
 * and the probe shows it; the probe's matched case is the discriminator's logit on pairs noised with q(x_t | x_0);
 * an unconditioned one's "shuffled within" case pairs each audio with the video of the next pair of its group;
 * bad input fails naming the flag.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { normalise } from '../../ts/core/normalisation';
import { GuidanceConfigSchema } from '../../ts/config/guidance';
import { validateConfig } from '../../ts/config/load';
import { ShardReader } from '../../ts/data';
import { probeDiscriminator } from '../../ts/guidance/discriminatorProbe';
import { type BasePair, loadBasePair } from '../../ts/guidance/basePair';
import { MODALITY_TENSORS } from '../../ts/core/modality';
import { classConditions } from '../../ts/guidance/conditioning';
import { loadGuidance } from '../../ts/guidance/sample';
import { trainGuidance } from '../../ts/guidance/train';
import { native, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';
import { trainTinyBases, writeTinyPairs } from '../fixtures/tinyPairs';

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
    const dirs = await trainTinyBases(root, real);
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

  const probe = async (opts: { pairs?: number; column?: string; within?: string; seed?: number; timesteps?: number[]; guidance?: string } = {}) => {
    const { discriminator, conditioning } = await loadGuidance(opts.guidance ?? run, bases);
    return probeDiscriminator({
      discriminator, conditioning, bases, data: real, column: opts.column ?? 'label', within: opts.within, pairs: opts.pairs ?? 16,
      timesteps: opts.timesteps ?? [10, 60], seed: opts.seed ?? 3,
    });
  };

  /** The mean logit at t of pairs (audio of row i, video of row rows[i]) noised with the rng's draws, as the probe does. */
  const meanLogitOf = async (guidance: string, rows: number[], t: number, rng: Rng, conditioned = false) => {
    const n = rows.length;
    const batch = (await new ShardReader(real, { batchSize: n, seed: 0, shuffle: false }).epoch(0).next()).value!;
    const noised = (m: 'audio' | 'video', from: (i: number) => number) => {
      const x0 = normalise(bases[m].normalisation, batch.tensors[MODALITY_TENSORS[m]]);
      const size = x0.length / n;
      const alphaBar = native.scheduleAlphaBar(bases[m].schedule).data[t];
      const eps = Array.from({ length: x0.length }, () => rng.gaussian());
      return tensor(x0.map((_, k) => Math.sqrt(alphaBar) * x0[from(Math.floor(k / size)) * size + (k % size)] + Math.sqrt(1 - alphaBar) * eps[k]), [n, ...bases[m].inputShape]);
    };
    const [a, v] = [noised('audio', (i) => i), noised('video', (i) => rows[i])];
    const { discriminator } = await loadGuidance(guidance, bases);
    const condition = conditioned ? classConditions(batch.meta.label as number[], 8) : undefined;
    const { logit } = await discriminator.logit(a, v, tensor(new Int32Array(n).fill(t), [n]), condition);
    return Array.from(logit.data).reduce((s, x) => s + x, 0) / n;
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
    const rng = new Rng(9);
    for (const [i, t] of [10, 60].entries()) {
      const mean = await meanLogitOf(run, [...Array(8).keys()], t, rng, true);
      assert.ok(Math.abs(report.meanLogit.matched[i] - mean) < 1e-5, `t=${t}: ${report.meanLogit.matched[i]} vs ${mean}`);
    }
  });

  it('shuffled within a column gives each audio the video of the next pair with the same value there', async () => {
    const unconditioned = path.join(root, 'guidance-unconditioned');
    const config = validateConfig(GuidanceConfigSchema, {
      discriminator: { width: 8, channelMult: [1], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'B', fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, fusionHeadDim: 8, audioConv: '1d' },
      training: { steps: 2, batchSize: 16, lr: 3e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0, checkpointEvery: 2, logEvery: 1, seed: 0 },
      runtime: { device: 'cpu', threads: 1 },
    }, 'test');
    await trainGuidance({ out: unconditioned, config, real, fake: real, audioBase: bases.audio.dir, videoBase: bases.video.dir });
    const report = await probe({ guidance: unconditioned, pairs: 16, within: 'label', timesteps: [10] });
    assert.deepEqual(Object.keys(report.meanLogit), ['matched', 'shuffled', 'shuffled within']);
    const n = 16;
    const labels = (await new ShardReader(real, { batchSize: n, seed: 0, shuffle: false }).epoch(0).next()).value!.meta.label as number[];
    const nextOfGroup = (i: number) => [...Array(n - 1).keys()].map((k) => (i + 1 + k) % n).find((j) => labels[j] === labels[i]) ?? -1;
    // The probe draws one noise per modality and timestep (audio, then video), shared by every case.
    const rng = new Rng(3);
    const within = [...Array(n).keys()].map(nextOfGroup);
    assert.ok(within.every((j, i) => j !== i && labels[j] === labels[i]));
    const mean = await meanLogitOf(unconditioned, within, 10, rng);
    assert.ok(Math.abs(report.meanLogit['shuffled within'][0] - mean) < 1e-5, `${report.meanLogit['shuffled within'][0]} vs ${mean}`);
    assert.notEqual(report.meanLogit['shuffled within'][0], report.meanLogit.shuffled[0]);
    await assert.rejects(probe({ guidance: unconditioned, within: 'digit' }), /no meta column 'digit' \(--within\)/);
    await assert.rejects(probe({ within: 'label' }), /--within label: only for an unconditioned discriminator/);
  });

  it('bad input fails naming the flag', async () => {
    await assert.rejects(probe({ column: 'digit' }), /no meta column 'digit' \(--column\); it has: label/);
    await assert.rejects(probe({ pairs: 64 }), /holds 32 pairs, fewer than --pairs 64/);
    await assert.rejects(probe({ timesteps: [10, 100] }), /--t 100: the base models' timesteps are the integers 0 … 99/);
  });
});
