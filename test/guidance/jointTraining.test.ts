/**
 * Fake banks and discriminator training from a joint base model, through the CLI: the official MM-Diffusion U-Net
 * fixture (TorchScript, batch 2; test/fixtures/official-mmdisco) draws a fake bank in its own layout (float32 audio
 * and video at joint.json's shapes), byte for byte again with the same flags; real pairs come in with `data
 * import-pairs`; `train-guidance --joint-base` trains a small discriminator with the denoising loss's ε̂ from the
 * joint model; pair sets of another joint base or layout are refused naming both sides; `sample-joint --guidance`
 * samples with the trained module.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../../ts/checkpoint/safetensors';
import { JOINT_BASE_FILE } from '../../ts/config/jointBase';
import { readIndex, ShardWriter } from '../../ts/data';
import { mmdisco } from '../fixtures/cli';
import { FIXTURE_JOINT_BASE as JOINT, officialFixtures as fixtures } from '../fixtures/jointUnet';


/** A small discriminator for the fixture's shapes: 1-D audio tower over the waveform, fusion A. */
const GUIDANCE_CONFIG = {
  discriminator: { width: 16, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 8, fusion: 'A', audioConv: '1d' },
  training: {
    steps: 40,
    batchSize: 2,
    lr: 0.002,
    weightDecay: 0,
    gradClip: 1,
    lambdaDenoising: 1,
    checkpointEvery: 40,
    logEvery: 10,
    timestepRange: [0, 200],
    timestepBuckets: 2,
    seed: 0,
  },
  runtime: { device: 'cpu', threads: 1 },
};

/** Real pairs unlike the untrained U-Net's samples: a smooth moving pattern and a sine, in [−0.5, 0.5]. */
function realPairs(n: number): { audio: Float32Array; video: Float32Array } {
  const audio = new Float32Array(n * 1600);
  const video = new Float32Array(n * 8 * 3 * 64);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 1600; s++) audio[i * 1600 + s] = 0.5 * Math.sin((2 * Math.PI * (220 + 40 * i) * s) / 16000);
    for (let f = 0; f < 8; f++) {
      for (let p = 0; p < 3 * 64; p++) video[((i * 8 + f) * 3 * 64) + p] = 0.5 * Math.sin((p % 64) / 10 + f / 4 + i);
    }
  }
  return { audio, video };
}

interface TrainLog {
  event: string;
  bce: number;
  denoising: number;
  dReal: number;
  dFake: number;
}

