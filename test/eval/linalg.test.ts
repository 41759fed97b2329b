import assert from 'node:assert/strict';
import { matMul, symmetricEigen, symmetricSqrt } from '../../ts/util/linalg';
import { Rng } from '../../ts/util/random';
import { randomPsd } from './helpers';

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('linalg', () => {
  it('symmetricEigen reconstructs the matrix with orthonormal eigenvectors and ascending values', () => {
    const n = 40;
    const rng = new Rng(1);
    const m = rng.fillGaussian(new Float64Array(n * n));
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) m[i * n + j] = m[j * n + i];
    const { values, vectors } = symmetricEigen(m, n);
    for (let k = 1; k < n; k++) assert.ok(values[k] >= values[k - 1]);
    const rebuilt = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rebuilt[i * n + j] += values[k] * vectors[k * n + i] * vectors[k * n + j];
    }
    assert.ok(maxAbsDiff(rebuilt, m) < 1e-10, `reconstruction error ${maxAbsDiff(rebuilt, m)}`);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += vectors[a * n + i] * vectors[b * n + i];
        assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-10);
      }
    }
  });

  it('symmetricEigen handles a diagonal matrix, repeated eigenvalues and n = 1', () => {
    const { values } = symmetricEigen(Float64Array.from([3, 0, 0, 0, 1, 0, 0, 0, 3]), 3);
    assert.deepEqual(Array.from(values), [1, 3, 3]);
    assert.deepEqual(Array.from(symmetricEigen(Float64Array.from([5]), 1).values), [5]);
  });

  it('symmetricSqrt squares back to the matrix, also when it is singular', () => {
    const n = 30;
    for (const rank of [n, 7]) {
      const s = randomPsd(n, rank, new Rng(rank));
      const root = symmetricSqrt(s, n);
      const squared = matMul(root, root, n, n, n);
      assert.ok(maxAbsDiff(squared, s) < 1e-9 * (1 + Math.max(...s)), `rank ${rank}: error ${maxAbsDiff(squared, s)}`);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.ok(Math.abs(root[i * n + j] - root[j * n + i]) < 1e-12);
    }
  });
});
