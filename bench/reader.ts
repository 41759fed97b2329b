/**
 * Shard-layer throughput: pairs/s written by ShardWriter and read (shuffled, into contiguous batch
 * arrays) by ShardReader, for pairs of the `small` and `paper` unit sizes.
 *
 *   node dist/bench/reader.js [--pairs-scale S]   prints one JSON object per unit
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { elementCount, type MetaSpec, type PairRecord, ShardReader, ShardWriter, type TensorArray, type TensorSpec } from '../ts/data';
import { Rng } from '../ts/util/random';

interface Unit {
  name: string;
  pairs: number;
  tensors: TensorSpec[];
}

/** Tensor sizes of the two presets (video frames × H × W × C, log-mel bins × frames, waveform samples). */
const UNITS: Unit[] = [
  {
    name: 'small',
    pairs: 4096,
    tensors: [
      { name: 'video', dtype: 'uint8', shape: [8, 16, 16, 1] },
      { name: 'mel', dtype: 'float32', shape: [32, 160] },
    ],
  },
  {
    name: 'paper',
    pairs: 512,
    tensors: [
      { name: 'video', dtype: 'uint8', shape: [16, 64, 64, 3] },
      { name: 'mel', dtype: 'float32', shape: [64, 160] },
      { name: 'wave', dtype: 'int16', shape: [25600] },
    ],
  },
];

const META: MetaSpec[] = [
  { name: 'label', type: 'int32' },
  { name: 'truth', type: 'json' },
];

export interface ReaderBenchResult {
  unit: string;
  pairs: number;
  bytesPerPair: number;
  writePairsPerSecond: number;
  readPairsPerSecond: number;
  /** Rank 0 of 2: its own half of the pairs per second. */
  readTwoRanksPairsPerSecond: number;
}

export async function benchReader(unit: Unit, batchSize = 64): Promise<ReaderBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmdisco-bench-reader-'));
  try {
    const rng = new Rng(1);
    // One random pair, appended repeatedly: the bench measures the shard layer, not pair synthesis.
    const pair: PairRecord = {
      tensors: Object.fromEntries(unit.tensors.map((spec) => [spec.name, randomTensor(spec, rng)])),
      meta: { label: 3, truth: { onsets: [0.25, 0.75] } },
    };
    let started = performance.now();
    const writer = await ShardWriter.open(dir, {
      tensors: unit.tensors,
      meta: META,
      dataset: { name: 'bench', split: 'train', preset: unit.name, seed: 1, provenance: {} },
      pairsPerShard: 256,
    });
    for (let i = 0; i < unit.pairs; i++) await writer.append(pair);
    const index = await writer.close();
    const writeSeconds = (performance.now() - started) / 1000;

    const readRate = async (worldSize: number): Promise<number> => {
      started = performance.now();
      let pairs = 0;
      for await (const batch of new ShardReader(dir, { batchSize, seed: 1, worldSize }).epoch(0)) pairs += batch.indices.length;
      return pairs / ((performance.now() - started) / 1000);
    };
    return {
      unit: unit.name,
      pairs: unit.pairs,
      bytesPerPair: Math.round(index.shards.reduce((sum, shard) => sum + shard.bytes, 0) / unit.pairs),
      writePairsPerSecond: Math.round(unit.pairs / writeSeconds),
      readPairsPerSecond: Math.round(await readRate(1)),
      readTwoRanksPairsPerSecond: Math.round(await readRate(2)),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function randomTensor(spec: TensorSpec, rng: Rng): TensorArray {
  const size = elementCount(spec.shape);
  switch (spec.dtype) {
    case 'float32':
      return rng.fillGaussian(new Float32Array(size));
    case 'uint8':
      return Uint8Array.from({ length: size }, () => rng.int(256));
    case 'int16':
      return Int16Array.from({ length: size }, () => rng.int(65536) - 32768);
    case 'int32':
      return Int32Array.from({ length: size }, () => rng.nextUint32() | 0);
  }
}

async function main(): Promise<void> {
  const scaleFlag = process.argv.indexOf('--pairs-scale');
  const scale = scaleFlag >= 0 ? Number(process.argv[scaleFlag + 1]) : 1;
  for (const unit of UNITS) {
    console.log(JSON.stringify(await benchReader({ ...unit, pairs: Math.max(1, Math.round(unit.pairs * scale)) })));
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
