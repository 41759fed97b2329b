import { native, tensor } from '../native';
import { SampleSet, checkSameDim, checkSampleSet } from './samples';

/** Mean and covariance of a sample set, in float64; cov is dim×dim row-major. */
export interface GaussianStats {
  mean: Float64Array;
  cov: Float64Array;
  dim: number;
}

/** Sample mean and unbiased (n − 1) covariance of a set with at least two rows. */
export function gaussianStats(set: SampleSet): GaussianStats {
  checkSampleSet(set, 'gaussianStats', 2);
  const { data, n, dim } = set;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dim; k++) mean[k] += data[i * dim + k];
  }
  for (let k = 0; k < dim; k++) mean[k] /= n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dim; k++) centred[k] = data[i * dim + k] - mean[k];
    // Upper triangle only; mirrored below.
    for (let a = 0; a < dim; a++) {
      const ca = centred[a];
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const value = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = value;
      cov[b * dim + a] = value;
    }
  }
  return { mean, cov, dim };
}

/**
 * Fréchet (2-Wasserstein) distance squared between N(muA, covA) and N(muB, covB):
 *   |muA − muB|² + tr covA + tr covB − 2 tr (covA^½ covB covA^½)^½,
 * the quantity reported as FID/FAD/FVD. The cross term uses the symmetric form, so only symmetric
 * eigendecompositions are needed and the result is exact to rounding (no iterative sqrtm). Computed by LibTorch
 * through the addon (native/src/linalg.h: LAPACK's eigensolver and BLAS products, in float64); equal
 * distributions give rounding noise, clamped at 0.
 */
export function frechetDistance(muA: Float64Array, covA: Float64Array, muB: Float64Array, covB: Float64Array): number {
  const dim = muA.length;
  if (muB.length !== dim || covA.length !== dim * dim || covB.length !== dim * dim) {
    throw new Error(
      `frechetDistance: shapes disagree (means ${muA.length} and ${muB.length}, covariances ${covA.length} and ${covB.length} entries)`,
    );
  }
  return native.frechetDistance(tensor(muA, [dim]), tensor(covA, [dim, dim]), tensor(muB, [dim]), tensor(covB, [dim, dim]));
}

/** Fréchet distance between Gaussians fitted to two sample sets (e.g. classifier features). */
export function frechetFromSamples(x: SampleSet, y: SampleSet): number {
  checkSameDim(x, y, 'frechetFromSamples');
  const a = gaussianStats(x);
  const b = gaussianStats(y);
  return frechetDistance(a.mean, a.cov, b.mean, b.cov);
}
