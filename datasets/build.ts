import { DatasetIndex, readIndex } from '../ts/data/datasetIndex';
import { PairRecord, TensorSpec } from '../ts/data/format';
import { readShardRecordBatch } from '../ts/data/shardFile';
import { ShardWriter } from '../ts/data/writer';
import { MelSpectrogram } from '../ts/media/melspec';
import { bouncingBall } from './bouncing-ball';
import { DatasetDefinition, PreparedDataset, RenderedPair } from './generator';
import { DATASET_NAMES, type DatasetName } from '../ts/core/datasets';
import { audioSamples, melFrames, PresetName, UnitSpec, UnitSpecSchema } from '../ts/core/unit';
import { PairRng } from './rng';
import { Split } from './sources/mnist';
import { spokenMnist } from './spoken-mnist';

export const DATASETS: Record<DatasetName, DatasetDefinition> = { 'spoken-mnist': spokenMnist, 'bouncing-ball': bouncingBall };
export const SPLITS: readonly Split[] = ['train', 'test'];

/** Bumped whenever a change alters the pairs produced for a given (dataset, split, seed, unit). */
export const GENERATOR_VERSION = 1;

/** Tensor columns of a unit: see the conventions in ts/core/unit.ts. */
export function tensorSpecs(unit: UnitSpec): TensorSpec[] {
  const specs: TensorSpec[] = [
    { name: 'video', dtype: 'uint8', shape: [unit.frames, unit.channels, unit.height, unit.width] },
    { name: 'audio_mel', dtype: 'float32', shape: [melFrames(unit), unit.melBins] },
  ];
  if (unit.audioWave) specs.push({ name: 'audio_wave', dtype: 'float32', shape: [audioSamples(unit)] });
  return specs;
}

/** Renders pairs of one (dataset, split, seed, unit) and turns them into shard records. */
export class PairFactory {
  private readonly mel: MelSpectrogram;

  private constructor(
    readonly dataset: DatasetName,
    readonly split: Split,
    readonly seed: number,
    readonly unit: UnitSpec,
    private readonly prepared: PreparedDataset,
  ) {
    this.mel = new MelSpectrogram({ sampleRate: unit.sampleRate, nFft: unit.nFft, hop: unit.hop, melBins: unit.melBins });
  }

  static async create(
    dataset: DatasetName,
    split: Split,
    seed: number,
    unit: UnitSpec,
    cacheDir?: string,
    onBankBuild?: (dir: string, clips: number) => void,
  ): Promise<PairFactory> {
    const definition = DATASETS[dataset];
    if (!definition) throw new Error(`unknown dataset '${dataset}' (known: ${DATASET_NAMES.join(', ')})`);
    return new PairFactory(dataset, split, seed, unit, await definition.prepare(unit, split, cacheDir, onBankBuild));
  }

  /** The factory that re-renders the pairs of a dataset directory, from its index.json. */
  static async forDirectory(dir: string, cacheDir?: string): Promise<{ factory: PairFactory; index: DatasetIndex }> {
    const index = readIndex(dir);
    const { name, split, seed, provenance } = index.dataset;
    if (!(name in DATASETS)) throw new Error(`${dir}: dataset '${name}' is not one this generator knows`);
    if (provenance.generatorVersion !== GENERATOR_VERSION) {
      throw new Error(`${dir}: built by generator version ${String(provenance.generatorVersion)}, this is ${GENERATOR_VERSION}`);
    }
    const unit = UnitSpecSchema.parse(provenance.unit);
    return { factory: await PairFactory.create(name as DatasetName, split as Split, seed, unit, cacheDir), index };
  }

  provenance(): Record<string, unknown> {
    return {
      generatorVersion: GENERATOR_VERSION,
      unit: this.unit,
      pairStream: 'pair i uses sfc32 seeded by sha256("<dataset>/<split>/<seed>/<i>") (datasets/rng.ts)',
      videoEncoding: 'uint8 (frames, channels, height, width); float = x / 127.5 - 1',
      melConvention: 'ts/media/melspec.ts: Hann, centred reflect-padded STFT, |X|, HTK mel 0..sr/2, ln(max(., 1e-5))',
      sources: this.prepared.sources,
    };
  }

  render(index: number): RenderedPair {
    return this.prepared.render(PairRng.forPair(this.dataset, this.split, this.seed, index));
  }

  record(pair: RenderedPair): PairRecord {
    const tensors: PairRecord['tensors'] = { video: pair.video.data, audio_mel: this.mel.compute(pair.wave) };
    if (this.unit.audioWave) tensors.audio_wave = pair.wave;
    return { tensors, meta: pair.meta };
  }
}

export interface BuildOptions {
  dataset: DatasetName;
  split: Split;
  preset: PresetName;
  unit: UnitSpec;
  pairs: number;
  seed: number;
  out: string;
  cacheDir?: string;
  overwrite?: boolean;
  pairsPerShard?: number;
  onBankBuild?: (dir: string, clips: number) => void;
  onProgress?: (done: number) => void;
}

export async function buildDataset(opts: BuildOptions): Promise<DatasetIndex> {
  const factory = await PairFactory.create(opts.dataset, opts.split, opts.seed, opts.unit, opts.cacheDir, opts.onBankBuild);
  const writer = await ShardWriter.open(opts.out, {
    tensors: tensorSpecs(opts.unit),
    meta: DATASETS[opts.dataset].meta,
    dataset: { name: opts.dataset, split: opts.split, preset: opts.preset, seed: opts.seed, provenance: factory.provenance() },
    pairsPerShard: opts.pairsPerShard,
    overwrite: opts.overwrite,
  });
  for (let i = 0; i < opts.pairs; i++) {
    await writer.append(factory.record(factory.render(i)));
    opts.onProgress?.(i + 1);
  }
  return writer.close();
}

/** Reads stored pair `pairIndex` (tensor bytes and meta) from a dataset directory. */
export async function readStoredPair(
  dir: string,
  index: DatasetIndex,
  pairIndex: number,
): Promise<{ tensors: Record<string, Uint8Array>; meta: Record<string, unknown> }> {
  if (!Number.isInteger(pairIndex) || pairIndex < 0 || pairIndex >= index.pairs) {
    throw new RangeError(`pair index ${pairIndex} is outside 0..${index.pairs - 1}`);
  }
  let first = 0;
  const shardIndex = index.shards.findIndex((s) => {
    if (pairIndex < first + s.pairs) return true;
    first += s.pairs;
    return false;
  });
  const inShard = pairIndex - first;
  const batch = await readShardRecordBatch(dir, index, shardIndex, Math.floor(inShard / index.recordBatchSize));
  const row = inShard % index.recordBatchSize;
  const tensors: Record<string, Uint8Array> = {};
  index.tensors.forEach((spec, column) => {
    const width = batch.tensors[column].byteLength / batch.pairs;
    tensors[spec.name] = batch.tensors[column].subarray(row * width, (row + 1) * width);
  });
  const meta = Object.fromEntries(index.meta.map((spec, column) => [spec.name, batch.meta[column][row]]));
  return { tensors, meta };
}
