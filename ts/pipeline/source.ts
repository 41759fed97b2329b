/**
 * Where a stage takes its audio-video pairs from: Arrow shards on disk (datasets/, `fakes generate`, `sample`), or
 * pairs in memory, drawn on demand (fresh samples of a known distribution, or rows of a set of pairs held in memory).
 */
import type { CoupledGaussianMixture } from '../core/mixture';
import type { Modality } from '../core/modality';
import { sampleMixture } from '../eval/mixture';
import { type SampleSet, sampleSet } from '../eval/samples';
import { type Tensor, tensor } from '../native';
import type { Rng } from '../util/random';

/** A dataset directory of Arrow shards with its index.json. */
export interface ShardSource {
  kind: 'shards';
  dir: string;
}

/** Pairs in memory: one row per pair in each modality. */
export interface MemoryPairs {
  audio: SampleSet;
  video: SampleSet;
}

/** Pairs drawn in memory on demand: `draw(n, rng)` gives n pairs, taking all its randomness from rng. */
export interface MemorySource {
  kind: 'memory';
  dims: Record<Modality, number>;
  draw(n: number, rng: Rng): MemoryPairs;
}

export type PairSource = ShardSource | MemorySource;

export function shardSource(dir: string): ShardSource {
  return { kind: 'shards', dir };
}

/** Fresh pairs of a coupled Gaussian mixture. */
export function mixtureSource(mixture: CoupledGaussianMixture): MemorySource {
  return {
    kind: 'memory',
    dims: { audio: mixture.audio.means[0].length, video: mixture.video.means[0].length },
    draw: (n, rng) => {
      const { audio, video } = sampleMixture(mixture, n, rng);
      return { audio, video };
    },
  };
}

/** Rows of a set of pairs in memory, drawn uniformly with replacement. */
export function tensorSource(pairs: MemoryPairs): MemorySource {
  return {
    kind: 'memory',
    dims: { audio: pairs.audio.dim, video: pairs.video.dim },
    draw: (n, rng) => {
      const rows = Int32Array.from({ length: n }, () => rng.int(pairs.audio.n));
      return { audio: pickRows(pairs.audio, rows), video: pickRows(pairs.video, rows) };
    },
  };
}

/** A set of rows as an (n, dim) float32 tensor. */
export function rowsTensor(set: SampleSet): Tensor<Float32Array> {
  return tensor(Float32Array.from(set.data), [set.n, set.dim]);
}

function pickRows(set: SampleSet, rows: Int32Array): SampleSet {
  const out = new Float32Array(rows.length * set.dim);
  for (let i = 0; i < rows.length; i++) {
    for (let d = 0; d < set.dim; d++) out[i * set.dim + d] = set.data[rows[i] * set.dim + d];
  }
  return sampleSet(out, rows.length, set.dim);
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return values.length > 0 ? sum / values.length : NaN;
}
