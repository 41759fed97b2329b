import { SampleSet } from '../../ts/eval/samples';
import { matMul } from '../../ts/util/linalg';
import { Rng } from '../../ts/util/random';

/** A random symmetric positive semi-definite n×n matrix G·Gᵀ of rank `rank`. */
export function randomPsd(n: number, rank: number, rng: Rng): Float64Array {
  const g = rng.fillGaussian(new Float64Array(n * rank));
  const gt = new Float64Array(rank * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < rank; k++) gt[k * n + i] = g[i * rank + k];
  return matMul(g, gt, n, rank, n);
}

/** n rows of independent N(mean[k], std[k]²) coordinates. */
export function gaussianSet(n: number, mean: number[], std: number[], rng: Rng): SampleSet {
  const dim = mean.length;
  const data = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) data[i * dim + k] = mean[k] + std[k] * rng.gaussian();
  return { data, n, dim };
}

