import { Rng } from '../util/random';
import { SampleSet, checkSameDim, checkSampleSet } from './samples';

export interface SlicedWassersteinOptions {
  /** Number of random directions (default 256). */
  projections?: number;
  /** Seed of the directions (default 0); the same seed gives the same directions for any inputs. */
  seed?: number;
}

/**
 * Sliced 2-Wasserstein distance between two empirical distributions:
 *   SW₂(x, y) = sqrt( mean over random unit directions θ of W₂²(θ·x, θ·y) ),
 * with θ uniform on the sphere. In one dimension this is the ordinary W₂ (θ = ±1), so N(0,1) vs N(m,1)
 * gives |m|; a pure shift by m in d dimensions gives |m|/√d.
 *
 * The 1-D W₂² between sets of n and m points is computed exactly from their quantile functions (step
 * functions with breaks at i/n and j/m), so the sets may differ in size.
 */
export function slicedWasserstein(x: SampleSet, y: SampleSet, options: SlicedWassersteinOptions = {}): number {
  const projections = options.projections ?? 256;
  checkSampleSet(x, 'slicedWasserstein: x', 1);
  checkSampleSet(y, 'slicedWasserstein: y', 1);
  checkSameDim(x, y, 'slicedWasserstein');
  if (!Number.isInteger(projections) || projections < 1) {
    throw new Error(`slicedWasserstein: projections must be a positive integer, got ${projections}`);
  }
  const rng = new Rng(options.seed ?? 0);
  const direction = new Float64Array(x.dim);
  const projectedX = new Float64Array(x.n);
  const projectedY = new Float64Array(y.n);
  let sumSquared = 0;
  for (let p = 0; p < projections; p++) {
    randomUnitVector(rng, direction);
    project(x, direction, projectedX);
    project(y, direction, projectedY);
    projectedX.sort();
    projectedY.sort();
    sumSquared += sortedWassersteinSquared(projectedX, projectedY);
  }
  return Math.sqrt(sumSquared / projections);
}

/**
 * Exact W₂² between the empirical distributions of two sorted samples: the integral over u ∈ [0, 1) of
 * (Qa(u) − Qb(u))², where the quantile functions are constant between the breaks i/n and j/m.
 */
export function sortedWassersteinSquared(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  let i = 0;
  let j = 0;
  // The current position u is (integer numerator)/(n·m), which keeps the break comparisons exact.
  let position = 0;
  let total = 0;
  while (i < n && j < m) {
    const nextA = (i + 1) * m;
    const nextB = (j + 1) * n;
    const next = Math.min(nextA, nextB);
    const diff = a[i] - b[j];
    total += (next - position) * diff * diff;
    position = next;
    if (nextA === next) i++;
    if (nextB === next) j++;
  }
  return total / (n * m);
}

function randomUnitVector(rng: Rng, out: Float64Array): void {
  let norm = 0;
  // A zero draw has probability zero but would give no direction; redraw rather than divide by zero.
  while (norm === 0) {
    rng.fillGaussian(out);
    let sumSquares = 0;
    for (let k = 0; k < out.length; k++) sumSquares += out[k] * out[k];
    norm = Math.sqrt(sumSquares);
  }
  for (let k = 0; k < out.length; k++) out[k] /= norm;
}

function project(set: SampleSet, direction: Float64Array, out: Float64Array): void {
  const { data, dim } = set;
  for (let i = 0; i < set.n; i++) {
    let dot = 0;
    const row = i * dim;
    for (let k = 0; k < dim; k++) dot += data[row + k] * direction[k];
    out[i] = dot;
  }
}