describe('fake banks and discriminator training from a joint base model', function () {
  this.timeout(600_000);
  let root = '';
  let joint = '';
  const at = (name: string) => path.join(root, name);
  const ok = (run: ReturnType<typeof mmdisco>) => assert.equal(run.status, 0, run.stderr);
  const jointDir = (name: string): string => {
    const dir = at(name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, JOINT_BASE_FILE), JSON.stringify(JOINT));
    return dir;
  };
  const fakes = (out: string) => mmdisco('fakes', 'generate', '--joint-base', joint, '--n', '4', '--steps', '3', '--seed', '11', '--out', out);

  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-joint-train-'));
    joint = jointDir('joint');
    const real = realPairs(4);
    await writeSafetensors(at('real.safetensors'), { audio: { data: real.audio, shape: [4, 1, 1600] }, video: { data: real.video, shape: [4, 8, 3, 8, 8] } });
    writeFileSync(at('guidance.json'), JSON.stringify(GUIDANCE_CONFIG));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('writes a fake bank of the joint model in its layout, byte for byte again with the same flags', () => {
    ok(fakes(at('fakes')));
    ok(fakes(at('fakes-again')));
    const index = readIndex(at('fakes'));
    assert.equal(index.pairs, 4);
    assert.deepEqual(
      index.tensors.map((t) => [t.name, t.dtype, t.shape]),
      [['video', 'float32', [8, 3, 8, 8]], ['audio', 'float32', [1, 1600]]],
    );
    const provenance = index.dataset.provenance as { layout: string; jointBase: string; sampler: string; generator: { kind: string; thresholding: boolean } };
    assert.equal(provenance.layout, 'joint-base');
    assert.equal(provenance.jointBase, path.resolve(joint));
    assert.equal(provenance.sampler, 'dpm-solver++-3s');
    assert.deepEqual([provenance.generator.kind, provenance.generator.thresholding], ['joint', true]);
    const files = readdirSync(at('fakes')).sort();
    assert.deepEqual(readdirSync(at('fakes-again')).sort(), files);
    for (const file of files) assert.ok(readFileSync(path.join(at('fakes'), file)).equals(readFileSync(path.join(at('fakes-again'), file))), file);
  });

  it('imports real pairs checked against the joint base, and refuses tensors that do not fit it', async () => {
    ok(mmdisco('data', 'import-pairs', '--from', at('real.safetensors'), '--joint-base', joint, '--out', at('real')));
    const index = readIndex(at('real'));
    assert.equal(index.pairs, 4);
    assert.equal((index.dataset.provenance as { jointBase: string }).jointBase, path.resolve(joint));

    const { audio, video } = realPairs(2);
    await writeSafetensors(at('wrong-shape.safetensors'), { audio: { data: audio, shape: [2, 1, 1600] }, video: { data: video.subarray(0, 2 * 8 * 3 * 16), shape: [2, 8, 3, 4, 4] } });
    const wrongShape = mmdisco('data', 'import-pairs', '--from', at('wrong-shape.safetensors'), '--joint-base', joint, '--out', at('x1'));
    assert.notEqual(wrongShape.status, 0);
    assert.match(wrongShape.stderr, /tensor 'video' is \[2,8,3,4,4\], --joint-base .* needs \[N, 8,3,8,8\]/);
    audio[5] = 3;
    await writeSafetensors(at('out-of-range.safetensors'), { audio: { data: audio, shape: [2, 1, 1600] }, video: { data: video, shape: [2, 8, 3, 8, 8] } });
    const outOfRange = mmdisco('data', 'import-pairs', '--from', at('out-of-range.safetensors'), '--joint-base', joint, '--out', at('x2'));
    assert.notEqual(outOfRange.status, 0);
    assert.match(outOfRange.stderr, /tensor 'audio' holds 3 at element 5, outside the joint base's data range/);
  });

  it('trains a discriminator with the joint model\'s ε̂, then samples with it', () => {
    ok(mmdisco('train-guidance', '--joint-base', joint, '--real', at('real'), '--fake', at('fakes'), '--config', at('guidance.json'), '--out', at('run')));
    const logs = readFileSync(path.join(at('run'), 'log.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrainLog);
    const windows = logs.filter((l) => l.event === 'train');
    assert.equal(windows.length, 4);
    const [first, last] = [windows[0], windows[windows.length - 1]];
    assert.ok(last.bce < first.bce, `bce ${first.bce} → ${last.bce}`);
    assert.ok(last.dReal - last.dFake > first.dReal - first.dFake, `D(real) − D(fake) ${first.dReal - first.dFake} → ${last.dReal - last.dFake}`);
    for (const w of windows) assert.ok(Number.isFinite(w.denoising) && w.denoising > 0, `denoising loss ${w.denoising}`);
    const run = JSON.parse(readFileSync(path.join(at('run'), 'config.json'), 'utf8')) as { jointBase: string; audioBase?: string };
    assert.equal(run.jointBase, path.resolve(joint));
    assert.equal(run.audioBase, undefined);

    const common = ['--joint-base', joint, '--n', '2', '--steps', '3', '--seed', '4'];
    ok(mmdisco('sample-joint', ...common, '--out', at('unguided')));
    ok(mmdisco('sample-joint', ...common, '--guidance', at('run'), '--lambda-audio', '1', '--lambda-video', '1', '--out', at('guided')));
    const read = (dir: string) => readSafetensors(path.join(at(dir), 'samples.safetensors')).tensors.video.data as Float32Array;
    const [unguided, guided] = [read('unguided'), read('guided')];
    assert.ok(guided.every((v) => Number.isFinite(v)));
    const change = Math.max(...guided.map((v, i) => Math.abs(v - unguided[i])));
    assert.ok(change > 0, 'the trained module moves the samples');
  });

  it('refuses pair sets of another joint base or of another layout, naming both sides', async () => {
    const other = jointDir('other-joint');
    ok(mmdisco('data', 'import-pairs', '--from', at('real.safetensors'), '--joint-base', other, '--out', at('real-other')));
    const train = (real: string, out: string) =>
      mmdisco('train-guidance', '--joint-base', joint, '--real', real, '--fake', at('fakes'), '--config', at('guidance.json'), '--out', at(out));
    const otherBase = train(at('real-other'), 'run-other');
    assert.notEqual(otherBase.status, 0);
    assert.ok(
      otherBase.stderr.includes(`--real ${at('real-other')} holds pairs of joint base ${path.resolve(other)} but --joint-base is ${path.resolve(joint)}`),
      otherBase.stderr,
    );

    // Pairs in the single-modality base models' layout: uint8 video, log-mel audio.
    const writer = await ShardWriter.open(at('mel-pairs'), {
      tensors: [{ name: 'video', dtype: 'uint8', shape: [8, 3, 8, 8] }, { name: 'audio_mel', dtype: 'float32', shape: [16, 8] }],
      meta: [],
      dataset: { name: 'small', split: 'train', preset: 'test', seed: 0, provenance: {} },
    });
    for (let i = 0; i < 2; i++) await writer.append({ tensors: { video: new Uint8Array(8 * 3 * 64), audio_mel: new Float32Array(128) }, meta: {} });
    await writer.close();
    const otherLayout = train(at('mel-pairs'), 'run-layout');
    assert.notEqual(otherLayout.status, 0);
    assert.match(otherLayout.stderr, /--real .*mel-pairs holds pairs in the single-modality base models' layout \(video uint8 \[8,3,8,8\], audio_mel float32 \[16,8\]\) but --joint-base .* needs the 'joint-base' layout/);
  });
});
