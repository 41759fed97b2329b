import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataset, PairFactory } from '../../datasets/build';
import { DatasetName } from '../../ts/core/datasets';
import { PresetName, resolveUnit } from '../../ts/core/unit';
import { speechBank, indexSpeech, VOICES } from '../../datasets/sources/speech';
import { previewPair } from '../../ts/cli/dataBuild';
import { DatasetIndex } from '../../ts/data/datasetIndex';
import { probeStreams } from '../media/ffprobe';

describe('dataset builds', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'mmdisco-datasets-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const build = (dataset: DatasetName, seed: number, out: string, preset: PresetName = 'small', pairs = 10): Promise<DatasetIndex> =>
    buildDataset({ dataset, split: 'train', preset, unit: resolveUnit(preset), pairs, seed, out: join(dir, out), pairsPerShard: 6 });

  for (const dataset of ['spoken-mnist', 'bouncing-ball'] as const) {
    it(`${dataset}: the same seed rebuilds byte-identical shards, another seed does not`, async () => {
      const a = await build(dataset, 11, `${dataset}-a`);
      const b = await build(dataset, 11, `${dataset}-b`);
      const c = await build(dataset, 12, `${dataset}-c`);
      assert.equal(a.shards.length, 2);
      assert.deepEqual(
        a.shards.map((s) => s.sha256),
        b.shards.map((s) => s.sha256),
      );
      assert.deepEqual(a.dataset, b.dataset);
      a.shards.forEach((s, i) => assert.notEqual(s.sha256, c.shards[i].sha256));
    });
  }

  it('records the unit and the tensor shapes of each preset', async () => {
    const small = await build('spoken-mnist', 1, 'small-shapes', 'small', 2);
    assert.deepEqual(
      small.tensors.map((t) => [t.name, t.dtype, t.shape]),
      [
        ['video', 'uint8', [8, 1, 16, 16]],
        ['audio_mel', 'float32', [160, 32]],
      ],
    );
    const paper = await build('bouncing-ball', 1, 'paper-shapes', 'paper', 2);
    assert.deepEqual(
      paper.tensors.map((t) => [t.name, t.dtype, t.shape]),
      [
        ['video', 'uint8', [16, 3, 64, 64]],
        ['audio_mel', 'float32', [160, 64]],
        ['audio_wave', 'float32', [25600]],
      ],
    );
    assert.deepEqual(paper.dataset.provenance.unit, resolveUnit('paper'));
  });

  it('previews a mel-only pair (waveform re-rendered) and a waveform pair as mp4 with sound', async () => {
    await build('spoken-mnist', 5, 'preview-small', 'small', 3);
    await build('bouncing-ball', 5, 'preview-paper', 'paper', 3);
    for (const name of ['preview-small', 'preview-paper']) {
      const out = join(dir, `${name}.mp4`);
      await previewPair(join(dir, name), 2, out);
      const types = (await probeStreams(out)).map((s) => s.codec_type).sort();
      assert.deepEqual(types, ['audio', 'video'], name);
    }
  });
});

describe('train/test source disjointness', () => {
  it('holds out voices: no voice serves both splits, and test includes the real speaker', async () => {
    const bank = await speechBank(16000);
    const train = indexSpeech(bank, 'train');
    const test = indexSpeech(bank, 'test');
    const variants = (ix: typeof train): Set<string> => new Set([...ix.variants.values()].flat());
    const trainVariants = variants(train);
    const testVariants = variants(test);
    assert.equal([...trainVariants].filter((v) => testVariants.has(v)).length, 0);
    assert.ok(testVariants.has('allison') && !trainVariants.has('allison'));
    const voiceNames = (split: string): string[] => VOICES.filter((v) => v.split === split).map((v) => `${v.kind}:${v.name}`);
    assert.equal(voiceNames('train').filter((v) => voiceNames('test').includes(v)).length, 0);
  });

  it('renders each split only from its own voices and MNIST file', async () => {
    const unit = resolveUnit('small');
    const bank = await speechBank(unit.sampleRate);
    for (const split of ['train', 'test'] as const) {
      const allowed = new Set([...indexSpeech(bank, split).variants.values()].flat());
      const factory = await PairFactory.create('spoken-mnist', split, 9, unit);
      const kinds = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const meta = factory.render(i).meta;
        assert.ok(allowed.has(meta.voice as string), `${split} pair ${i} uses ${meta.voice}`);
        if (split === 'test') assert.ok((meta.mnist_index as number) < 10000);
        kinds.add(meta.source as string);
      }
      assert.deepEqual([...kinds].sort(), split === 'train' ? ['espeak', 'flite'] : ['allison', 'espeak', 'flite']);
    }
  });

  it('rebuilds the speech bank byte-identically (sox -R)', async function () {
    const cache = mkdtempSync(join(tmpdir(), 'mmdisco-bank-'));
    try {
      const rebuilt = await speechBank(16000, cache);
      const cached = await speechBank(16000);
      assert.equal(rebuilt.manifest.digest, cached.manifest.digest);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
