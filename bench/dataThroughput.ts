/**
 * Is the data pipeline ever the bottleneck of training? For each dataset at a preset, measures
 *   - build rate: pairs/s rendered and written as shards by buildDataset (sound banks cached beforehand);
 *   - reader rate: pairs/s streamed by ShardReader (shuffled, batches of 64) into the contiguous typed arrays
 *     that the addon wraps as tensors without copying, i.e. what a training loop receives;
 *   - training consumption: pairs/s consumed by one training step on the same batches, a light one:
 *     the evaluator classifier trainer, the audio and video classifiers stepping side by side as in `eval
 *     train-evaluators` (train-base and train-guidance log their own loops' data time, `msPerStep` of log.jsonl).
 * and writes bench/results/data-<host>.json with the machine described.
 *
 *   node dist/bench/dataThroughput.js [--pairs N] [--preset small|paper] [--out FILE]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildDataset, PairFactory } from '../datasets/build';
import { DATASET_NAMES, type DatasetName } from '../ts/core/datasets';
import { PRESET_NAMES, resolveUnit, type PresetName } from '../ts/core/unit';
import { ShardReader } from '../ts/data';
import { native, tensor } from '../ts/native';
import { writeJsonAtomic } from '../ts/core/atomicWrite';
import { describeMachine } from './machine';

const BATCH = 64;

interface DatasetResult {
  dataset: DatasetName;
  preset: PresetName;
  pairs: number;
  buildPairsPerSecond: number;
  readPairsPerSecond: number;
  trainStepPairsPerSecond: number;
  /** reader rate / training consumption: above 1 means the reader keeps ahead of training. */
  readerHeadroom: number;
}

async function benchDataset(dataset: DatasetName, preset: PresetName, pairs: number): Promise<DatasetResult> {
  const unit = resolveUnit(preset);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mmdisco-bench-${dataset}-`));
  try {
    await PairFactory.create(dataset, 'train', 0, unit); // sound banks rendered and cached outside the timing
    let started = performance.now();
    await buildDataset({ dataset, split: 'train', preset, unit, pairs, seed: 0, out: path.join(dir, 'data'), overwrite: true });
    const buildSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    let read = 0;
    for await (const batch of new ShardReader(path.join(dir, 'data'), { batchSize: BATCH, seed: 1 }).epoch(0)) read += batch.indices.length;
    const readSeconds = (performance.now() - started) / 1000;

    const trainRate = await trainingConsumption(path.join(dir, 'data'));
    const readRate = read / readSeconds;
    return {
      dataset,
      preset,
      pairs,
      buildPairsPerSecond: round(pairs / buildSeconds),
      readPairsPerSecond: round(readRate),
      trainStepPairsPerSecond: round(trainRate),
      readerHeadroom: round(readRate / trainRate),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Pairs/s through classifier training steps fed by the reader (first batch excluded: warm-up). */
async function trainingConsumption(dir: string): Promise<number> {
  const reader = new ShardReader(dir, { batchSize: BATCH, seed: 2, dropLast: true });
  const shapes = Object.fromEntries(reader.index.tensors.map((t) => [t.name, t.shape]));
  const classifiers = {
    audio: new native.Classifier({ threads: 1, network: { kind: 'mel-cnn', inputShape: shapes.audio_mel, classes: 10, inputMean: -6, inputStd: 3 }, augmentation: { gainLog: 1, melShift: 2 } }),
    video: new native.Classifier({ threads: 1, network: { kind: 'video-cnn', inputShape: shapes.video, classes: 10 } }),
  };
  let started = 0;
  let consumed = 0;
  for await (const batch of reader.epoch(0)) {
    const labels = tensor(new Int32Array(BATCH).map((_, i) => i % 10), [BATCH]);
    await Promise.all([
      classifiers.audio.trainSteps(tensor(batch.tensors.audio_mel as Float32Array, [BATCH, ...shapes.audio_mel]), labels, BATCH),
      classifiers.video.trainSteps(tensor(batch.tensors.video as Uint8Array, [BATCH, ...shapes.video]), labels, BATCH),
    ]);
    if (started === 0) started = performance.now();
    else consumed += BATCH;
  }
  if (consumed === 0) throw new Error('bench: too few pairs for two training batches');
  return consumed / ((performance.now() - started) / 1000);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

async function main(): Promise<void> {
  const flag = (name: string) => {
    const at = process.argv.indexOf(`--${name}`);
    return at >= 0 ? process.argv[at + 1] : undefined;
  };
  const pairs = Number(flag('pairs') ?? 1024);
  const preset = (flag('preset') ?? 'small') as PresetName;
  if (!PRESET_NAMES.includes(preset)) throw new Error(`--preset must be one of ${PRESET_NAMES.join(', ')}`);
  if (!Number.isInteger(pairs) || pairs < 2 * BATCH) throw new Error(`--pairs must be an integer ≥ ${2 * BATCH}`);
  const before = describeMachine();
  const results: DatasetResult[] = [];
  for (const dataset of DATASET_NAMES) {
    const result = await benchDataset(dataset, preset, pairs);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const out = flag('out') ?? path.resolve(__dirname, '..', '..', 'bench', 'results', `data-${os.hostname()}.json`);
  await writeJsonAtomic(out, {
    bench: 'dataThroughput',
    date: new Date().toISOString(),
    machine: { ...before, loadAverage1mAfter: os.loadavg()[0] },
    batchSize: BATCH,
    trainingStep: 'stand-in: evaluator classifier trainer (mel-cnn and video-cnn, width 16, one thread each, side by side)',
    results,
  });
  console.error(`wrote ${out}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
