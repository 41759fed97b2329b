import { Rng } from '../util/random';
import { SampleSet, checkSameDim, checkSampleSet, selectRows } from './samples';

export interface KernelInceptionDistanceOptions {
  /** Number of random subsets (default 20). */
  subsets?: number;
  /** Rows drawn without replacement from each set per subset (default 500; capped at the smaller set). */
  subsetSize?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
}

export interface KernelInceptionDistance {
  /** Mean of the per-subset MMD² estimates. */
  mean: number;
  /** Sample standard deviation (n − 1) of the per-subset estimates; 0 with a single subset. */
  std: number;
  /** The per-subset estimates. */
  values: Float64Array;
}

/**
 * Kernel Inception Distance (KID / KVD / KAD depending on the features): the unbiased MMD² estimate with
 * the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets. Unbiased means it
 * is ≈ 0 (and may be slightly negative) when both sets come from the same distribution.
 */
export function kernelInceptionDistance(
  x: SampleSet,
  y: SampleSet,
  options: KernelInceptionDistanceOptions = {},
): KernelInceptionDistance {
  const subsets = options.subsets ?? 20;
  checkSampleSet(x, 'kernelInceptionDistance: x', 2);
  checkSampleSet(y, 'kernelInceptionDistance: y', 2);
  checkSameDim(x, y, 'kernelInceptionDistance');
  if (!Number.isInteger(subsets) || subsets < 1) {
    throw new Error(`kernelInceptionDistance: subsets must be a positive integer, got ${subsets}`);
  }
  const size = Math.min(options.subsetSize ?? 500, x.n, y.n);
  if (!Number.isInteger(size) || size < 2) {
    throw new Error(`kernelInceptionDistance: subsetSize must be an integer ≥ 2, got ${options.subsetSize}`);
  }
  const rng = new Rng(options.seed ?? 0);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    const xs = drawRows(x, size, rng);
    const ys = drawRows(y, size, rng);
    values[s] = unbiasedPolynomialMmd2(xs, ys, size, x.dim);
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= subsets;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  const std = subsets > 1 ? Math.sqrt(squares / (subsets - 1)) : 0;
  return { mean, std, values };
}

/** `size` rows of `set` drawn without replacement, as float64. */
function drawRows(set: SampleSet, size: number, rng: Rng): Float64Array {
  return selectRows(set, rng.permutation(set.n).subarray(0, size)).data;
}

function unbiasedPolynomialMmd2(xs: Float64Array, ys: Float64Array, m: number, dim: number): number {
  const kernel = (a: Float64Array, i: number, b: Float64Array, j: number): number => {
    let dot = 0;
    const ai = i * dim;
    const bj = j * dim;
    for (let k = 0; k < dim; k++) dot += a[ai + k] * b[bj + k];
    const base = dot / dim + 1;
    return base * base * base;
  };
  let sumXX = 0;
  let sumYY = 0;
  let sumXY = 0;
  for (let i = 0; i < m; i++) {
    // Off-diagonal pairs only (i < j, counted twice): the diagonal is what makes the plain estimate biased.
    for (let j = i + 1; j < m; j++) {
      sumXX += kernel(xs, i, xs, j);
      sumYY += kernel(ys, i, ys, j);
    }
    for (let j = 0; j < m; j++) sumXY += kernel(xs, i, ys, j);
  }
  return (2 * (sumXX + sumYY)) / (m * (m - 1)) - (2 * sumXY) / (m * m);
}
