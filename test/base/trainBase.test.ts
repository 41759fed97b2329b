/**
 * train-base / sample-base on a tiny synthetic dataset: a crash and resume continues the uninterrupted loss
 * trajectory exactly (finding the data where the checkpoint records it, relative to itself); the checkpoint
 * directory holds what it promises; sampling writes arrays and media.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sampleBase } from '../../ts/base/sample';
import { trainBase } from '../../ts/base/train';
import { BASE_CHECKPOINT_FILES, epsModelFromCheckpoint, readBaseCheckpoint } from '../../ts/checkpoint/baseCheckpoint';
import { readSafetensors } from '../../ts/checkpoint/safetensors';
import type { BaseModelConfig } from '../../ts/config/baseModel';
import { writeTinyPairs } from '../fixtures/tinyPairs';

function config(modality: 'audio' | 'video'): BaseModelConfig {
  return {
    modality,
    network: { baseChannels: 8, channelMult: [1, 2], resBlocks: 1, timeDim: 16, groups: 4, midAttention: true, temporalKernel: 3 },
    schedule: { kind: 'cosine', timesteps: 1000 },
    training: {
      steps: 8, batchSize: 4, lr: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, gradClip: 1,
      emaDecay: 0.9, checkpointEvery: 2, logEvery: 1, seed: 3,
    },
    runtime: { device: 'cpu', threads: 1, cudaPrecision: 'bf16', cpuPrecision: 'fp32' },
  };
}

describe('train-base and sample-base', function () {
  this.timeout(120_000);
  let root = '';
  let data = '';

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'mmdisco-base-'));
    data = path.join(root, 'data');
    await writeTinyPairs(data, 20); // 5 batches per epoch: the 8 steps cross an epoch boundary
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const modality of ['audio', 'video'] as const) {
    it(`${modality}: after a crash, resuming continues the uninterrupted loss trajectory exactly`, async () => {
      const whole = path.join(root, `${modality}-whole`);
      const uninterrupted: number[] = [];
      await trainBase({ out: whole, config: config(modality), dataDir: data, onStep: (_, loss) => uninterrupted.push(loss) });
      assert.equal(uninterrupted.length, 8);

      const crashed = path.join(root, `${modality}-crashed`);
      const crash = new Error('simulated crash after step 5 (last checkpoint: step 4)');
      await assert.rejects(
        trainBase({ out: crashed, config: config(modality), dataDir: data, onStep: (step) => { if (step === 5) throw crash; } }),
        (e) => e === crash,
      );
      await assert.rejects(trainBase({ out: crashed, config: config(modality), dataDir: data }), /--resume/);
      // The checkpoint records its data relative to itself, and the resume below finds it from there.
      assert.equal(readBaseCheckpoint(crashed).config.data.dir, path.join('..', 'data'));
      const resumed: [number, number][] = [];
      await trainBase({ out: crashed, resume: true, onStep: (step, loss) => resumed.push([step, loss]) });
      assert.deepEqual(resumed.map(([step]) => step), [5, 6, 7, 8]);
      assert.deepEqual(resumed.map(([, loss]) => loss), uninterrupted.slice(4));

      for (const file of Object.values(BASE_CHECKPOINT_FILES)) assert.ok(existsSync(path.join(crashed, file)), file);
      const [a, b] = [readSafetensors(path.join(whole, 'weights.safetensors')), readSafetensors(path.join(crashed, 'weights.safetensors'))];
      for (const name of Object.keys(a.tensors)) assert.deepEqual(b.tensors[name].data, a.tensors[name].data, name);
      const log = readFileSync(path.join(crashed, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(log.some((e) => e.event === 'resume' && e.step === 4));
      // Where each logged step's time went: waiting for data, the native step, the bookkeeping.
      for (const { msPerStep } of log.filter((e) => e.event === 'train')) {
        assert.ok(msPerStep.step > 0 && msPerStep.data >= 0 && msPerStep.other >= 0, JSON.stringify(msPerStep));
      }
    });
  }

  it('loads a checkpoint as an EpsModel and samples arrays and media from it', async () => {
    const ckpt = path.join(root, 'video-whole');
    const { model, checkpoint, step } = await epsModelFromCheckpoint(ckpt);
    assert.equal(step, 8);
    assert.deepEqual(checkpoint.config.data.inputShape, [4, 1, 8, 8]);
    assert.ok(model.parameterCount > 0);

    const videoOut = path.join(root, 'video-samples');
    const written = await sampleBase({ ckpt, modality: 'video', n: 3, sampler: 'ddim', steps: 4, seed: 1, out: videoOut });
    assert.ok(written.includes(path.join(videoOut, 'grid.png')));
    const { tensors } = readSafetensors(path.join(videoOut, 'samples.safetensors'));
    assert.deepEqual(tensors.video.shape, [3, 4, 1, 8, 8]);
    assert.ok(tensors.video.data instanceof Uint8Array);

    const audioOut = path.join(root, 'audio-samples');
    await sampleBase({ ckpt: path.join(root, 'audio-whole'), modality: 'audio', n: 2, sampler: 'ddpm', steps: 4, seed: 1, out: audioOut });
    assert.deepEqual(readSafetensors(path.join(audioOut, 'samples.safetensors')).tensors.audio_mel.shape, [2, 24, 8]);
    assert.ok(existsSync(path.join(audioOut, 'sample-001.wav')));
    await assert.rejects(sampleBase({ ckpt, modality: 'audio', n: 1, sampler: 'ddim', steps: 2, seed: 0, out: audioOut }), /holds a video model/);
  });
});
