/**
 * Non-finite values stop work where they appear: training at the first non-finite loss or gradient (naming the
 * step and the quantity, with the last checkpoint intact and resumable), weight files holding them are refused by name, and
 * a sampler run that produces them says which pairs and which modality. A resumed run takes the optimiser
 * settings of its resumed config, so a divergence can be resumed with a lower --set training.lr.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { trainBase } from '../../ts/base/train';
import { epsModelFromCheckpoint } from '../../ts/checkpoint/baseCheckpoint';
import { readDiscriminatorWeights } from '../../ts/checkpoint/discriminatorWeights';
import { readSafetensors, writeSafetensors } from '../../ts/checkpoint/safetensors';
import { GuidanceConfigSchema } from '../../ts/config/guidance';
import { validateConfig } from '../../ts/config/load';
import { generateFakes } from '../../ts/guidance/fakes';
import { guidedSample } from '../../ts/guidance/sample';
import { GUIDANCE_FILES, trainGuidance } from '../../ts/guidance/train';
import { tinyBaseConfig, trainTinyBases, writeTinyPairs } from '../fixtures/tinyPairs';

const config = validateConfig(GuidanceConfigSchema, {
  discriminator: { width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A' },
  training: { steps: 8, batchSize: 4, lr: 1e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0.1, checkpointEvery: 1, logEvery: 1, timestepBuckets: 2, seed: 0 },
  runtime: { device: 'cpu', threads: 1 },
}, 'test');

describe('non-finite values', function () {
  this.timeout(300_000);
  let root = '';
  let real = '';
  let fake = '';
  const bases = { audio: '', video: '' };

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'mmdisco-nonfinite-'));
    real = path.join(root, 'real');
    await writeTinyPairs(real, 16);
    Object.assign(bases, await trainTinyBases(root, real));
    fake = path.join(root, 'fake');
    await generateFakes({ audioBase: bases.audio, videoBase: bases.video, n: 8, sampler: 'ddim', steps: 3, seed: 5, batch: 8, out: fake });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('train-guidance stops at the first non-finite loss, keeps the last checkpoint and resumes from it', async () => {
    const out = path.join(root, 'run');
    const diverging = validateConfig(GuidanceConfigSchema, { ...config, training: { ...config.training, lr: 1e30, gradClip: 0 } }, 'test');
    const run = { out, real, fake, audioBase: bases.audio, videoBase: bases.video };
    const stop = /^Error: train-guidance: step (\d+): [a-zA-Z() ]+ is (NaN|-?Infinity); stopped before/;
    const first = await trainGuidance({ ...run, config: diverging }).then(() => '', (error: Error) => String(error));
    assert.match(first, stop);
    const state = JSON.parse(readFileSync(path.join(out, GUIDANCE_FILES.state), 'utf8')) as { step: number };
    assert.equal(state.step, Number(stop.exec(first)![1]) - 1, 'the checkpoint of the step before');
    readDiscriminatorWeights(path.join(out, GUIDANCE_FILES.weights)); // finite, or it would throw
    // Resumed from that checkpoint, the run replays the same step and stops there again.
    await assert.rejects(trainGuidance({ out, resume: true }), (error: Error) => String(error) === first);
  });

  it('a resumed run takes its optimiser settings from the resumed config (--set training.lr), not from its state', async () => {
    const out = path.join(root, 'frozen');
    await trainGuidance({ out, config, real, fake, audioBase: bases.audio, videoBase: bases.video, maxStepsThisRun: 2 });
    const before = readSafetensors(path.join(out, GUIDANCE_FILES.weights)).tensors;
    await trainGuidance({ out, resume: true, overrides: ['training.lr=1e-30'], maxStepsThisRun: 2 });
    const after = readSafetensors(path.join(out, GUIDANCE_FILES.weights)).tensors;
    // AdamW steps of order 1e-30 (and no weight decay) leave every float32 weight where it was.
    for (const [name, tensor] of Object.entries(before)) assert.deepEqual(Array.from(after[name].data), Array.from(tensor.data), name);
  });

  it('a sampler run that produces non-finite values stops, naming the pairs and the modality', async () => {
    // The diverged run's last checkpoint is finite, but its weights are of order 1e30: its residuals are not.
    const opts = { audioBase: bases.audio, videoBase: bases.video, guidance: path.join(root, 'run'), lambdaAudio: 1, lambdaVideo: 1 };
    await assert.rejects(
      guidedSample({ ...opts, n: 4, sampler: 'ddim', steps: 3, seed: 0, batch: 4, out: path.join(root, 'guided'), media: 'none' }),
      /sampling pairs 0 … 3 \(ddim, 3 steps, seed 0\): tensor '(audio|video) \(.*base-(audio|video)\)' holds \d+ non-finite value/,
    );
  });

  it('train-base stops at the first non-finite loss or gradient, naming the step', async () => {
    const out = path.join(root, 'base-diverging');
    const diverging = tinyBaseConfig('audio', { steps: 12, lr: 1e12, gradClip: 0, checkpointEvery: 1 });
    await assert.rejects(trainBase({ out, config: diverging, dataDir: real }),
      /train-base audio: step \d+: (loss is (NaN|-?Infinity)|the gradient of '[\w.]+' is not finite; stopped before the optimiser step)/);
  });

  it('refuses weight files with non-finite values, naming the file and the tensor', async () => {
    const weights = path.join(root, 'run', GUIDANCE_FILES.weights); // finite: written before the divergence
    const { tensors, metadata } = readSafetensors(weights);
    const [name] = Object.keys(tensors);
    (tensors[name].data as Float32Array)[0] = Number.NaN;
    const broken = path.join(root, 'broken.safetensors');
    await writeSafetensors(broken, tensors, metadata);
    assert.throws(() => readDiscriminatorWeights(broken), new RegExp(`broken\\.safetensors: refused: tensor '${name.replace(/\./g, '\\.')}' holds 1 non-finite value`));

    const base = readSafetensors(path.join(bases.video, 'weights.safetensors'));
    const [first] = Object.keys(base.tensors);
    (base.tensors[first].data as Float32Array).fill(Number.POSITIVE_INFINITY, 0, 3);
    await writeSafetensors(path.join(bases.video, 'weights.safetensors'), base.tensors, base.metadata);
    await assert.rejects(epsModelFromCheckpoint(bases.video), /weights\.safetensors: refused: tensor '.*' holds 3 non-finite value/);
  });
});
